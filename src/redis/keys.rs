//! Every Redis key name Agora uses, built in one place.
//!
//! Why: a reader should see the whole key schema on one page, and no handler may glue
//! user input into a key. Names keep the shapes of the seed articles (`user:{42}`,
//! `session:{…}`, `queue:emails`) so someone who knows the pattern finds the data in
//! redis-cli. The part in braces is the Redis Cluster **hash tag**: keys of one
//! aggregate share it and so live in one slot, which is what lets a Lua script or a
//! MULTI touch them together on a cluster. The optional `KEY_PREFIX` goes in front of
//! every name, so several deployments can share one Redis.
//!
//! Every id that reaches this module has been validated (see `crate::validate`): it
//! cannot contain `{`, `}`, `:` or whitespace, so it cannot forge another key or tag.

/// Builds key names; cloned into every repository.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    /// Shared, so cloning the handle per request allocates nothing.
    prefix: std::sync::Arc<str>,
}

impl Keys {
    /// `prefix` must already be validated by [`Keys::validate_prefix`].
    pub fn new(prefix: impl Into<String>) -> Keys {
        Keys {
            prefix: prefix.into().into(),
        }
    }

    /// A prefix may not contain braces (it would change every key's hash tag) or spaces.
    pub fn validate_prefix(prefix: &str) -> Result<(), String> {
        if prefix.len() > 64 {
            return Err("KEY_PREFIX is longer than 64 characters".into());
        }
        if let Some(c) = prefix
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.')))
        {
            return Err(format!(
                "KEY_PREFIX may hold only letters, digits and : _ - . (found {c:?})"
            ));
        }
        Ok(())
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, name: std::fmt::Arguments<'_>) -> String {
        format!("{}{}", self.prefix, name)
    }

    // ---- users -------------------------------------------------------------------

    /// Hash: the user entity (seed 000/002 `user:1`).
    pub fn user(&self, id: &str) -> String {
        self.key(format_args!("user:{{{id}}}"))
    }

    /// A key of the user's aggregate (`user:{42}:sessions`, `:followers`, ...), same slot
    /// as [`Keys::user`].
    pub fn user_part(&self, id: &str, part: UserPart) -> String {
        self.key(format_args!("user:{{{id}}}:{}", part.as_str()))
    }

    /// String counter: the last user id handed out (INCR).
    pub fn user_ids(&self) -> String {
        self.key(format_args!("users:next_id"))
    }

    /// Hash: lower-cased username → user id. Shares the `{identity}` tag with
    /// [`Keys::email_index`] so one script claims both atomically.
    pub fn username_index(&self) -> String {
        self.key(format_args!("users:{{identity}}:by_username"))
    }

    /// Hash: lower-cased e-mail → user id (same slot as the username index).
    pub fn email_index(&self) -> String {
        self.key(format_args!("users:{{identity}}:by_email"))
    }

    // ---- sessions ----------------------------------------------------------------

    /// Hash with idle TTL: one session, named by the SHA-256 of its token (never the
    /// token itself, so a leaked key list or `MONITOR` output grants nothing).
    pub fn session(&self, token_hash: &str) -> String {
        self.key(format_args!("session:{{{token_hash}}}"))
    }

    // ---- commerce ----------------------------------------------------------------

    /// Hash: one product (seed 002 `product:1001`): name, price_cents, stock, category,
    /// sku, description, rating, created_at, updated_at.
    pub fn product(&self, id: &str) -> String {
        self.key(format_args!("product:{{{id}}}"))
    }

    /// Hash in the product's slot: order id → quantity of stock held for that order.
    /// Written by the same script that takes the stock, so a retried reservation is
    /// not taken twice and a release is not given back twice.
    pub fn product_reservations(&self, id: &str) -> String {
        self.key(format_args!("product:{{{id}}}:reservations"))
    }

    /// String counter: the last product id handed out (INCR).
    pub fn product_ids(&self) -> String {
        self.key(format_args!("products:next_id"))
    }

    /// Hash: SKU → product id, the unique claim (like the users' identity indexes).
    pub fn sku_index(&self) -> String {
        self.key(format_args!("products:by_sku"))
    }

    /// Sorted set: every product id, scored by the numeric id (catalog order).
    pub fn products_index(&self) -> String {
        self.key(format_args!("products:all"))
    }

    /// Sorted set: the ids of one category's products, scored by the numeric id.
    pub fn category_products(&self, category: &str) -> String {
        self.key(format_args!("category:{{{category}}}:products"))
    }

    /// Hash: one order (seed 000 `order:…` with embedded line items).
    pub fn order(&self, id: &str) -> String {
        self.key(format_args!("order:{{{id}}}"))
    }

    /// Hash in the order's slot: the invoice the billing consumer group wrote.
    pub fn invoice(&self, order_id: &str) -> String {
        self.key(format_args!("order:{{{order_id}}}:invoice"))
    }

    /// String counter: the last order id handed out (INCR).
    pub fn order_ids(&self) -> String {
        self.key(format_args!("orders:next_id"))
    }

    /// Sorted set: orders with an operation under way (checkout, status change), scored
    /// by the Unix ms after which the sweeper finishes or rolls it back.
    pub fn orders_inflight(&self) -> String {
        self.key(format_args!("orders:inflight"))
    }

