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
        pub static $name: LazyLock<Script> =
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
