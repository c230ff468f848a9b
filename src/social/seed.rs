//! Demo tags, follows, posts, likes and comments for the seed users, from
//! `migrations-free-seed/social.json`.
//!
//! Loaded through the same repository steps the API uses, with the ids and times from
//! the file instead of new ones, so that every step is idempotent: tags and follows
//! are the same members of the same sets with the same scores (and the same activity
//! JSON at the same time), and a post that exists is left exactly as it is, with its
//! likes and comments, as a seeded user is. Running the seed twice therefore leaves
//! Redis exactly as once (the test compares DUMPs of every key).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::redis::Redis;
use crate::social::feeds::model::ActivityKind;
use crate::social::feeds::repo as feeds;
use crate::social::follows::repo::{self as follows, Side};
use crate::social::posts::model::{Comment, NewComment, NewPost, Post};
use crate::social::posts::{repo as posts, service as post_service};
use crate::social::tags::{model::parse_tag, repo as tags};
use crate::validate;

/// The seed authors have a handful of followers: all of them are fanned out to.
const SEED_FAN_OUT_MAX: u64 = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SocialSeed {
    /// User id → tags.
    tags: BTreeMap<String, Vec<String>>,
    follows: Vec<SeedFollow>,
    posts: Vec<SeedPost>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFollow {
    follower: String,
    followed: String,
    at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedPost {
    id: String,
    author: String,
    created_at: String,
    title: String,
    content: String,
    likes: Vec<SeedLike>,
    comments: Vec<SeedComment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedLike {
    user: String,
    at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedComment {
    id: String,
    author: String,
    content: String,
    created_at: String,
}

/// What the social seed holds (the same on every run: it is idempotent).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SocialSeedReport {
    pub tags: usize,
    pub follows: usize,
    pub posts: usize,
}

/// Unix ms and normalized RFC 3339 text of a seed timestamp.
fn instant(text: &str) -> anyhow::Result<(i64, String)> {
    let t = OffsetDateTime::parse(text, &Rfc3339).with_context(|| format!("timestamp {text}"))?;
    Ok((crate::time::unix_ms(t), crate::time::rfc3339(t)))
}

fn check_id(what: &str, id: &str) -> anyhow::Result<()> {
    validate::id(id).map_err(|e| anyhow::anyhow!("{what} {id:?}: {e}"))
}

/// Loads `dir/social.json` (after the users it refers to).
pub async fn load(redis: &Redis, dir: &Path) -> anyhow::Result<SocialSeedReport> {
    let path = dir.join("social.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let seed: SocialSeed =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let context = |e: crate::error::AppError| anyhow::anyhow!("{}: {e}", path.display());
    let mut report = SocialSeedReport::default();

    for (user, user_tags) in &seed.tags {
        check_id("user", user)?;
        for tag in user_tags {
            let tag = parse_tag("tag", tag).map_err(context)?;
            anyhow::ensure!(
                tags::add(redis, user, &tag).await.map_err(context)?,
                "tag {tag} of unknown user {user}"
            );
            report.tags += 1;
        }
    }

    for follow in &seed.follows {
        check_id("user", &follow.follower)?;
        check_id("user", &follow.followed)?;
        let (at_ms, _) = instant(&follow.at)?;
        for (owner, side, member) in [
            (&follow.follower, Side::Following, &follow.followed),
            (&follow.followed, Side::Followers, &follow.follower),
        ] {
            follows::add(redis, owner, side, member, at_ms)
                .await
                .map_err(context)?
                .with_context(|| format!("follow of unknown user {owner}"))?;
        }
        feeds::record_activity(
            redis,
            &follow.follower,
            ActivityKind::Follow,
            &follow.followed,
            at_ms,
        )
        .await
        .map_err(context)?;
        report.follows += 1;
    }

    let mut last_number = 0;
    for seed_post in &seed.posts {
        load_post(redis, seed_post).await?;
        if let Some(n) = seed_post.id.strip_prefix('p').and_then(|n| n.parse().ok()) {
            last_number = last_number.max(n);
        }
        report.posts += 1;
    }
    posts::reserve_ids_through(redis, last_number)
        .await
        .map_err(context)?;
    Ok(report)
}

async fn load_post(redis: &Redis, seed: &SeedPost) -> anyhow::Result<()> {
    let context = |e: crate::error::AppError| anyhow::anyhow!("seed post {}: {e}", seed.id);
    check_id("post", &seed.id)?;
    check_id("user", &seed.author)?;
    NewPost {
        title: seed.title.clone(),
        content: seed.content.clone(),
        ..NewPost::default()
    }
    .validate()
    .map_err(context)?;
    let (at_ms, created_at) = instant(&seed.created_at)?;
    if posts::exists(redis, &seed.id).await.map_err(context)? {
        // Left exactly as it is (its likes and comments too), like a seeded user.
        return Ok(());
    }
    let (author_name, author_avatar) = posts::author_profile(redis, &seed.author)
        .await
        .map_err(context)?
        .with_context(|| format!("post {} by unknown user {}", seed.id, seed.author))?;
    let post = Post {
        id: seed.id.clone(),
        title: seed.title.clone(),
        content: seed.content.clone(),
        author_id: seed.author.clone(),
        author_name,
        author_avatar,
        created_at,
        likes: 0,
        comments_count: 0,
        ..Post::default()
    };
    posts::store(redis, &post).await.map_err(context)?;
    let followers = follows::fan_out_targets(redis, &seed.author, SEED_FAN_OUT_MAX)
        .await
        .map_err(context)?;
    post_service::publish(redis, &post, at_ms, followers)
        .await
        .map_err(context)?;

    for like in &seed.likes {
        check_id("user", &like.user)?;
        let (at_ms, _) = instant(&like.at)?;
        posts::set_like(redis, &post.id, &like.user, true)
            .await
            .map_err(context)?;
        feeds::record_activity(redis, &like.user, ActivityKind::Like, &post.id, at_ms)
            .await
            .map_err(context)?;
    }
    for seed_comment in &seed.comments {
        check_id("user", &seed_comment.author)?;
        NewComment {
            content: seed_comment.content.clone(),
        }
        .validate()
        .map_err(context)?;
        let (at_ms, created_at) = instant(&seed_comment.created_at)?;
        let comment = Comment {
            id: seed_comment.id.clone(),
            post_id: post.id.clone(),
            author_id: seed_comment.author.clone(),
            content: seed_comment.content.clone(),
            created_at,
        };
        posts::add_comment(redis, &comment, at_ms)
            .await
            .map_err(context)?;
        feeds::record_activity(
            redis,
            &comment.author_id,
            ActivityKind::Comment,
            &post.id,
            at_ms,
        )
        .await
        .map_err(context)?;
    }
    Ok(())
}
