//! `agora seed --synthetic`: large, deterministic data sets for benchmarks and memory
//! figures, written straight into Redis with pipelines.
//!
//! Why not through the API: registering 100k users over HTTP costs 100k argon2 hashes
//! (~20 ms of CPU each) and a million round trips. Instead every user gets the same
//! password hash (one argon2 call with a fixed salt, so the PHC string is the same on
//! every run) and the keys are written in pipelined [`Batch`]es of thousands of
//! commands, several batches in flight at once.
//!
//! What is written is exactly what the API would have left, under the same key names
//! (from `crate::redis::keys`) and field names (the repositories' own field lists):
//!
//! | data | keys |
//! |---|---|
//! | users `synth1..synthN` (ids `1000001..`) | `user:{id}` hash (password hash in the compact form), claims in the `users:{u<b>}:by_username` / `users:{e<b>}:by_email` buckets, `users:next_id` raised |
//! | `K` follows per user (user *i* follows *i+1 .. i+K*, wrapping) | `user:{id}:following` and `:followers` |
//! | `M` posts per user | `post:{p}` hashes, `user:{id}:posts`, `posts:recent` (newest 10,000), the `user:{id}:timeline` a fan-out would have built (newest 800 of own + followed posts), `posts:next_id` raised |
//! | activity | `user:{id}:activity` (`follow` and `post` entries, newest 1000) |
//! | `P` products (ids `1000001..`) | `product:{id}`, `products:by_sku`, `products:all`, `category:{synthetic-c}:products`, `products:next_id` raised |
//! | a cart of `C` lines per user (when there are products) | `user:{id}:cart` with the carts' 7-day TTL |
//! | every user on board `synthetic` | `lb:{synthetic}` and `lb:{synthetic}:player:{id}` |
//!
//! Every id, score, time and value is a function of the user/post/product number, so
//! running the generator again with the same options writes the same members with the
//! same scores and the same field values: nothing changes (except that the carts' TTL
//! starts again, as it does on any cart write).
//!
//! Progress goes to stderr as the user batches finish (see [`super::progress`]): a bar
//! on a terminal, a plain line per tenth otherwise.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};

use crate::leaderboards::repo as leaderboards;
use crate::products::model::CreateProduct;
use crate::products::repo::{self as products, NewProduct};
use crate::redis::batch::Batch;
use crate::redis::{Keys, Redis};
use crate::social::feeds::model::ActivityKind;
use crate::social::feeds::repo as feeds;
use crate::social::follows::repo::{self as follows, Side};
use crate::social::posts::model::Post;
use crate::social::posts::repo::{self as posts, RECENT_CAP};
use crate::users::Role;
use crate::users::identity::{self, Identity, normalize};
use crate::users::repo::NewUser;

/// The password of every synthetic user (documented in README and the seed README).
pub const PASSWORD: &str = "synthetic-password";
/// Synthetic user `n` (1-based) has id `FIRST_ID + n`; products likewise.
pub const FIRST_ID: u64 = 1_000_000;
/// Post `j` (0-based over all synthetic posts) is `p<FIRST_POST + j + 1>`.
pub const FIRST_POST: u64 = 1_000_000;
/// The leaderboard every synthetic user plays on.
pub const BOARD: &str = "synthetic";
/// The fixed salt of the synthetic users' password hash (16 bytes: compact form).
const SALT: &[u8; 16] = b"agora--synthetic";
/// Unix ms of the first synthetic user, follow and post (2026-01-01T00:00:00Z).
const T0: i64 = 1_767_225_600_000;
/// Users written per batch (each user is ~10 commands).
const USERS_PER_BATCH: u64 = 500;
/// Batches in flight at once.
const IN_FLIGHT: usize = 4;
/// On a cluster a batch is split into one pipeline per slot anyway (a user's keys share
/// a slot, so ~one pipeline per user): smaller batches, fewer in flight, so no node's
/// queue holds a reply past the response timeout on a busy machine.
const CLUSTER_USERS_PER_BATCH: u64 = 100;
const CLUSTER_IN_FLIGHT: usize = 2;
/// Categories the synthetic products are spread over.
const CATEGORIES: u64 = 8;