    /// Hash with a 24 h TTL: one `Idempotency-Key` of one user (request fingerprint,
    /// order id, state). In the user's slot, so finishing a checkout can mark it done,
    /// index the order and empty the cart in one script.
    pub fn idempotency(&self, user_id: &str, key: &str) -> String {
        self.key(format_args!("idem:{{{user_id}}}:{key}"))
    }

    /// Stream: every order creation and status change (seed 001 `events:orders`).
    pub fn order_events(&self) -> String {
        self.key(format_args!("events:orders"))
    }

    /// Stream: order events that failed too many deliveries, parked for a human.
    pub fn order_events_dead(&self) -> String {
        self.key(format_args!("events:orders:dead"))
    }

    /// Pub/sub channel: live notifications for one user. PUBLISH/SUBSCRIBE on one node;
    /// on a cluster a shard channel (SPUBLISH/SSUBSCRIBE) whose hash tag puts it on the
    /// user's shard.
    pub fn user_notifications(&self, user_id: &str) -> String {
        self.key(format_args!("notifications:user:{{{user_id}}}"))
    }

    /// String with PX: the lock on a resource; its value is the holder's random token.
    pub fn lock(&self, resource: &str) -> String {
        self.key(format_args!("lock:{{{resource}}}"))
    }

    /// String counter in the lock's slot: the last fencing token handed out. Durable on
    /// purpose: if it expired, fencing tokens would start again and stop increasing.
    pub fn lock_fence(&self, resource: &str) -> String {
        self.key(format_args!("lock:{{{resource}}}:fence"))
    }

    // ---- jobs --------------------------------------------------------------------

    /// List: e-mail jobs (seed 001 `queue:emails`); producers LPUSH, the worker moves
    /// from the right, so the list is FIFO.
    pub fn email_queue(&self) -> String {
        self.key(format_args!("queue:emails"))
    }
}

/// The keys that hang off one user, all in the user's slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserPart {
    /// Sorted set: token hash → absolute expiry (ms), to list and revoke sessions.
    Sessions,
    /// Sorted set: follower id → followed-at (ms) (seed 000).
    Followers,
    /// Sorted set: followed id → followed-at (ms) (seed 000).
    Following,
    /// Set: the user's tags (seed 000 many-to-many).
    Tags,
    /// Hash: product id → quantity (seed 002 cart).
    Cart,
    /// Sorted set: the user's posts by time.
    Posts,
    /// Sorted set: the user's home timeline.
    Timeline,
    /// Sorted set: the user's activity feed.
    Activity,
    /// Sorted set: the user's orders by time.
    Orders,
}

impl UserPart {
    /// Every part, so deleting a user removes all of them.
    pub const ALL: [UserPart; 9] = [
        UserPart::Sessions,
        UserPart::Followers,
        UserPart::Following,
        UserPart::Tags,
        UserPart::Cart,
        UserPart::Posts,
        UserPart::Timeline,
        UserPart::Activity,
        UserPart::Orders,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserPart::Sessions => "sessions",
            UserPart::Followers => "followers",
            UserPart::Following => "following",
            UserPart::Tags => "tags",
            UserPart::Cart => "cart",
            UserPart::Posts => "posts",
            UserPart::Timeline => "timeline",
            UserPart::Activity => "activity",
            UserPart::Orders => "orders",
        }
    }
}

/// The Redis Cluster slot of a key (CRC16 of its hash tag, mod 16384).
pub fn slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let tagged = bytes
        .iter()
        .position(|b| *b == b'{')
        .and_then(|open| {
            let rest = &bytes[open + 1..];
            rest.iter()
                .position(|b| *b == b'}')
                .filter(|close| *close > 0)
                .map(|close| &rest[..close])
        })
        .unwrap_or(bytes);
    crc16::State::<crc16::XMODEM>::calculate(tagged) % 16384
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_keys_share_a_slot() {
        let keys = Keys::new("app:");
        assert_eq!(keys.user("42"), "app:user:{42}");
        assert_eq!(
            keys.user_part("42", UserPart::Sessions),
            "app:user:{42}:sessions"
        );
        assert_eq!(
            slot(&keys.user("42")),
            slot(&keys.user_part("42", UserPart::Followers))
        );
        assert_eq!(slot(&keys.username_index()), slot(&keys.email_index()));
    }

    #[test]
    fn commerce_keys_share_their_aggregate_slot() {
        let keys = Keys::new("");
        assert_eq!(keys.product("1001"), "product:{1001}");
        assert_eq!(
            slot(&keys.product("1001")),
            slot(&keys.product_reservations("1001"))
        );
        assert_eq!(slot(&keys.order("7")), slot(&keys.invoice("7")));
        assert_eq!(
            slot(&keys.lock("invoice-9")),
            slot(&keys.lock_fence("invoice-9"))
        );
        let cart = keys.user_part("42", UserPart::Cart);
        assert_eq!(slot(&keys.idempotency("42", "k-1")), slot(&cart));
        assert_eq!(slot(&keys.user_notifications("42")), slot(&cart));
    }

    #[test]
    fn slot_matches_redis_cluster_keyslot() {
        // Values from `CLUSTER KEYSLOT` on Redis 7.
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("foo{}{bar}"), slot("foo{}{bar}"));
        assert_eq!(slot("user:{42}"), slot("42"));
    }

    #[test]
    fn prefix_may_not_move_hash_tags() {
        assert!(Keys::validate_prefix("prod:").is_ok());
        assert!(Keys::validate_prefix("a{b}").is_err());
        assert!(Keys::validate_prefix("a b").is_err());
    }
}
