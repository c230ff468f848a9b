//! Every Redis key name Agora uses, built in one place.
//!
//! Why: a reader should see the whole key schema on one page, and no handler may glue
//! user input into a key. Names keep the shapes of the seed articles (`user:{42}`,
//! `user:{42}:session:…`, `queue:emails`) so someone who knows the pattern finds the data in
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

    // ---- admin -------------------------------------------------------------------

    /// Any key, named as the admin key browser shows it (without the prefix): the
    /// prefix is applied here like for every other key, so an admin of one deployment
    /// reaches only its keys.
    pub fn raw(&self, shown: &str) -> String {
        self.key(format_args!("{shown}"))
    }

    /// A SCAN `MATCH` pattern confined to this deployment's keys: the prefix with its
    /// glob metacharacters escaped (so it matches only itself), then `pattern`.
    pub fn scan_pattern(&self, pattern: &str) -> String {
        let mut escaped = String::with_capacity(self.prefix.len() + pattern.len());
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        escaped.push_str(pattern);
        escaped
    }

    /// A key as the admin key browser shows it: without the prefix.
    pub fn shown<'a>(&self, key: &'a str) -> &'a str {
        key.strip_prefix(&*self.prefix).unwrap_or(key)
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

    /// Hash: one bucket of the username index (lower-cased username → user id). The
    /// index is split into [`IDENTITY_BUCKETS`] small hashes, each its own hash tag, so on
    /// a cluster no slot holds an entry per user and every shard serves a share of the
    /// registrations and logins; each bucket stays a listpack (see [`identity_bucket`]).
    pub fn username_bucket(&self, bucket: u32) -> String {
        self.key(format_args!("users:{{u{bucket}}}:by_username"))
    }

    /// Hash: one bucket of the e-mail index (lower-cased e-mail → user id), tagged apart
    /// from the username buckets so the two claims of one user land on unrelated slots.
    pub fn email_bucket(&self, bucket: u32) -> String {
        self.key(format_args!("users:{{e{bucket}}}:by_email"))
    }

    /// Hash: the username index before it was bucketed (one slot for everyone). Only
    /// read: by `agora migrate identity`, which empties it into the buckets, and as a
    /// fallback until that has run.
    pub fn legacy_username_index(&self) -> String {
        self.key(format_args!("users:{{identity}}:by_username"))
    }

    /// Hash: the e-mail index before it was bucketed (see [`Keys::legacy_username_index`]).
    pub fn legacy_email_index(&self) -> String {
        self.key(format_args!("users:{{identity}}:by_email"))
    }

    // ---- sessions ----------------------------------------------------------------

    /// Hash with idle TTL: one session of a user, named by the SHA-256 of its token
    /// (never the token itself, so a leaked key list or `MONITOR` output grants
    /// nothing). It lives in the user's slot, beside `user:{id}:sessions`, so opening,
    /// checking and revoking sessions are each one atomic script over the user's
    /// aggregate: a login racing "revoke all" or an account deletion cannot leave a
    /// session the revocation did not see.
    pub fn session(&self, user_id: &str, session_id: &str) -> String {
        format!("{}{session_id}", self.session_prefix(user_id))
    }

    /// What every session key of the user starts with (`user:{42}:session:`): the
    /// revoking script builds the keys of the ids it finds in the index from it.
    pub fn session_prefix(&self, user_id: &str) -> String {
        self.key(format_args!("user:{{{user_id}}}:session:"))
    }

    /// String with a short TTL: held while a follow or unfollow of `target` by `user_id`
    /// runs, so the two sides of one pair are always written by one request at a time.
    pub fn follow_pair_lock(&self, user_id: &str, target: &str) -> String {
        self.key(format_args!("user:{{{user_id}}}:follow_lock:{target}"))
    }

    /// String counter with TTL = the login throttle window: login attempts on one
    /// account that did not succeed, in the user's slot.
    pub fn login_attempts_user(&self, user_id: &str) -> String {
        self.key(format_args!("user:{{{user_id}}}:login_attempts"))
    }

    /// String counter with TTL: attempts on a login that names no account, by the
    /// SHA-256 of the normalised login (never the raw input in a key).
    pub fn login_attempts_unknown(&self, login_hash: &str) -> String {
        self.key(format_args!("login:attempts:{{{login_hash}}}"))
    }

    /// String counter with TTL: failed login attempts from one client address.
    pub fn login_attempts_ip(&self, ip: &str) -> String {
        self.key(format_args!("login:attempts:ip:{{{ip}}}"))
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

    /// String with PX: the lock on a resource; its value is the holder's random token.
    pub fn lock(&self, resource: &str) -> String {
        self.key(format_args!("lock:{{{resource}}}"))
    }

    /// String counter in the lock's slot: the last fencing token handed out. Expires a
    /// retention after the lock's last acquire or extend (anyone may name a resource);
    /// a counter that is gone restarts from the Redis clock in µs, never from 1, so
    /// fencing tokens keep increasing (see `acquire_lock.lua`).
    pub fn lock_fence(&self, resource: &str) -> String {
        self.key(format_args!("lock:{{{resource}}}:fence"))
    }

    // ---- jobs --------------------------------------------------------------------

    /// The e-mail queue's keys. All share the `{emails}` hash tag, because BLMOVE and
    /// the queue scripts move jobs between them atomically, which on a cluster needs
    /// one slot. The list is seed 001's `queue:emails`, with the tag added.
    pub fn email_queue(&self) -> String {
        self.key(format_args!("queue:{{emails}}"))
    }

    /// List: jobs a worker has taken and not yet finished (reliable-queue pattern).
    pub fn email_processing(&self) -> String {
        self.key(format_args!("queue:{{emails}}:processing"))
    }

    /// Hash: job id → lease deadline (ms) of the worker holding it.
    pub fn email_leases(&self) -> String {
        self.key(format_args!("queue:{{emails}}:leases"))
    }

    /// Sorted set: jobs waiting to be retried, scored by when they are due (ms).
    pub fn email_retry(&self) -> String {
        self.key(format_args!("queue:{{emails}}:retry"))
    }

    /// List: jobs that failed too often; kept for an operator.
    pub fn email_dead(&self) -> String {
        self.key(format_args!("queue:{{emails}}:dead"))
    }

    /// Hash: e-mails "sent" (there is no SMTP here): job id → delivery record. Kept for
    /// a bounded time and count (see [`Keys::email_outbox_delivered`]).
    pub fn email_outbox(&self) -> String {
        self.key(format_args!("outbox:{{emails}}"))
    }

    /// Sorted set: job id → delivered-at (ms) of every record in the outbox, oldest
    /// first, so the finishing script drops records past their retention or the cap.
    pub fn email_outbox_delivered(&self) -> String {
        self.key(format_args!("outbox:{{emails}}:delivered"))
    }

    /// String counter: e-mails delivered since the beginning (the outbox itself keeps
    /// only the recent records; this is what the queue stats report).
    pub fn email_outbox_total(&self) -> String {
        self.key(format_args!("outbox:{{emails}}:total"))
    }

    /// String: HSCAN cursor over outbox records written before the index existed,
    /// present only while the finishing script is still adopting them.
    pub fn email_outbox_adopting(&self) -> String {
        self.key(format_args!("outbox:{{emails}}:adopting"))
    }

    // ---- platform ----------------------------------------------------------------

    /// Hash: the application config (seed 002 `config:app`).
    pub fn config_app(&self) -> String {
        self.key(format_args!("config:app"))
    }

    /// Sorted set: player id → score of one leaderboard.
    pub fn leaderboard(&self, board: &str) -> String {
        self.key(format_args!("lb:{{{board}}}"))
    }

    /// Hash: a player's entry on a board (seed 002 `leaderboard:user:1`), in the board's
    /// slot so a game result updates the score and the entry in one script.
    pub fn leaderboard_player(&self, board: &str, player: &str) -> String {
        self.key(format_args!("lb:{{{board}}}:player:{player}"))
    }

    /// Sorted set: the sliding window of `POST /v1/rate-limits/check` for one key of
    /// one user (keys are per caller: two users' `export` are two windows), in the
    /// user's slot; members are `<running total>:<cost>`, scores admission times (µs).
    pub fn rate_limit_check(&self, user_id: &str, key: &str) -> String {
        self.key(format_args!("ratelimit:user:{{{user_id}}}:check:{key}"))
    }

    /// String (integer µs): the API limiter's GCRA state (theoretical arrival time)
    /// for an anonymous client address. (The sliding-window log it replaced was a
    /// sorted set named `ratelimit:ip:{ip}`; a new name, so the two never meet.)
    pub fn rate_limit_ip(&self, ip: &str) -> String {
        self.key(format_args!("ratelimit:gcra:{{{ip}}}"))
    }

    /// String (integer µs): the API limiter's GCRA state for a session user, in the
    /// user's slot (with the quota hashes the same script updates).
    pub fn rate_limit_user(&self, user_id: &str) -> String {
        self.key(format_args!("ratelimit:user:{{{user_id}}}:gcra"))
    }

    /// Hash: a user's per-endpoint usage in one hour (seed 002's `ratelimit:user:1`),
    /// in the user's slot so one script checks the window and the quota together.
    pub fn user_quotas(&self, user_id: &str, hour: i64) -> String {
        self.key(format_args!("ratelimit:user:{{{user_id}}}:quota:{hour}"))
    }

    /// String counter: views of one page path.
    pub fn pageviews(&self, path: &str) -> String {
        self.key(format_args!("pageviews:{{{path}}}"))
    }

    /// Set: the visitor ids of one day (seed 001 `visitors:2026-04-01`).
    pub fn visitors(&self, date: &str) -> String {
        self.key(format_args!("visitors:{{{date}}}"))
    }

    /// HyperLogLog beside the day's set: ~12 KB whatever the number of visitors.
    pub fn visitors_hll(&self, date: &str) -> String {
        self.key(format_args!("visitors:{{{date}}}:hll"))
    }

    /// Hash: an experiment's variants → weights.
    pub fn experiment(&self, name: &str) -> String {
        self.key(format_args!("experiment:{{{name}}}"))
    }

    /// Hash: subject → assigned variant, as stored before assignments had a retention;
    /// read (and emptied) by `assign_variant.lua`, never written.
    pub fn experiment_assignments(&self, name: &str) -> String {
        self.key(format_args!("experiment:{{{name}}}:assignments"))
    }

    /// String with PX: one subject's assigned variant (sticky while the subject keeps
    /// coming back within the retention), in the experiment's slot.
    pub fn experiment_assignment(&self, name: &str, subject: &str) -> String {
        self.key(format_args!("experiment:{{{name}}}:assigned:{subject}"))
    }

    /// Pub/sub channel of one user's live notifications (sharded on a cluster; the
    /// hash tag picks the shard).
    pub fn notifications(&self, user_id: &str) -> String {
        self.key(format_args!("notifications:{{{user_id}}}"))
    }

    // ---- social ------------------------------------------------------------------

    /// Set: ids of the users carrying a tag (seed 000 `tag:premium:users`), the other
    /// side of `user:{id}:tags`. Each tag is its own hash tag, so on a cluster two tags'
    /// sets are usually in different slots (intersections are combined in the service).
    pub fn tag_users(&self, tag: &str) -> String {
        self.key(format_args!("tag:{{{tag}}}:users"))
    }

    /// Hash: one post with its denormalized author name and avatar (seed 000).
    pub fn post(&self, id: &str) -> String {
        self.key(format_args!("post:{{{id}}}"))
    }

    /// A key of the post's aggregate (`post:{p9}:likes`, `:comments`), same slot as
    /// [`Keys::post`], so a script updates the set and the counter together.
    pub fn post_part(&self, id: &str, part: PostPart) -> String {
        self.key(format_args!("post:{{{id}}}:{}", part.as_str()))
    }

    /// String counter: the last post number handed out (ids are `p<n>`).
    pub fn post_ids(&self) -> String {
        self.key(format_args!("posts:next_id"))
    }

    /// Sorted set: post id → created-at (ms), every author, capped (seed 000
    /// `posts:recent`).
    pub fn recent_posts(&self) -> String {
        self.key(format_args!("posts:recent"))
    }

    /// Set: authors who posted while having more followers than the fan-out threshold;
    /// their posts are merged into followers' feeds at read time.
    pub fn celebrities(&self) -> String {
        self.key(format_args!("users:celebrities"))
    }

    /// String: the last post instant handed out (Unix ms); `post_clock.lua` makes
    /// every post's instant strictly later than the one before, so newest-first
    /// orders never tie, even for posts created in the same millisecond.
    pub fn post_clock(&self) -> String {
        self.key(format_args!("posts:clock"))
    }

    /// Sorted set: post id → created-at (ms), every post, uncapped: the RealWorld
    /// article list reads its pages (offset, limit) and its exact count (ZCARD) here.
    pub fn all_posts(&self) -> String {
        self.key(format_args!("posts:all"))
    }

    /// String: the post id an article slug names (claimed with SET NX: unique).
    pub fn slug(&self, slug: &str) -> String {
        self.key(format_args!("slug:{{{slug}}}"))
    }

    /// Sorted set: ids of the posts carrying an article tag → created-at (ms).
    pub fn tag_posts(&self, tag: &str) -> String {
        self.key(format_args!("tag:{{{tag}}}:posts"))
    }

    /// Sorted set: article tag → how many posts carry it (`GET /api/tags`).
    pub fn post_tags(&self) -> String {
        self.key(format_args!("tags:posts"))
    }

    /// String counter: the last comment number handed out (ids are `c<n>`).
    pub fn comment_ids(&self) -> String {
        self.key(format_args!("comments:next_id"))
    }
}

