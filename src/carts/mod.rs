//! Carts: one hash per user (`user:{id}:cart`: product id → quantity), as in seed 002.
//!
//! A hash is the natural cart: HINCRBY adds to a line in place, HSET/HDEL set and
//! remove one, DEL clears it, and HGETALL reads it whole. It lives in the user's slot
//! and expires 7 days after the last change; the TTL is refreshed in the same script as
//! every write (seed 002's HINCRBY-then-EXPIRE can leave a cart that never expires).
//! Viewing a cart reads the hash, then every product in one batch, and prices the lines
//! in integer cents; a product that no longer exists shows as unavailable.

mod handlers;
pub mod model;
pub mod repo;
pub mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::get_cart, handlers::clear_cart))
        .routes(routes!(handlers::add_item))
        .routes(routes!(handlers::set_item, handlers::remove_item))
}
