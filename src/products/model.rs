//! Product types: what the API accepts and returns, and how a product hash maps to them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, AppResult};
use crate::pagination::{Page, Paged};
use crate::validate::{self, Validator};

/// Highest price a product may have: 100 million in cents (keeps totals far from i64
/// overflow however many units an order holds).
pub const MAX_PRICE_CENTS: i64 = 10_000_000_000;
/// Most units one product may have in stock.
pub const MAX_STOCK: i64 = 1_000_000_000;
/// Most units one purchase or order line may take.
pub const MAX_QUANTITY: i64 = 10_000;

/// A product as the API returns it: numbers are JSON numbers, money is integer cents.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Product {
    #[schema(example = "1001")]
    pub id: String,
    #[schema(example = "MacBook Pro")]
    pub name: String,
    /// Price in cents (integer minor units, never a float).
    #[schema(example = 199999)]
    pub price_cents: i64,
    /// Units in stock; purchases and checkouts take from it atomically.
    #[schema(example = 5)]
    pub stock: i64,
    /// Lower-case category slug; indexed in `category:{name}:products`.
    #[schema(example = "electronics")]
    pub category: String,
    /// Stock-keeping unit, unique across products (case-insensitively).
    #[schema(example = "MB-2024-001")]
    pub sku: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Average rating, 0 to 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 4.8)]
    pub rating: Option<f64>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC; absent until the first change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl Product {
    /// Builds a product from its hash (HGETALL pairs); `None` when the hash is missing
    /// or is not a product.
    pub fn from_hash(hash: &HashMap<String, String>) -> Option<Product> {
        let text = |f: &str| hash.get(f).filter(|v| !v.is_empty()).cloned();
        let int = |f: &str| hash.get(f).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        Some(Product {
            id: hash.get("id")?.clone(),
            name: hash.get("name")?.clone(),
            price_cents: int("price_cents"),
            stock: int("stock"),
            category: text("category").unwrap_or_default(),
            sku: text("sku").unwrap_or_default(),
            description: text("description"),
            rating: hash.get("rating").and_then(|v| v.parse().ok()),
            created_at: text("created_at").unwrap_or_default(),
            updated_at: text("updated_at"),
        })
    }
}

/// The index form of a category: lower-cased.
pub fn normalize_category(value: &str) -> String {
    value.trim().to_ascii_lowercase()
}

/// The index form of a SKU: upper-cased, so `mb-1` and `MB-1` collide.
pub fn normalize_sku(value: &str) -> String {
    value.trim().to_ascii_uppercase()
}

fn check_price(value: i64) -> Result<(), String> {
    (0..=MAX_PRICE_CENTS)
        .contains(&value)
        .then_some(())
        .ok_or_else(|| format!("must be 0 to {MAX_PRICE_CENTS} cents"))
}

fn check_rating(value: f64) -> Result<(), String> {
    (0.0..=5.0)
        .contains(&value)
        .then_some(())
        .ok_or_else(|| "must be 0 to 5".to_string())
}

/// A positive whole number of units (or cents) up to `max`; 422 naming `field`.
pub fn check_units(field: &str, value: i64, max: i64) -> AppResult<()> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(AppError::invalid(field, format!("must be 1 to {max}")))
    }
}

/// The 409 of a purchase or checkout that asks for more than is in stock.
pub fn insufficient_stock(product_id: &str, stock: i64, wanted: i64) -> AppError {
    AppError::Conflict {
        kind: "insufficient-stock",
        detail: format!(
            "Product {product_id} has {stock} in stock; {wanted} were asked for. Nothing was taken."
        ),
    }
}