/// How many buckets each identity index (usernames, e-mails) is split into. Fixed for
/// good: a name's bucket is a function of this number, so changing it would need a
/// migration. 2048 buckets hold ~49 entries each at 100k users, all listpacks under
/// Redis's default `hash-max-listpack-entries 128` up to ~200k users; past that, raise
/// `hash-max-listpack-entries` (Instagram's buckets held 1000 entries each) rather
/// than this number. Fewer, fuller buckets cost less: each key carries ~90 bytes of
/// its own (name, dict entry, object header), shared by its entries.
pub const IDENTITY_BUCKETS: u32 = 2048;

/// The bucket of a normalised username or e-mail: CRC16 (the function Redis Cluster
/// uses for slots; stable across versions and machines) mod [`IDENTITY_BUCKETS`].
pub fn identity_bucket(normalised: &str) -> u32 {
    u32::from(crc16::State::<crc16::XMODEM>::calculate(
        normalised.as_bytes(),
    )) % IDENTITY_BUCKETS
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
    /// Sorted set: the posts the user likes (RealWorld favorites) → the post's
    /// created-at (ms), for `?favorited=` pages and `favorited` flags (one ZMSCORE).
    Favorites,
}

impl UserPart {
    /// Every part, so deleting a user removes all of them.
    pub const ALL: [UserPart; 10] = [
        UserPart::Sessions,
        UserPart::Followers,
        UserPart::Following,
        UserPart::Tags,
        UserPart::Cart,
        UserPart::Posts,
        UserPart::Timeline,
        UserPart::Activity,
        UserPart::Orders,
        UserPart::Favorites,
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
            UserPart::Favorites => "favorites",
        }
    }
}

