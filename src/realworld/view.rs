//! The read side `/api` needs beyond `/v1`: offset pages with exact counts over the
//! same time-scored indexes, and the per-reader flags of a page.
//!
//! Every list is O(page): one MULTI of ZCARD (the exact `articlesCount`) and ZREVRANGE
//! by rank on one index (`posts:all`, `user:{id}:posts`, `tag:{t}:posts`,
//! `user:{id}:favorites`, `user:{id}:timeline`), then one batch of post hashes, one of
//! author hashes, one ZMSCORE for `favorited` and one for `following`. Scores are the
//! posts' creation instants, which `post_clock.lua` makes unique, so newest first is
//! exact. Combining filters (e.g. `tag` and `author`) reads the smallest of their
//! indexes, newest [`COMBINED_MAX`] entries at most, and checks the others by ZMSCORE:
//! bounded, one key per command (cluster-safe); wider combinations are refused (422).

use std::collections::HashMap;

use axum::http::StatusCode;

use super::error::{ApiError, ApiResult};
use super::model::{Article, MultipleArticlesResponse, Profile};
use crate::error::AppResult;
use crate::redis::Redis;
use crate::redis::keys::UserPart;
use crate::social::feeds::repo as feeds;
use crate::social::follows::repo as follows;
use crate::social::found_and_gone;
use crate::social::posts::model::Post;
use crate::social::posts::repo as posts;
use crate::users::model::{User, UserField};
use crate::users::repo as users;

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Largest index a combination of filters may read.
pub const COMBINED_MAX: usize = 1000;
/// Most tags `GET /api/tags` lists (the most used).
pub const TAGS_MAX: usize = 1000;
/// Most comments `GET /api/articles/{slug}/comments` lists (the newest).
pub const COMMENTS_MAX: usize = 1000;

const PROFILE_FIELDS: [UserField; 3] = [
    UserField::Hash("username"),
    UserField::Hash("bio"),
    UserField::Hash("avatar"),
];

/// `?limit=&offset=`.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub limit: usize,
    pub offset: usize,
}

impl Paging {
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> ApiResult<Paging> {
        let number = |field: &str, value: Option<&str>, default: usize, max: usize| match value
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        field,
                        &format!("must be a whole number from 0 to {max}"),
                    )
                }),
        };
        Ok(Paging {
            limit: number("limit", limit, DEFAULT_LIMIT, MAX_LIMIT)?,
            offset: number("offset", offset, 0, 1_000_000_000)?,
        })
    }
}

/// The user with this username (not an e-mail, though logins accept both).
pub async fn user_by_username(redis: &Redis, username: &str) -> AppResult<Option<User>> {
    if crate::validate::username(username).is_err() {
        return Ok(None);
    }
    let Some(id) = users::find_id(redis, username).await? else {
        return Ok(None);
    };
    Ok(users::get(redis, &id, Some(&PROFILE_FIELDS))
        .await?
        .filter(|u| {
            u.username
                .as_deref()
                .is_some_and(|name| name.eq_ignore_ascii_case(username))
        }))
}

/// The profiles of `ids` (users that are gone are left out), with `following` for
/// `reader`.
pub async fn profiles(
    redis: &Redis,
    reader: Option<&str>,
    ids: &[String],
) -> AppResult<HashMap<String, Profile>> {
    let mut unique: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(id) {
            unique.push(id.clone());
        }
    }
    let (found, followed) = tokio::try_join!(
        users::get_many(redis, &unique, Some(&PROFILE_FIELDS)),
        async {
            match reader {
                Some(reader) => follows::followed_among(redis, reader, &unique).await,
                None => Ok(Vec::new()),
            }
        }
    )?;
    Ok(unique
        .into_iter()
        .zip(found)
        .filter_map(|(id, user)| {
            let user = user?;
            let following = followed.contains(&id);
            Some((id, Profile::new(&user, following)))
        })
        .collect())
}

/// The spec's articles for `posts`, with `favorited` and the authors' `following` for
/// `reader` (three round trips, run together).
pub async fn articles(
    redis: &Redis,
    reader: Option<&str>,
    posts_found: Vec<Post>,
    with_body: bool,
) -> AppResult<Vec<Article>> {
    let ids: Vec<String> = posts_found.iter().map(|p| p.id.clone()).collect();
    let authors: Vec<String> = posts_found.iter().map(|p| p.author_id.clone()).collect();
    let (authors, favorited) = tokio::try_join!(profiles(redis, reader, &authors), async {
        match reader {
            Some(reader) => posts::favorited_among(redis, reader, &ids).await,
            None => Ok(vec![false; ids.len()]),
        }
    })?;
    Ok(posts_found
        .into_iter()
        .zip(favorited)
        .map(|(post, favorited)| {
            let author = authors.get(&post.author_id).cloned().unwrap_or(Profile {
                username: post.author_name.clone(),
                bio: None,
                image: post.author_avatar.clone(),
                following: false,
            });
            Article::new(post, with_body, favorited, author)
        })
        .collect())
}

/// One article with its body.
pub async fn article(redis: &Redis, reader: Option<&str>, post: Post) -> AppResult<Article> {
    let mut one = articles(redis, reader, vec![post], true).await?;
    Ok(one.remove(0))
}

