//! Posts: seed 000's denormalized posts, with likes and comments.
//!
//! A post is a hash holding a copy of its author's name and avatar, so a page of posts
//! is one index read and one batch of HGETALLs, with no lookup of authors; the price
//! is that changing a name or avatar rewrites every one of the author's posts
//! ([`service::propagate_author`], batched). `user:{id}:posts` (per author) and
//! `posts:recent` (everyone) are sorted sets by time, read newest first with a stable
//! cursor.
//!
//! Likes are a set of likers per post (each user counts once, however often they
//! click) and comments a sorted set per post; both live in the post's slot, so one Lua
//! script changes the set and sets the `likes` / `comments_count` field from its size
//! in the same atomic step: the counter and the set cannot diverge.

mod handlers;
pub mod model;
pub mod repo;
pub mod service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create_post, handlers::list_posts))
        .routes(routes!(handlers::get_post, handlers::delete_post))
        .routes(routes!(handlers::author_posts))
        .routes(routes!(handlers::like, handlers::unlike))
        .routes(routes!(handlers::add_comment, handlers::list_comments))
}
