//! Feeds: the home timeline (posts of whom I follow) and the activity feed.
//!
//! **Home timeline: fan-out on write, with a pull for celebrities.** When someone
//! posts, the post id is pushed into `user:{f}:timeline` of each follower `f` (and of
//! the author), a sorted set scored by post time and capped at the newest 800 with
//! ZREMRANGEBYRANK. Reading a feed page is then one window of one sorted set plus one
//! batch of post hashes, however many people the reader follows: the cost moves to
//! the write, where it is paid once per follower instead of once per read.
//!
//! That stops paying off for authors with very many followers (one post would be
//! hundreds of thousands of writes), so authors with more followers than
//! `AGORA_FANOUT_MAX_FOLLOWERS` are not fanned out. They are added to
//! `users:celebrities` when they post, and a feed read merges the newest posts of the
//! celebrities the reader follows (their `user:{id}:posts`) into the timeline window,
//! the hybrid Twitter described for the same problem. An author stays in the set, so
//! posts they made while above the threshold keep being merged if they drop below it;
//! the merge removes duplicates.
//!
//! The fan-out runs in the request, in batches of 1000 followers (one pipeline per
//! slot on a cluster), so a 2xx means every follower's timeline has the post. With
//! the default threshold of 10,000 that is at most ten batches, measured at tens of
//! milliseconds (see the README); a larger threshold would call for a queue instead.
//! Following someone merges their newest 200 posts into the timeline; unfollowing
//! takes all of theirs out. Deleted posts are removed from the timelines they were
//! pushed to, and a reader skips (and removes) any id whose post is gone.
//!
//! Timelines are capped rather than given a TTL: they are the materialized result of
//! the fan-out, with nothing to rebuild them from if they expired, and the cap bounds
//! their memory (800 ids per user).
//!
//! **Activity feed** (seed 000): `user:{id}:activity`, a sorted set of JSON entries
//! `{type, target_id, timestamp}` scored by time, trimmed to the last 1000 in the same
//! script that adds to it.

mod handlers;
pub mod model;
pub mod repo;
pub(crate) mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::home_feed))
        .routes(routes!(handlers::activity))
}
