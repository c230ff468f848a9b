//! The Lua script registry.
//!
//! Whatever must be atomic and touches more than one key (or reads then writes) is a
//! script in `lua/`, each opening with its KEYS/ARGV/Returns contract. They are embedded
//! at compile time and loaded once per process; redis-rs's [`Script`] sends EVALSHA and,
//! when a server answers NOSCRIPT (restart, failover, a new cluster node), loads the
//! script and retries, so callers never manage SHA1s. Every script's keys share one hash
//! tag, so each runs in one slot on a cluster.

use std::sync::LazyLock;

use redis::Script;

macro_rules! script {
    ($name:ident, $file:literal) => {
        #[doc = concat!("`lua/", $file, "`")]
        pub(crate) static $name: LazyLock<Script> =
            LazyLock::new(|| Script::new(include_str!(concat!("../../lua/", $file))));
    };
}

script!(CLAIM_IDENTITY, "claim_identity.lua");
script!(RELEASE_IDENTITY, "release_identity.lua");
script!(SESSION_TOUCH, "session_touch.lua");
script!(OPEN_SESSION, "open_session.lua");
script!(REVOKE_SESSIONS, "revoke_sessions.lua");
script!(GIVE_BACK_ATTEMPT, "give_back_attempt.lua");
script!(SET_PASSWORD, "set_password.lua");
script!(HSET_IF_EXISTS, "hset_if_exists.lua");
script!(RAISE_COUNTER, "raise_counter.lua");
script!(LEADERBOARD_SCORE, "leaderboard_score.lua");
script!(LEADERBOARD_RESULT, "leaderboard_result.lua");
script!(LEADERBOARD_AROUND, "leaderboard_around.lua");
script!(RATE_LIMIT, "rate_limit.lua");
script!(GCRA, "gcra.lua");
script!(REFUND_QUOTA, "refund_quota.lua");
script!(ASSIGN_VARIANT, "assign_variant.lua");
script!(EMAIL_REQUEUE, "email_requeue.lua");
script!(EMAIL_FINISH, "email_finish.lua");
script!(ZADD_IF_EXISTS, "zadd_if_exists.lua");
script!(SADD_IF_EXISTS, "sadd_if_exists.lua");
script!(SET_LIKE, "set_like.lua");
script!(ADD_COMMENT, "add_comment.lua");
script!(DELETE_COMMENT, "delete_comment.lua");
script!(POST_CLOCK, "post_clock.lua");
script!(FAN_OUT, "fan_out.lua");
script!(PURCHASE_STOCK, "purchase_stock.lua");
script!(DISCOUNT_PRICE, "discount_price.lua");
script!(RESTOCK, "restock.lua");
script!(PATCH_HASH, "patch_hash.lua");
script!(RESERVE_STOCK, "reserve_stock.lua");
script!(RELEASE_STOCK, "release_stock.lua");
script!(CART_UPDATE, "cart_update.lua");
script!(CLAIM_IDEMPOTENCY, "claim_idempotency.lua");
script!(FORGET_IDEMPOTENCY, "forget_idempotency.lua");
script!(BEGIN_CHECKOUT, "begin_checkout.lua");
script!(COMMIT_ORDER, "commit_order.lua");
script!(ABORT_CHECKOUT, "abort_checkout.lua");
script!(FINISH_CHECKOUT, "finish_checkout.lua");
script!(ORDER_TRANSITION, "order_transition.lua");
script!(WRITE_INVOICE, "write_invoice.lua");
script!(ACQUIRE_LOCK, "acquire_lock.lua");
script!(EXTEND_LOCK, "extend_lock.lua");
script!(RELEASE_LOCK, "release_lock.lua");
script!(FORGET_IDLE_CONSUMERS, "forget_idle_consumers.lua");

/// The reply convention of every script that can end in more than one way: an array
/// whose first element is a tag naming the outcome (`'done'`, `'refused'`,
/// `'missing'`, …) and whose other elements are that outcome's values. A script with a
/// single outcome answers its value alone (a count, a yes/no as 1/0, a flat hash).
///
/// Each script's reply is decoded once, into its own enum whose `FromRedisValue` reads
/// a [`Tagged`] and refuses any tag or shape it does not know; [`decode`] then turns
/// such a refusal into a 500 naming the script (logged with the request), never into a
/// 4xx that would blame the client for a reply the code did not expect.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tagged {
    pub(crate) tag: String,
    pub(crate) values: Vec<redis::Value>,
}

impl Tagged {
    /// The `i`-th value after the tag, as `T`.
    pub(crate) fn value<T: redis::FromRedisValue>(
        &self,
        i: usize,
    ) -> Result<T, redis::ParsingError> {
        let value = self
            .values
            .get(i)
            .ok_or_else(|| format!("tag {:?} has no value {i}", self.tag))?;
        redis::from_redis_value(value.clone())
    }

    /// The refusal of a tag (or a tag with values) the decoder does not know.
    pub(crate) fn unexpected(&self) -> redis::ParsingError {
        format!(
            "unexpected tag {:?} with {} values",
            self.tag,
            self.values.len()
        )
        .into()
    }
}

impl redis::FromRedisValue for Tagged {
    fn from_redis_value(v: redis::Value) -> Result<Self, redis::ParsingError> {
        let mut items: Vec<redis::Value> = redis::from_redis_value(v)?;
        if items.is_empty() {
            return Err("empty reply where a tagged one was expected".into());
        }
        let tag: String = redis::from_redis_value(items.remove(0))?;
        Ok(Tagged { tag, values: items })
    }
}

