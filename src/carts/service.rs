//! Cart operations that reach into products: pricing the cart, checking that an added
//! product exists.

use super::model::{Cart, CartItem};
use super::repo::{self, Change, Refused};
use crate::error::{AppError, AppResult};
use crate::products;
use crate::redis::Redis;
use crate::time;

/// The cart with every line priced: the cart hash, then all its products in one batch.
pub async fn view(redis: &Redis, user_id: &str) -> AppResult<Cart> {
    let (lines, pttl) = repo::read(redis, user_id).await?;
    let ids: Vec<String> = lines.iter().map(|(id, _)| id.clone()).collect();
    let products = products::repo::get_many(redis, &ids).await?;
    let items: Vec<CartItem> = lines
        .into_iter()
        .zip(products)
        .map(|((product_id, quantity), product)| match product {
            Some(p) => CartItem {
                product_id,
                quantity,
                line_total_cents: p.price_cents.saturating_mul(quantity),
                name: Some(p.name),
                price_cents: Some(p.price_cents),
                available: true,
                stock: Some(p.stock),
            },
            None => CartItem {
                product_id,
                quantity,
                name: None,
                price_cents: None,
                line_total_cents: 0,
                available: false,
                stock: None,
            },
        })
        .collect();
    let total_cents = items.iter().map(|i| i.line_total_cents).sum();
    let expires_at = (pttl > 0 && !items.is_empty())
        .then(|| time::rfc3339_from_ms(time::unix_ms(time::now()) + pttl));
    Ok(Cart {
        items,
        total_cents,
        expires_at,
    })
}

/// Changes one line (404 for a product that does not exist, unless the line is being
/// removed; 422 past the cart's limits) and returns the priced cart.
pub async fn change(
    redis: &Redis,
    user_id: &str,
    product_id: &str,
    change: Change,
) -> AppResult<Cart> {
    let removes = matches!(change, Change::Set(n) if n <= 0);
    if !removes && !products::repo::exists(redis, product_id).await? {
        return Err(AppError::NotFound("product"));
    }
    match repo::update(redis, user_id, product_id, change).await? {
        Ok(_) => view(redis, user_id).await,
        Err(Refused::TooManyLines) => Err(AppError::invalid(
            "product_id",
            format!(
                "a cart holds at most {} different products",
                super::model::MAX_LINES
            ),
        )),
        Err(Refused::TooManyUnits) => Err(AppError::invalid(
            "quantity",
            format!(
                "a cart holds at most {} units of one product",
                crate::products::model::MAX_QUANTITY
            ),
        )),
    }
}
