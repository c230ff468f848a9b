//! Carts in Redis: the only code that names cart keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `user:{id}:cart` | hash, PEXPIRE 7 days from the last write | product id → quantity |
//!
//! Every write is `cart_update.lua` (change, limits and TTL in one step) or `DEL`.

use redis::AsyncCommands;

use super::model::{CART_TTL_MS, MAX_LINES};
use crate::products::model::MAX_QUANTITY;
use crate::redis::keys::UserPart;
use crate::redis::{Redis, scripts};

/// How a line changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add to the quantity (HINCRBY).
    Add(i64),
    /// Set the quantity; 0 or less removes the line.
    Set(i64),
}

/// Why a cart write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    TooManyLines,
    TooManyUnits,
}

/// Applies `change` to one line and refreshes the TTL; returns the new quantity (0 when
/// the line is gone).
pub async fn update(
    redis: &Redis,
    user_id: &str,
    product_id: &str,
    change: Change,
) -> redis::RedisResult<Result<i64, Refused>> {
    let (mode, quantity) = match change {
        Change::Add(n) => ("add", n),
        Change::Set(n) => ("set", n),
    };
    let reply: i64 = scripts::CART_UPDATE
        .key(redis.keys.user_part(user_id, UserPart::Cart))
        .arg(mode)
        .arg(product_id)
        .arg(quantity)
        .arg(MAX_LINES)
        .arg(MAX_QUANTITY)
        .arg(CART_TTL_MS)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(match reply {
        -1 => Err(Refused::TooManyLines),
        -2 => Err(Refused::TooManyUnits),
        n => Ok(n),
    })
}

/// The cart's lines (product id, quantity) in product-id order, and its remaining TTL
/// in ms (negative when there is no cart). One pipeline in the user's slot.
pub async fn read(redis: &Redis, user_id: &str) -> redis::RedisResult<(Vec<(String, i64)>, i64)> {
    let key = redis.keys.user_part(user_id, UserPart::Cart);
    let (mut lines, pttl): (Vec<(String, i64)>, i64) = redis::pipe()
        .hgetall(&key)
        .pttl(&key)
        .query_async(&mut redis.conn())
        .await?;
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((lines, pttl))
}

/// Empties the cart.
pub async fn clear(redis: &Redis, user_id: &str) -> redis::RedisResult<()> {
    let _: u64 = redis
        .conn()
        .del(redis.keys.user_part(user_id, UserPart::Cart))
        .await?;
    Ok(())
}