/// Decodes `script`'s reply as `T`: a reply outside `T` is a 500 naming the script and
/// showing the reply (logged once, where the error becomes the response).
pub(crate) fn decode<T: redis::FromRedisValue>(
    script: &'static str,
    reply: redis::Value,
) -> crate::error::AppResult<T> {
    redis::from_redis_value(reply.clone()).map_err(|err| {
        crate::error::AppError::Internal(anyhow::anyhow!(
            "unexpected {script} reply {reply:?}: {err}"
        ))
    })
}

/// The reply of the scripts that write only when their entity exists
/// (`zadd_if_exists`, `set_like`, `add_comment`): `{'done', values…}` decoded as `T`
/// (a tuple), or `{'missing'}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IfExists<T> {
    Done(T),
    Missing,
}

impl<T: redis::FromRedisValue> redis::FromRedisValue for IfExists<T> {
    fn from_redis_value(v: redis::Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match reply.tag.as_str() {
            "done" => Ok(IfExists::Done(redis::from_redis_value(
                redis::Value::Array(reply.values),
            )?)),
            "missing" if reply.values.is_empty() => Ok(IfExists::Missing),
            _ => Err(reply.unexpected()),
        }
    }
}

impl<T> IfExists<T> {
    /// `None` for a missing entity.
    pub(crate) fn done(self) -> Option<T> {
        match self {
            IfExists::Done(value) => Some(value),
            IfExists::Missing => None,
        }
    }
}

/// The reply of `claim_identity.lua` (shared by the user identities and the product
/// SKUs): `{'claimed'}`, or `{'taken', n, owner}` for the first identifier (1-based)
/// that another id holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IdentityClaim {
    Claimed,
    Taken { index: usize, owner: String },
}

impl redis::FromRedisValue for IdentityClaim {
    fn from_redis_value(v: redis::Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("claimed", 0) => Ok(IdentityClaim::Claimed),
            ("taken", 2) => Ok(IdentityClaim::Taken {
                index: reply.value(0)?,
                owner: reply.value(1)?,
            }),
            _ => Err(reply.unexpected()),
        }
    }
}

/// The reply of `set_password.lua`: `{'replaced'}`, or `{'refused'}` when the stored
/// hash is no longer the verified one (or the user is gone or being deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasswordSwap {
    Replaced,
    Refused,
}

impl redis::FromRedisValue for PasswordSwap {
    fn from_redis_value(v: redis::Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("replaced", 0) => Ok(PasswordSwap::Replaced),
            ("refused", 0) => Ok(PasswordSwap::Refused),
            _ => Err(reply.unexpected()),
        }
    }
}

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::*;
    use crate::error::AppError;

    fn reply(items: Vec<Value>) -> Value {
        Value::Array(items)
    }

    fn tag(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn a_tagged_reply_is_read_and_an_unknown_one_is_a_500_naming_the_script() {
        let done: IfExists<(u64, u64)> = decode(
            "set_like",
            reply(vec![tag("done"), Value::Int(1), Value::Int(7)]),
        )
        .unwrap();
        assert_eq!(done, IfExists::Done((1, 7)));
        let missing: IfExists<(u64, u64)> =
            decode("set_like", reply(vec![tag("missing")])).unwrap();
        assert_eq!(missing, IfExists::Missing);
        // The old numeric convention, an unknown tag, an empty reply, a missing value:
        // all are replies the code does not expect, so a 500 that names the script.
        for odd in [
            reply(vec![Value::Int(-1), Value::Int(0)]),
            reply(vec![tag("gone")]),
            reply(vec![]),
            reply(vec![tag("done"), Value::Int(1)]),
            Value::Int(3),
        ] {
            match decode::<IfExists<(u64, u64)>>("set_like", odd.clone()) {
                Err(AppError::Internal(err)) => {
                    assert!(err.to_string().contains("set_like"), "{err}")
                }
                other => panic!("{odd:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn claim_and_password_replies_decode_and_the_old_shapes_are_a_500() {
        let claimed: IdentityClaim = decode("claim_identity", reply(vec![tag("claimed")])).unwrap();
        assert_eq!(claimed, IdentityClaim::Claimed);
        let taken: IdentityClaim = decode(
            "claim_identity",
            reply(vec![tag("taken"), Value::Int(2), tag("41")]),
        )
        .unwrap();
        assert_eq!(
            taken,
            IdentityClaim::Taken {
                index: 2,
                owner: "41".to_string()
            }
        );
        // The old `{}` / `{n, owner}` replies.
        for odd in [reply(vec![]), reply(vec![Value::Int(1), tag("41")])] {
            assert!(matches!(
                decode::<IdentityClaim>("claim_identity", odd),
                Err(AppError::Internal(err)) if err.to_string().contains("claim_identity")
            ));
        }
        let swapped: PasswordSwap = decode("set_password", reply(vec![tag("replaced")])).unwrap();
        assert_eq!(swapped, PasswordSwap::Replaced);
        let refused: PasswordSwap = decode("set_password", reply(vec![tag("refused")])).unwrap();
        assert_eq!(refused, PasswordSwap::Refused);
        for odd in [Value::Int(0), Value::Int(1), reply(vec![tag("done")])] {
            assert!(matches!(
                decode::<PasswordSwap>("set_password", odd),
                Err(AppError::Internal(err)) if err.to_string().contains("set_password")
            ));
        }
    }
}
