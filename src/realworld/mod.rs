//! The RealWorld (Conduit) API at `/api`: the public spec of a Medium-like app that
//! hundreds of frontends speak, served over Agora's own data.
//!
//! This is an adapter, not a second application. An article is a post, a favorite is
//! a like, a profile is a user, a follow is a follow, a comment is a comment, and the
//! feed is the reader's home timeline: every write goes through the same services and
//! repositories as `/v1` (`social::posts::service`, `social::follows::service`,
//! `accounts`), so what is done here shows through `/v1` and the other way round. What
//! lives here is only what the spec shapes differently:
//!
//! - [`model`]: the request and response bodies (`{"user": …}`, `{"article": …}`,
//!   camelCase fields, `articlesCount`), and the conversion from Agora's types;
//! - [`error`]: errors as `{"errors": {"<field>": ["<message>"]}}` with the spec's
//!   messages ("can't be blank", "has already been taken", "not found", …), and the
//!   authentication extractors (`Authorization: Token <session token>`; the same token
//!   works on `/v1` as a Bearer token);
//! - [`view`]: the read side the spec needs beyond `/v1` (offset pages with exact
//!   counts over the time-scored indexes, `favorited` and `following` flags in one
//!   ZMSCORE each);
//! - [`handlers`]: one function per operation, tagged `realworld` in the OpenAPI
//!   document.

pub mod error;
mod handlers;
pub mod model;
pub mod view;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::register))
        .routes(routes!(handlers::login))
        .routes(routes!(handlers::current_user, handlers::update_user))
        .routes(routes!(handlers::get_profile))
        .routes(routes!(handlers::follow, handlers::unfollow))
        .routes(routes!(handlers::list_articles, handlers::create_article))
        .routes(routes!(handlers::feed))
        .routes(routes!(
            handlers::get_article,
            handlers::update_article,
            handlers::delete_article
        ))
        .routes(routes!(handlers::favorite, handlers::unfavorite))
        .routes(routes!(handlers::add_comment, handlers::list_comments))
        .routes(routes!(handlers::delete_comment))
        .routes(routes!(handlers::tags))
}