/// What to generate (`agora seed --synthetic ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub users: u64,
    pub posts_per_user: u64,
    pub follows_per_user: u64,
    pub products: u64,
    pub cart_items: u64,
}

/// What a run wrote, and how long it took.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub users: u64,
    pub follows: u64,
    pub posts: u64,
    pub products: u64,
    pub carts: u64,
    pub commands: u64,
    pub elapsed: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        write!(
            f,
            "seed --synthetic: {} users, {} follows, {} posts, {} products, {} carts \
             ({} commands) in {:.2} s: {:.0} users/s",
            self.users,
            self.follows,
            self.posts,
            self.products,
            self.carts,
            self.commands,
            secs,
            self.users as f64 / secs
        )
    }
}

/// Id of synthetic user `n` (1-based).
pub fn user_id(n: u64) -> String {
    (FIRST_ID + n).to_string()
}

/// Username of synthetic user `n` (1-based).
pub fn username(n: u64) -> String {
    format!("synth{n}")
}

/// Id of synthetic product `k` (1-based).
pub fn product_id(k: u64) -> String {
    (FIRST_ID + k).to_string()
}

/// Id of post `m` (0-based) of synthetic user `n`.
pub fn post_id(options: &Options, n: u64, m: u64) -> String {
    format!("p{}", post_number(options, n, m))
}

fn post_number(options: &Options, n: u64, m: u64) -> u64 {
    FIRST_POST + (n - 1) * options.posts_per_user + m + 1
}

/// Created-at (ms) of post `m` of user `n`: round `m` of every user, then round `m+1`.
fn post_at(options: &Options, n: u64, m: u64) -> i64 {
    T0 + 1_000 * (m * options.users + n) as i64
}

/// The users `n` follows (1-based numbers): the next `K`, wrapping round.
fn followed_by(options: &Options, n: u64) -> impl Iterator<Item = (u64, i64)> + '_ {
    (1..=options.follows_per_user).map(move |j| {
        let target = (n - 1 + j) % options.users + 1;
        (target, follow_at(options, n, j))
    })
}

/// When `n` followed its `j`-th followed user (the same score on both sides).
fn follow_at(options: &Options, n: u64, j: u64) -> i64 {
    T0 + (n * options.follows_per_user + j) as i64
}

/// The users following `n`, with the time of each follow.
fn followers_of(options: &Options, n: u64) -> impl Iterator<Item = (u64, i64)> + '_ {
    (1..=options.follows_per_user).map(move |j| {
        let follower = (n - 1 + options.users - j % options.users) % options.users + 1;
        (follower, follow_at(options, follower, j))
    })
}

