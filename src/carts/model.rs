//! Cart types.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How long a cart lives after its last change.
pub const CART_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// Most distinct products in one cart (also bounds a checkout from the cart).
pub const MAX_LINES: i64 = 50;

/// A cart, priced now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Cart {
    /// Lines in product-id order.
    pub items: Vec<CartItem>,
    /// Sum of the available lines, in cents.
    pub total_cents: i64,
    /// RFC 3339 UTC: when the cart expires unless changed again; `null` when empty.
    pub expires_at: Option<String>,
}

/// One line of a cart.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CartItem {
    pub product_id: String,
    pub quantity: i64,
    /// `null` when the product no longer exists.
    pub name: Option<String>,
    /// The current price; `null` when the product no longer exists.
    pub price_cents: Option<i64>,
    /// `quantity × price_cents`; 0 for an unavailable product.
    pub line_total_cents: i64,
    /// False when the product no longer exists (the line is not counted in the total).
    pub available: bool,
    /// Units in stock now (informative: stock is only taken at checkout).
    pub stock: Option<i64>,
}

/// Body of `POST /v1/users/{id}/cart/items`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItem {
    #[schema(example = "1001", pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub product_id: String,
    /// Units to add (HINCRBY), 1 to 10,000; the line may hold at most 10,000 units.
    #[schema(example = 1, minimum = 1, maximum = 10_000)]
    pub quantity: i64,
}

/// Body of `PUT /v1/users/{id}/cart/items/{product_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuantity {
    /// The new quantity, at most 10,000; 0 or less removes the line.
    #[schema(example = 2, maximum = 10_000)]
    pub quantity: i64,
}