/// Body of `POST /v1/products`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    #[schema(example = "MacBook Pro")]
    pub name: String,
    /// Integer cents, 0 to 10,000,000,000.
    #[schema(example = 199999)]
    pub price_cents: i64,
    /// Initial stock, 0 to 1,000,000,000.
    #[schema(example = 5)]
    pub stock: i64,
    /// Letters, digits, `_` or `-` (stored lower-cased).
    #[schema(example = "electronics")]
    pub category: String,
    /// Unique: letters, digits, `_` or `-`.
    #[schema(example = "MB-2024-001")]
    pub sku: String,
    pub description: Option<String>,
    /// 0 to 5.
    pub rating: Option<f64>,
}

impl CreateProduct {
    pub fn validate(&self) -> AppResult<()> {
        let mut v = Validator::new();
        v.check("name", validate::required_text(&self.name, 200))
            .check("price_cents", check_price(self.price_cents))
            .check(
                "stock",
                (0..=MAX_STOCK)
                    .contains(&self.stock)
                    .then_some(())
                    .ok_or_else(|| format!("must be 0 to {MAX_STOCK}")),
            )
            .check("category", validate::id(&self.category))
            .check("sku", validate::id(&self.sku));
        if let Some(description) = &self.description {
            v.check("description", validate::text(description, 2000));
        }
        if let Some(rating) = self.rating {
            v.check("rating", check_rating(rating));
        }
        v.finish()
    }
}

/// Body of `PATCH /v1/products/{id}`: only the given fields change. Stock changes only
/// through purchase, checkout and restock, so that it is never overwritten by a stale
/// read. An empty `description` removes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProduct {
    pub name: Option<String>,
    pub price_cents: Option<i64>,
    /// Moves the product to another category index.
    pub category: Option<String>,
    /// A new unique SKU; claimed atomically (409 if taken), the old one released.
    pub sku: Option<String>,
    pub description: Option<String>,
    pub rating: Option<f64>,
}

impl UpdateProduct {
    pub fn validate(&self) -> AppResult<()> {
        let mut v = Validator::new();
        if let Some(name) = &self.name {
            v.check("name", validate::required_text(name, 200));
        }
        if let Some(price) = self.price_cents {
            v.check("price_cents", check_price(price));
        }
        if let Some(category) = &self.category {
            v.check("category", validate::id(category));
        }
        if let Some(sku) = &self.sku {
            v.check("sku", validate::id(sku));
        }
        if let Some(description) = &self.description {
            v.check("description", validate::text(description, 2000));
        }
        if let Some(rating) = self.rating {
            v.check("rating", check_rating(rating));
        }
        if self.name.is_none()
            && self.price_cents.is_none()
            && self.category.is_none()
            && self.sku.is_none()
            && self.description.is_none()
            && self.rating.is_none()
        {
            v.check(
                "body",
                Err(
                    "send at least one of name, price_cents, category, sku, description, rating"
                        .into(),
                ),
            );
        }
        v.finish()
    }
}

/// Body of `POST /v1/products/{id}/purchase`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Purchase {
    /// Units to buy, 1 to 10,000.
    #[schema(example = 1)]
    pub quantity: i64,
}

/// Answer of a purchase.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PurchaseResult {
    /// Stock left after this purchase.
    pub remaining_stock: i64,
}

/// Body of `POST /v1/products/{id}/discount`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Discount {
    /// Cents to take off the price (positive).
    #[schema(example = 9999)]
    pub amount_cents: i64,
}

/// Answer of a discount.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PriceResult {
    /// The new price.
    pub price_cents: i64,
}

/// Body of `POST /v1/products/{id}/restock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restock {
    /// Units to add, 1 to 1,000,000,000.
    #[schema(example = 10)]
    pub quantity: i64,
}

/// Answer of a restock.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockResult {
    /// Stock after the restock.
    pub stock: i64,
}

/// `?category=` of `GET /v1/products`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    /// Only this category's products.
    pub category: Option<String>,
}

/// A page of products, in catalog (id) order.
pub type ProductPage = Page<Product>;

impl Paged for Product {
    const PAGE_NAME: &'static str = "ProductPage";
    const PAGE_DESCRIPTION: &'static str = "A page of products, in catalog (id) order.";
}
