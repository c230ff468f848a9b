//! Post operations that span areas: publishing (post, indexes, fan-out, activity),
//! deleting (indexes, timelines, post), likes and comments (with activity), list pages
//! (index, then every post in one batch), and keeping the copied author name and
//! avatar up to date.

use super::model::{
    Comment, CommentPage, NewComment, NewPost, Post, PostEdit, PostPage, dedup_tags,
};
use super::repo;
use crate::error::{AppError, AppResult};
use crate::pagination::{self, ScoreCursor};
use crate::redis::Redis;
use crate::social::feeds::model::ActivityKind;
use crate::social::feeds::repo as feeds;
use crate::social::follows::repo as follows;
use crate::social::{found_and_gone, json_page};
use crate::time;

/// Posts re-written per batch when an author's name or avatar changes: each batch is
/// one pipeline, so a prolific author never holds Redis for long.
pub const PROPAGATION_BATCH: usize = 200;

/// Publishes a post by `author`. `fan_out_max` is `AGORA_FANOUT_MAX_FOLLOWERS`.
pub async fn create(
    redis: &Redis,
    fan_out_max: u64,
    author: &str,
    input: NewPost,
) -> AppResult<Post> {
    input.validate()?;
    let (profile, followers) = tokio::try_join!(
        repo::author_profile(redis, author),
        follows::fan_out_targets(redis, author, fan_out_max)
    )?;
    let (author_name, author_avatar) = profile.ok_or(AppError::NotFound("user"))?;
    let (id, at_ms) = tokio::try_join!(repo::next_id(redis), repo::next_instant(redis))?;
    let slug = claim_slug_for(redis, &input.title, &id).await?;
    let created_at = time::rfc3339_from_ms(at_ms);
    let post = Post {
        id,
        title: input.title,
        content: input.content,
        author_id: author.to_string(),
        author_name,
        author_avatar,
        updated_at: created_at.clone(),
        created_at,
        likes: 0,
        comments_count: 0,
        description: input.description.unwrap_or_default(),
        tags: dedup_tags(input.tags.unwrap_or_default()),
        slug,
    };
    repo::store(redis, &post).await?;
    publish(redis, &post, at_ms, followers).await?;
    Ok(post)
}

/// The URL name of a title: lowercase ASCII letters and digits, runs of anything else
/// as one `-`, at most 80 characters; `article` when nothing is left. A result that
/// looks like a post id (`p123`, the slug of posts made without one) gets `-a`.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 80 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "article" } else { slug };
    if looks_like_post_id(slug) {
        format!("{slug}-a")
    } else {
        slug.to_string()
    }
}