/// The keys that hang off one post, all in the post's slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostPart {
    /// Set: ids of the users who like the post (each counts once).
    Likes,
    /// Sorted set: comment (JSON) → created-at (ms).
    Comments,
    /// Hash: comment id → its member in `Comments` (to delete one by id).
    CommentIds,
}

impl PostPart {
    /// Every part, so deleting a post removes all of them.
    pub const ALL: [PostPart; 3] = [PostPart::Likes, PostPart::Comments, PostPart::CommentIds];

    pub fn as_str(self) -> &'static str {
        match self {
            PostPart::Likes => "likes",
            PostPart::Comments => "comments",
            PostPart::CommentIds => "comment_ids",
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
        assert_eq!(keys.username_bucket(7), "app:users:{u7}:by_username");
        assert_eq!(keys.email_bucket(7), "app:users:{e7}:by_email");
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
    }

    #[test]
    fn platform_keys_share_their_aggregate_slot() {
        let keys = Keys::new("");
        assert_eq!(
            keys.rate_limit_check("42", "export"),
            "ratelimit:user:{42}:check:export"
        );
        assert_eq!(
            slot(&keys.rate_limit_check("42", "export")),
            slot(&keys.user_quotas("42", 7))
        );
        assert_eq!(
            slot(&keys.experiment("ab")),
            slot(&keys.experiment_assignment("ab", "visitor-1"))
        );
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
    fn a_post_and_its_likes_and_comments_share_a_slot() {
        let keys = Keys::new("");
        assert_eq!(keys.post("p9"), "post:{p9}");
        assert_eq!(keys.post_part("p9", PostPart::Likes), "post:{p9}:likes");
        assert_eq!(keys.tag_users("premium"), "tag:{premium}:users");
        for part in PostPart::ALL {
            assert_eq!(slot(&keys.post("p9")), slot(&keys.post_part("p9", part)));
        }
    }

    #[test]
    fn identity_buckets_spread_over_many_slots() {
        let keys = Keys::new("");
        let mut slots = std::collections::HashSet::new();
        let mut per_bucket = std::collections::HashMap::<u32, u32>::new();
        for n in 0..100_000 {
            let bucket = identity_bucket(&format!("user{n}"));
            assert!(bucket < IDENTITY_BUCKETS);
            *per_bucket.entry(bucket).or_default() += 1;
            slots.insert(slot(&keys.username_bucket(bucket)));
        }
        // Every bucket is used, none near the listpack limit, over thousands of slots.
        assert_eq!(per_bucket.len(), IDENTITY_BUCKETS as usize);
        assert!(
            per_bucket.values().all(|n| *n < 100),
            "{:?}",
            per_bucket.values().max()
        );
        assert!(slots.len() > 1500, "{} slots", slots.len());
        assert_eq!(identity_bucket("alice"), identity_bucket("alice"));
    }

    #[test]
    fn prefix_may_not_move_hash_tags() {
        assert!(Keys::validate_prefix("prod:").is_ok());
        assert!(Keys::validate_prefix("a{b}").is_err());
        assert!(Keys::validate_prefix("a b").is_err());
    }
}
