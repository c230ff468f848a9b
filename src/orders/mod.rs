//! Orders: one hash per order with its line items embedded (seed 000's embedding
//! pattern), a sorted set of each user's orders (seed 000's one-to-many), and a stream
//! of order events consumed by the billing consumer group (seed 001).
//!
//! Embedding: an order's items are a JSON snapshot (name, unit price, quantity) inside
//! `order:{id}`, because they are always read with the order, must not change when the
//! product does, and one HGETALL then shows the whole order. The user's orders are a
//! sorted set scored by the (increasing) order id, so "newest first" is one ZRANGE.
//! Checkout ([`checkout`]) is idempotent under an `Idempotency-Key` and crash-safe
//! across slots; every later change is one script on the order ([`service`]); every
//! creation and change is appended to `events:orders` ([`events_repo`]) and published live.

pub(crate) mod checkout;
pub mod events_repo;
mod handlers;
pub mod model;
pub mod repo;
pub mod service;
mod settle;

pub use model::{Order, OrderStatus};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create_order))
        .routes(routes!(handlers::get_order, handlers::update_order))
        .routes(routes!(handlers::cancel_order))
        .routes(routes!(handlers::get_invoice))
        .routes(routes!(handlers::list_user_orders))
}
