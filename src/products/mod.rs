//! Products and inventory: one hash per product (`product:{id}`), as in seed 002.
//!
//! A hash keeps a product's fields under one key: HGETALL shows it in one command and
//! HINCRBY changes the stock in place. What seed 002 does racily is atomic here: a
//! purchase is one Lua script that checks and takes the stock (reading then
//! decrementing oversells under concurrency), a discount is one script that refuses a
//! negative price, and money is integer cents, never floats. The SKU is unique through
//! an index hash claimed by one script (the users' identity pattern); sorted sets
//! scored by the numeric id index the catalog and each category for cursor pages.

mod handlers;
pub mod model;
pub mod repo;
pub mod seed;

pub use model::Product;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create_product, handlers::list_products))
        .routes(routes!(handlers::get_product, handlers::update_product))
        .routes(routes!(handlers::purchase))
        .routes(routes!(handlers::discount))
        .routes(routes!(handlers::restock))
}