/// Checks the options and writes everything. See the module docs.
pub async fn run(redis: &Redis, options: &Options) -> anyhow::Result<Report> {
    anyhow::ensure!(options.users >= 1, "--users must be at least 1");
    anyhow::ensure!(
        options.follows_per_user < options.users,
        "--follows-per-user must be smaller than --users (nobody follows themselves)"
    );
    anyhow::ensure!(
        options.follows_per_user <= 10_000,
        "--follows-per-user above 10,000 would make every user a celebrity"
    );
    anyhow::ensure!(
        options.cart_items <= crate::carts::model::MAX_LINES as u64,
        "--cart-items is at most {}",
        crate::carts::model::MAX_LINES
    );
    anyhow::ensure!(
        options.cart_items <= options.products,
        "--cart-items cannot exceed --products"
    );
    let started = Instant::now();
    // One argon2 hash for everyone, with a fixed 16-byte salt so reruns write the same
    // (compact) value.
    let password_hash =
        tokio::task::spawn_blocking(|| crate::users::password::hash_with_salt(PASSWORD, SALT))
            .await??;
    let progress = super::progress::Progress::start("users", options.users);

    let mut report = Report::default();
    let (per_batch, in_flight) = if redis.is_cluster() {
        (CLUSTER_USERS_PER_BATCH, CLUSTER_IN_FLIGHT)
    } else {
        (USERS_PER_BATCH, IN_FLIGHT)
    };
    let mut batches = Vec::new();
    let mut first = 1;
    while first <= options.users {
        let last = (first + per_batch - 1).min(options.users);
        batches.push((first, last));
        first = last + 1;
    }
    let commands: u64 = futures::stream::iter(batches)
        .map(|(first, last)| {
            let batch = user_batch(redis, options, &password_hash, first, last);
            let progress = &progress;
            async move {
                let n = batch.len() as u64;
                run_retrying(redis, batch).await?;
                progress.advance(last - first + 1);
                Ok::<_, redis::RedisError>(n)
            }
        })
        .buffer_unordered(in_flight)
        .try_fold(0, |sum, n| async move { Ok(sum + n) })
        .await?;
    progress.finish();
    report.commands += commands;

    report.commands += write_products(redis, options).await?;
    report.commands += write_recent(redis, options).await?;
    crate::users::repo::reserve_ids_through(redis, FIRST_ID + options.users)
        .await
        .map_err(|e| anyhow::anyhow!("raising users:next_id: {e}"))?;
    if options.posts_per_user > 0 {
        let last = post_number(options, options.users, options.posts_per_user - 1);
        crate::social::posts::repo::reserve_ids_through(redis, last)
            .await
            .map_err(|e| anyhow::anyhow!("raising posts:next_id: {e}"))?;
    }
    if options.products > 0 {
        crate::products::repo::reserve_ids_through(redis, FIRST_ID + options.products)
            .await
            .map_err(|e| anyhow::anyhow!("raising products:next_id: {e}"))?;
    }

    report.users = options.users;
    report.follows = options.users * options.follows_per_user;
    report.posts = options.users * options.posts_per_user;
    report.products = options.products;
    report.carts = if options.cart_items > 0 {
        options.users
    } else {
        0
    };
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Batches sent again after a timeout before the run fails.
const ATTEMPTS: u32 = 5;

/// Runs `batch`, sending it again when Redis did not answer in time (a loaded machine
/// or a busy cluster node): every command the generator writes is idempotent (HSET and
/// ZADD of fixed values, PEXPIRE), so a batch that partly ran may run again.
async fn run_retrying(redis: &Redis, batch: Batch) -> redis::RedisResult<()> {
    let mut attempt = 1;
    loop {
        match batch.clone().run(&redis.conn).await {
            Ok(_) => return Ok(()),
            Err(err) if attempt < ATTEMPTS && (err.is_timeout() || err.is_io_error()) => {
                eprintln!("seed --synthetic: a batch timed out ({err}); sending it again");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            Err(err) => return Err(err),
        }
    }
}

/// Every per-user key of users `first..=last`; the commands come from the owning
/// repositories' builders, this only decides what they hold.
fn user_batch(
    redis: &Redis,
    options: &Options,
    password_hash: &str,
    first: u64,
    last: u64,
) -> Batch {
    let keys = &redis.keys;
    let mut batch = Batch::new();
    let mut usernames = Vec::new();
    let mut emails = Vec::new();
    let mut scores = Vec::new();

    for n in first..=last {
        let id = user_id(n);
        let user = synthetic_user(n, password_hash);
        let (key, cmd) = crate::users::repo::store_cmd(keys, &user, &id);
        batch.add(key, cmd);
        usernames.push((normalize(&user.username), id.clone()));
        emails.push((normalize(&user.email), id.clone()));

        let mut activity = add_follows(keys, &mut batch, options, n, &id);
        add_posts(keys, &mut batch, options, n, &id, &mut activity);
        if !activity.is_empty() {
            let (key, cmd) = feeds::activity_fill(keys, &id, &mut activity);
            batch.add(key, cmd);
        }

        if options.cart_items > 0 {
            let lines = (0..options.cart_items).map(|line| {
                let product = (n + line * 7) % options.products + 1;
                (product_id(product), (1 + (n + line) % 3) as i64)
            });
            let (key, commands) = crate::carts::repo::fill(keys, &id, lines);
            for command in commands {
                batch.add(key.clone(), command);
            }
        }

        scores.push(((n * 7919) % 100_000, id.clone()));
        let entry = leaderboards::Entry {
            username: Some(user.username),
            level: Some(1 + n % 50),
            wins: Some(n % 100),
            losses: Some(n % 37),
            last_played: Some(user.created_at),
        };
        let (key, cmd) = leaderboards::player_store_cmd(keys, BOARD, &id, &entry);
        batch.add(key, cmd);
    }
    identity::add_bulk_claims(redis, &mut batch, Identity::Username, usernames);
    identity::add_bulk_claims(redis, &mut batch, Identity::Email, emails);
    let (key, cmd) = leaderboards::scores_fill(keys, BOARD, scores);
    batch.add(key, cmd);
    batch
}

/// Synthetic user `n` with the fields `users::repo::create` would have written.
fn synthetic_user(n: u64, password_hash: &str) -> NewUser {
    let name = username(n);
    NewUser {
        id: Some(user_id(n)),
        email: format!("{name}@synthetic.example"),
        username: name,
        password_hash: password_hash.to_string(),
        name: format!("Synthetic User {n}"),
        bio: None,
        avatar: None,
        role: Role::User,
        created_at: crate::time::rfc3339_from_ms(T0 + n as i64),
    }
}

/// User `n`'s following and followers sets; answers the `follow` activity entries.
fn add_follows(
    keys: &Keys,
    batch: &mut Batch,
    options: &Options,
    n: u64,
    id: &str,
) -> Vec<(i64, String)> {
    if options.follows_per_user == 0 {
        return Vec::new();
    }
    let following: Vec<(i64, String)> = followed_by(options, n)
        .map(|(target, at)| (at, user_id(target)))
        .collect();
    let activity = following
        .iter()
        .map(|(at, target)| {
            (
                *at,
                feeds::activity_member(ActivityKind::Follow, target, *at),
            )
        })
        .collect();
    let (key, cmd) = follows::bulk_add(keys, id, Side::Following, following);
    batch.add(key, cmd);
    let followers = followers_of(options, n).map(|(follower, at)| (at, user_id(follower)));
    let (key, cmd) = follows::bulk_add(keys, id, Side::Followers, followers);
    batch.add(key, cmd);
    activity
}

/// User `n`'s posts, own-posts index and timeline; adds the `post` activity entries.
fn add_posts(
    keys: &Keys,
    batch: &mut Batch,
    options: &Options,
    n: u64,
    id: &str,
    activity: &mut Vec<(i64, String)>,
) {
    if options.posts_per_user == 0 {
        return;
    }
    let mut own = Vec::new();
    for m in 0..options.posts_per_user {
        let post = synthetic_post(options, n, m);
        let at = post_at(options, n, m);
        let (key, cmd) = posts::store_cmd(keys, &post);
        batch.add(key, cmd);
        activity.push((at, feeds::activity_member(ActivityKind::Post, &post.id, at)));
        own.push((at, post.id));
    }
    let (key, cmd) = posts::author_index_fill(keys, id, own);
    batch.add(key, cmd);
    // The timeline fan-out would have built: own posts and followed authors'.
    let mut timeline: Vec<(i64, String)> = std::iter::once(n)
        .chain(followed_by(options, n).map(|(author, _)| author))
        .flat_map(|author| {
            (0..options.posts_per_user)
                .map(move |m| (post_at(options, author, m), post_id(options, author, m)))
        })
        .collect();
    let (key, cmd) = feeds::timeline_fill(keys, id, &mut timeline);
    batch.add(key, cmd);
}

/// Post `m` of user `n`, as `posts::repo::store` writes it.
fn synthetic_post(options: &Options, n: u64, m: u64) -> Post {
    Post {
        id: post_id(options, n, m),
        title: format!("Synthetic post {m} of synth{n}"),
        content: "Sorted sets make timelines easy; fan-out on write makes them fast.".into(),
        author_id: user_id(n),
        author_name: format!("Synthetic User {n}"),
        author_avatar: None,
        created_at: crate::time::rfc3339_from_ms(post_at(options, n, m)),
        likes: 0,
        comments_count: 0,
        ..Post::default()
    }
}

/// The products with their SKU claims and catalog indexes (`products::repo::create`).
async fn write_products(redis: &Redis, options: &Options) -> anyhow::Result<u64> {
    let keys = &redis.keys;
    let mut commands = 0;
    let mut k = 1;
    while k <= options.products {
        let last = (k + 999).min(options.products);
        let mut batch = Batch::new();
        let mut skus = Vec::new();
        let mut all = Vec::new();
        for k in k..=last {
            let id = product_id(k);
            let product = synthetic_product(k);
            let (key, cmd) = products::store_cmd(keys, &product, &id);
            batch.add(key, cmd);
            let (key, cmd) =
                products::category_add(keys, &product.input.category, FIRST_ID + k, &id);
            batch.add(key, cmd);
            skus.push((product.input.sku, id.clone()));
            all.push((FIRST_ID + k, id));
        }
        let claims = skus.iter().map(|(sku, id)| (sku.as_str(), id.as_str()));
        let (key, cmd) = products::sku_index_fill(keys, claims);
        batch.add(key, cmd);
        let entries = all.iter().map(|(number, id)| (*number, id.as_str()));
        let (key, cmd) = products::catalog_index_fill(keys, entries);
        batch.add(key, cmd);
        commands += batch.len() as u64;
        batch.run(&redis.conn).await?;
        k = last + 1;
    }
    Ok(commands)
}

/// Product `k` with the fields `products::repo::create` would have written.
fn synthetic_product(k: u64) -> NewProduct {
    NewProduct {
        id: Some(product_id(k)),
        input: CreateProduct {
            name: format!("Synthetic product {k}"),
            price_cents: (100 + (k * 37) % 10_000) as i64,
            stock: 1_000_000_000,
            category: format!("synthetic-{}", k % CATEGORIES),
            sku: format!("SYN-{k}"),
            description: None,
            rating: None,
        },
        created_at: crate::time::rfc3339_from_ms(T0 + k as i64),
    }
}

/// The newest [`RECENT_CAP`] synthetic posts into `posts:recent`, then its usual trim.
async fn write_recent(redis: &Redis, options: &Options) -> anyhow::Result<u64> {
    let total = options.users * options.posts_per_user;
    if total == 0 {
        return Ok(0);
    }
    // Post times grow with m * users + n: walk down from the newest.
    let entries: Vec<(i64, String)> = (total.saturating_sub(RECENT_CAP as u64)..total)
        .rev()
        .map(|index| {
            let (m, n) = (index / options.users, index % options.users + 1);
            (post_at(options, n, m), post_id(options, n, m))
        })
        .collect();
    let entries: Vec<(i64, &str)> = entries.iter().map(|(at, id)| (*at, id.as_str())).collect();
    crate::social::posts::repo::index_recent_many(redis, &entries).await?;
    Ok(2 + write_all_posts(redis, options, total).await?)
}

/// Every synthetic post into `posts:all` (uncapped), in ZADDs of [`RECENT_CAP`].
async fn write_all_posts(redis: &Redis, options: &Options, total: u64) -> anyhow::Result<u64> {
    let mut commands = 0;
    let mut start = 0;
    while start < total {
        let end = (start + RECENT_CAP as u64).min(total);
        let entries: Vec<(i64, String)> = (start..end)
            .map(|index| {
                let (m, n) = (index / options.users, index % options.users + 1);
                (post_at(options, n, m), post_id(options, n, m))
            })
            .collect();
        crate::social::posts::repo::index_all_many(redis, &entries).await?;
        commands += 1;
        start = end;
    }
    Ok(commands)
}