/// The posts of `ids` that still exist, in order; ids whose post is gone are removed
/// from `index` on the way (as every reader of an index does).
async fn load(redis: &Redis, index: &str, ids: Vec<String>) -> AppResult<Vec<Post>> {
    let found = posts::get_many(redis, &ids).await?;
    let (live, gone) = found_and_gone(ids, found);
    posts::prune(redis, index, &gone).await?;
    Ok(live.into_iter().map(|(_, post)| post).collect())
}

/// `GET /api/articles`: the filters' indexes, a page by offset, the exact count.
pub async fn list(
    redis: &Redis,
    reader: Option<&str>,
    tag: Option<&str>,
    author: Option<&str>,
    favorited: Option<&str>,
    paging: Paging,
) -> ApiResult<MultipleArticlesResponse> {
    let empty = || MultipleArticlesResponse {
        articles: Vec::new(),
        articles_count: 0,
    };
    let mut indexes = Vec::new();
    if let Some(tag) = tag {
        // A tag that could not have been stored matches nothing (and names no key).
        if crate::validate::tag(tag).is_err() {
            return Ok(empty());
        }
        indexes.push(redis.keys.tag_posts(tag));
    }
    for (username, part) in [(author, UserPart::Posts), (favorited, UserPart::Favorites)] {
        if let Some(username) = username {
            match user_by_username(redis, username).await? {
                Some(user) => indexes.push(redis.keys.user_part(&user.id, part)),
                None => return Ok(empty()),
            }
        }
    }
    let (count, page, index) = match indexes.len() {
        0 | 1 => {
            let index = indexes.pop().unwrap_or_else(|| redis.keys.all_posts());
            let (count, ids) =
                posts::index_page(redis, &index, paging.offset, paging.limit).await?;
            (count, ids, index)
        }
        _ => combined(redis, indexes, paging).await?,
    };
    let found = load(redis, &index, page).await?;
    Ok(MultipleArticlesResponse {
        articles: articles(redis, reader, found, false).await?,
        articles_count: count,
    })
}

/// Several filters: the smallest index (at most [`COMBINED_MAX`] entries) newest
/// first, kept where every other index has the id too.
async fn combined(
    redis: &Redis,
    mut indexes: Vec<String>,
    paging: Paging,
) -> ApiResult<(u64, Vec<String>, String)> {
    let mut sizes = Vec::with_capacity(indexes.len());
    for index in &indexes {
        sizes.push(posts::index_size(redis, index).await?);
    }
    let smallest = (0..indexes.len()).min_by_key(|i| sizes[*i]).unwrap_or(0);
    if sizes[smallest] as usize > COMBINED_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "filters",
            &format!(
                "match more than {COMBINED_MAX} articles each; use one filter, or narrower ones"
            ),
        ));
    }
    let walked = indexes.swap_remove(smallest);
    let mut ids: Vec<String> = posts::index_newest(redis, &walked, COMBINED_MAX)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for other in &indexes {
        let present = posts::members_of(redis, other, &ids).await?;
        ids = ids
            .into_iter()
            .zip(present)
            .filter_map(|(id, keep)| keep.then_some(id))
            .collect();
    }
    let count = ids.len() as u64;
    let page = ids
        .into_iter()
        .skip(paging.offset)
        .take(paging.limit)
        .collect();
    Ok((count, page, walked))
}

/// `GET /api/articles/feed`: the reader's home timeline (fan-out on write), with the
/// posts of followed celebrities merged in as `/v1/feed` does (then the newest
/// `offset + limit` of each source are read and merged).
pub async fn feed(
    redis: &Redis,
    reader: &str,
    paging: Paging,
) -> ApiResult<MultipleArticlesResponse> {
    let timeline = redis.keys.user_part(reader, UserPart::Timeline);
    let celebrities: Vec<String> = feeds::celebrities(redis)
        .await?
        .into_iter()
        .filter(|c| c != reader)
        .collect();
    let followed = if celebrities.is_empty() {
        Vec::new()
    } else {
        follows::followed_among(redis, reader, &celebrities).await?
    };
    let (count, page) = if followed.is_empty() {
        posts::index_page(redis, &timeline, paging.offset, paging.limit).await?
    } else {
        let want = paging.offset + paging.limit;
        let mut entries = posts::index_newest(redis, &timeline, want).await?;
        let mut count = posts::index_size(redis, &timeline).await?;
        for celebrity in &followed {
            let own = redis.keys.user_part(celebrity, UserPart::Posts);
            entries.extend(posts::index_newest(redis, &own, want).await?);
            count += posts::index_size(redis, &own).await?;
        }
        crate::pagination::sort_newest_first(&mut entries);
        entries.dedup_by(|a, b| a.0 == b.0);
        let page = entries
            .into_iter()
            .skip(paging.offset)
            .take(paging.limit)
            .map(|(id, _)| id)
            .collect();
        (count, page)
    };
    let found = load(redis, &timeline, page).await?;
    Ok(MultipleArticlesResponse {
        articles: articles(redis, Some(reader), found, false).await?,
        articles_count: count,
    })
}
