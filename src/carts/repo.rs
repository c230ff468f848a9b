//! Carts in Redis: the only code that names cart keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `user:{id}:cart` | hash, PEXPIRE 7 days from the last write | product id → quantity |
//!
//! Every write is `cart_update.lua` (change, limits and TTL in one step) or `DEL`.

use redis::AsyncCommands;

use super::model::{CART_TTL_MS, MAX_LINES};
use crate::error::AppResult;
use crate::products::model::MAX_QUANTITY;
use crate::redis::keys::UserPart;
use crate::redis::scripts::Tagged;
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
) -> AppResult<Result<i64, Refused>> {
    let (mode, quantity) = match change {
        Change::Add(n) => ("add", n),
        Change::Set(n) => ("set", n),
    };
    let reply: redis::Value = scripts::CART_UPDATE
        .key(redis.keys.user_part(user_id, UserPart::Cart))
        .arg(mode)
        .arg(product_id)
        .arg(quantity)
        .arg(MAX_LINES)
        .arg(MAX_QUANTITY)
        .arg(CART_TTL_MS)
        .invoke_async(&mut redis.conn())
        .await?;
    let reply: CartUpdate = scripts::decode("cart_update", reply)?;
    Ok(reply.0)
}

/// `{'done', quantity}`, `{'too_many_lines'}` or `{'too_many_units'}`.
struct CartUpdate(Result<i64, Refused>);

impl redis::FromRedisValue for CartUpdate {
    fn from_redis_value(v: redis::Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("done", 1) => Ok(CartUpdate(Ok(reply.value(0)?))),
            ("too_many_lines", 0) => Ok(CartUpdate(Err(Refused::TooManyLines))),
            ("too_many_units", 0) => Ok(CartUpdate(Err(Refused::TooManyUnits))),
            _ => Err(reply.unexpected()),
        }
    }
}

/// The commands that store a whole cart, `lines` (product id, quantity), with the
/// carts' TTL, in the format `cart_update.lua` keeps: how the synthetic seed writes
/// carts. Returns the cart's key and the commands (HSET, PEXPIRE).
pub fn fill(
    keys: &crate::redis::Keys,
    user_id: &str,
    lines: impl IntoIterator<Item = (String, i64)>,
) -> (String, [redis::Cmd; 2]) {
    let key = keys.user_part(user_id, UserPart::Cart);
    let mut hset = redis::cmd("HSET");
    hset.arg(&key);
    for (product_id, quantity) in lines {
        hset.arg(product_id).arg(quantity);
    }
    let mut pexpire = redis::cmd("PEXPIRE");
    pexpire.arg(&key).arg(CART_TTL_MS);
    (key, [hset, pexpire])
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