fn looks_like_post_id(value: &str) -> bool {
    value
        .strip_prefix('p')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Claims the slug of `title` for post `id`: the plain slug when free, else the slug
/// with the post number appended (unique, as post numbers are).
async fn claim_slug_for(redis: &Redis, title: &str, id: &str) -> AppResult<String> {
    let base = slugify(title);
    if repo::claim_slug(redis, &base, id).await? {
        return Ok(base);
    }
    let numbered = format!("{base}-{}", id.trim_start_matches('p'));
    if repo::claim_slug(redis, &numbered, id).await? {
        return Ok(numbered);
    }
    Err(AppError::Conflict {
        kind: "slug-taken",
        detail: format!("The slug {numbered:?} is taken."),
    })
}

/// The post a slug names: the claimed slug, else a post made without a slug (seeded)
/// whose id is the slug. `None` when neither exists.
pub async fn by_slug(redis: &Redis, slug: &str) -> AppResult<Option<Post>> {
    if let Some(id) = repo::resolve_slug(redis, slug).await? {
        return repo::get(redis, &id).await;
    }
    if looks_like_post_id(slug) {
        return Ok(repo::get(redis, slug).await?.filter(|p| p.slug == p.id));
    }
    Ok(None)
}

/// Edits a post if `may_edit(author)` allows it (403 otherwise; 404 when there is no
/// such post): the given fields and `updated_at`; a new title takes a new slug (the
/// old one is released); changed tags move between tag indexes.
pub async fn update(
    redis: &Redis,
    post_id: &str,
    edit: PostEdit,
    may_edit: impl FnOnce(&str) -> bool,
) -> AppResult<Post> {
    edit.validate()?;
    let mut post = repo::get(redis, post_id)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    if !may_edit(&post.author_id) {
        return Err(AppError::Forbidden);
    }
    let old_slug = post.slug.clone();
    let old_tags = post.tags.clone();
    if let Some(title) = edit.title
        && title != post.title
    {
        // A title that gives the same slug (a change of case or punctuation) keeps it.
        if slugify(&title) != post.slug {
            post.slug = claim_slug_for(redis, &title, &post.id).await?;
        }
        post.title = title;
    }
    if let Some(content) = edit.content {
        post.content = content;
    }
    if let Some(description) = edit.description {
        post.description = description;
    }
    if let Some(tags) = edit.tags {
        post.tags = dedup_tags(tags);
    }
    let mut now = time::now();
    // Strictly after the last change, whatever the clock does.
    if time::rfc3339(now) <= post.updated_at {
        now += std::time::Duration::from_millis(1);
    }
    post.updated_at = time::rfc3339(now);
    let fields = vec![
        ("title", post.title.clone()),
        ("content", post.content.clone()),
        ("description", post.description.clone()),
        ("tags", super::model::tags_json(&post.tags)),
        ("slug", post.slug.clone()),
        ("updated_at", post.updated_at.clone()),
    ];
    if !repo::update_fields(redis, post_id, &fields).await? {
        return Err(AppError::NotFound("post"));
    }
    if old_slug != post.slug && old_slug != post.id {
        repo::release_slug(redis, &old_slug, post_id).await?;
    }
    let removed: Vec<String> = old_tags
        .iter()
        .filter(|t| !post.tags.contains(t))
        .cloned()
        .collect();
    let added: Vec<String> = post
        .tags
        .iter()
        .filter(|t| !old_tags.contains(t))
        .cloned()
        .collect();
    repo::unindex_tags(redis, post_id, &removed).await?;
    repo::index_tags(redis, post_id, &added, post.created_ms()).await?;
    Ok(post)
}

/// Everything after the post hash is written, each step idempotent (the seed runs it
/// again with the same ids and times): a celebrity is marked as such *before* the post
/// is indexed, so no reader ever misses a post that was not fanned out; the author's
/// index (refused if the author was deleted meanwhile: the post is then removed and
/// the answer is 404); `posts:recent`; the author's and followers' timelines
/// (`followers` is `None` for a celebrity); the `post` activity.
pub async fn publish(
    redis: &Redis,
    post: &Post,
    at_ms: i64,
    followers: Option<Vec<String>>,
) -> AppResult<()> {
    let author = &post.author_id;
    if followers.is_none() {
        feeds::add_celebrity(redis, author).await?;
    }
    if !repo::index_for_author(redis, author, &post.id, at_ms).await? {
        repo::delete(redis, std::slice::from_ref(&post.id)).await?;
        return Err(AppError::NotFound("user"));
    }
    repo::index_recent(redis, &post.id, at_ms).await?;
    repo::index_tags(redis, &post.id, &post.tags, at_ms).await?;
    let mut timelines = vec![author.clone()];
    timelines.extend(followers.unwrap_or_default());
    feeds::push_to_timelines(redis, &timelines, &[(post.id.clone(), at_ms)]).await?;
    feeds::record_activity(redis, author, ActivityKind::Post, &post.id, at_ms).await
}

/// Deletes a post if `may_delete(author)` allows it (the HTTP layer passes its
/// owner-or-admin rule; 403 otherwise): out of `posts:recent`, the author's index
/// and the timelines it was pushed to, then the post with its likes and comments. A
/// celebrity's followers are not visited: their timelines never got the post (or got
/// it before the author crossed the threshold, and readers skip it once it is gone).
pub async fn delete(
    redis: &Redis,
    fan_out_max: u64,
    post_id: &str,
    may_delete: impl FnOnce(&str) -> bool,
) -> AppResult<()> {
    let post = repo::get(redis, post_id)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    let author = post.author_id.clone();
    if !may_delete(&author) {
        return Err(AppError::Forbidden);
    }
    let ids = [post_id.to_string()];
    let followers = follows::fan_out_targets(redis, &author, fan_out_max).await?;
    repo::unindex(redis, &author, &ids).await?;
    unindex_article(redis, &post).await?;
    let mut timelines = vec![author];
    timelines.extend(followers.unwrap_or_default());
    feeds::remove_from_timelines(redis, &timelines, &ids).await?;
    repo::delete(redis, &ids).await
}

/// Takes a post out of its tag indexes and its likers' favorites, and releases its
/// slug (deleting it): the exact counts of those indexes never include a gone post.
async fn unindex_article(redis: &Redis, post: &Post) -> AppResult<()> {
    repo::unindex_tags(redis, &post.id, &post.tags).await?;
    let likers = repo::likers(redis, &post.id).await?;
    repo::unfavorite_all(redis, &post.id, &likers).await?;
    if post.slug != post.id {
        repo::release_slug(redis, &post.slug, &post.id).await?;
    }
    Ok(())
}

/// Likes or unlikes a post for `user_id` (idempotent); a new like is recorded in the
/// user's activity. The user's favorites index follows the likers set (after it: a
/// crash in between is repaired by liking or unliking again).
pub async fn set_like(redis: &Redis, post_id: &str, user_id: &str, like: bool) -> AppResult<()> {
    let (changed, _likes) = repo::set_like(redis, post_id, user_id, like)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    let created_ms = match repo::get(redis, post_id).await? {
        Some(post) => post.created_ms(),
        None => 0,
    };
    repo::set_favorite(redis, user_id, post_id, created_ms, like).await?;
    if changed && like {
        let now = time::unix_ms(time::now());
        feeds::record_activity(redis, user_id, ActivityKind::Like, post_id, now).await?;
    }
    Ok(())
}

/// Adds a comment by `author` and records it in their activity.
pub async fn comment(
    redis: &Redis,
    post_id: &str,
    author: &str,
    input: NewComment,
) -> AppResult<Comment> {
    input.validate()?;
    let now = time::now();
    let at_ms = time::unix_ms(now);
    let number = repo::next_comment_number(redis).await?;
    let comment = Comment {
        id: format!("c{number}"),
        post_id: post_id.to_string(),
        author_id: author.to_string(),
        content: input.content,
        created_at: time::rfc3339(now),
    };
    repo::add_comment(redis, &comment, at_ms)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    feeds::record_activity(redis, author, ActivityKind::Comment, post_id, at_ms).await?;
    if let Some(post_author) = repo::author_of(redis, post_id).await?
        && post_author != author
    {
        let data = serde_json::json!({
            "post_id": post_id,
            "comment_id": comment.id,
            "author_id": author,
        });
        crate::notifications::notify(redis, &post_author, "comment", data).await;
    }
    Ok(comment)
}

/// Deletes a comment if `user_id` wrote it or `any` (owner-or-admin decided by the
/// caller's role): 404 `post` / `comment`, 403 otherwise.
pub async fn delete_comment(
    redis: &Redis,
    post_id: &str,
    comment_id: &str,
    user_id: &str,
    any: bool,
) -> AppResult<()> {
    match repo::delete_comment(redis, post_id, comment_id, user_id, any).await? {
        repo::CommentRemoval::Done => Ok(()),
        repo::CommentRemoval::NoPost => Err(AppError::NotFound("post")),
        repo::CommentRemoval::NoComment => Err(AppError::NotFound("comment")),
        repo::CommentRemoval::Forbidden => Err(AppError::Forbidden),
    }
}

/// A page of a post's comments, newest first; 404 when there is no such post.
pub async fn comments(
    redis: &Redis,
    post_id: &str,
    limit: usize,
    after: Option<&ScoreCursor>,
) -> AppResult<CommentPage> {
    let window = repo::comments_window(redis, post_id, after, limit)
        .await?
        .ok_or(AppError::NotFound("post"))?;
    let (items, next_cursor) = json_page(window, limit);
    Ok(CommentPage { items, next_cursor })
}

/// A page of every author's recent posts, newest first.
pub async fn recent(
    redis: &Redis,
    limit: usize,
    after: Option<&ScoreCursor>,
) -> AppResult<PostPage> {
    let window = repo::recent_window(redis, after, limit).await?;
    let (page, gone) = load_page(redis, window.entries, limit).await?;
    repo::prune_recent(redis, &gone).await?;
    Ok(page)
}

/// A page of one author's posts, newest first; 404 when there is no such user.
pub async fn by_author(
    redis: &Redis,
    author: &str,
    limit: usize,
    after: Option<&ScoreCursor>,
) -> AppResult<PostPage> {
    let window = repo::author_window(redis, author, after, limit)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let (page, gone) = load_page(redis, window.entries, limit).await?;
    repo::prune_author(redis, author, &gone).await?;
    Ok(page)
}

/// The page of `limit` out of index `entries` (newest first), with every post fetched
/// in one batch, and the ids whose post is gone (for the caller to prune from its
/// index). The cursor is the last entry considered, so skipping a gone post never
/// makes the next page repeat or lose one.
pub async fn load_page(
    redis: &Redis,
    entries: Vec<(String, i64)>,
    limit: usize,
) -> AppResult<(PostPage, Vec<String>)> {
    let (entries, next_cursor) = pagination::split_page(entries, limit, false);
    let ids: Vec<String> = entries.into_iter().map(|(id, _)| id).collect();
    let found = repo::get_many(redis, &ids).await?;
    let (live, gone) = found_and_gone(ids, found);
    let items = live.into_iter().map(|(_, post)| post).collect();
    Ok((PostPage { items, next_cursor }, gone))
}

/// Copies the author's current `name` and `avatar` into every one of their posts, in
/// batches of [`PROPAGATION_BATCH`] (newest first, by a score cursor, so posts added
/// meanwhile, which already carry the new values, shift nothing). Posts deleted
/// meanwhile are not re-created. Running it again is harmless, so a crash half-way is
/// repaired by repeating the change.
pub async fn propagate_author(
    redis: &Redis,
    author: &str,
    name: &str,
    avatar: Option<&str>,
) -> AppResult<()> {
    let mut after: Option<ScoreCursor> = None;
    loop {
        let Some(window) =
            repo::author_window(redis, author, after.as_ref(), PROPAGATION_BATCH).await?
        else {
            return Ok(());
        };
        let mut entries = window.entries;
        let more = entries.len() > PROPAGATION_BATCH;
        entries.truncate(PROPAGATION_BATCH);
        let ids: Vec<String> = entries.iter().map(|(id, _)| id.clone()).collect();
        repo::set_author(redis, &ids, name, avatar).await?;
        match entries.pop() {
            Some((id, score)) if more => after = Some(ScoreCursor::new(score, id)),
            _ => return Ok(()),
        }
    }
}

/// Deletes every post of `author` (user deletion), oldest first in chunks: the posts
/// with their likes and comments, then their index entries. Timelines they were
/// pushed to are not visited; readers skip and remove the ids.
pub async fn remove_author_posts(redis: &Redis, author: &str) -> AppResult<()> {
    loop {
        let ids = repo::oldest_of_author(redis, author, PROPAGATION_BATCH).await?;
        if ids.is_empty() {
            return Ok(());
        }
        for post in repo::get_many(redis, &ids).await?.into_iter().flatten() {
            unindex_article(redis, &post).await?;
        }
        repo::delete(redis, &ids).await?;
        repo::unindex(redis, author, &ids).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_are_lowercase_ascii_words_joined_by_dashes() {
        assert_eq!(
            slugify("How to train your dragon"),
            "how-to-train-your-dragon"
        );
        assert_eq!(slugify("  Redis & Rust!  "), "redis-rust");
        assert_eq!(slugify("Über-cool: é"), "ber-cool");
        assert_eq!(slugify("!!!"), "article");
        assert_eq!(slugify(""), "article");
        assert_eq!(slugify(&"a".repeat(300)).len(), 80);
    }

    #[test]
    fn a_slug_never_looks_like_a_post_id() {
        // Posts made without a slug (seeded) answer to their id.
        assert_eq!(slugify("P12"), "p12-a");
        assert_eq!(slugify("p"), "p");
        assert_eq!(slugify("p1x"), "p1x");
    }
}
