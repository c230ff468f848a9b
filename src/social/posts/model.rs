//! Post types: what the API accepts and returns, and how a post hash maps to them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::pagination::{Page, Paged};
use crate::validate::{self, Validator};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest post body, in characters.
pub const MAX_CONTENT: usize = 10_000;
/// Longest comment, in characters.
pub const MAX_COMMENT: usize = 2_000;

/// A post as the API returns it, with its author's name and avatar copied in
/// (denormalized, seed 000): a list of posts needs no second lookup of authors.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct Post {
    #[schema(example = "p42")]
    pub id: String,
    pub title: String,
    pub content: String,
    pub author_id: String,
    /// The author's `name` (kept up to date when it changes).
    pub author_name: String,
    /// The author's `avatar` URL, or `null`.
    pub author_avatar: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// How many users like the post (each counted once).
    pub likes: u64,
    pub comments_count: u64,
    /// A one-line summary (RealWorld's article `description`); empty when not given.
    pub description: String,
    /// Tags sorted by name (RealWorld's `tagList`).
    pub tags: Vec<String>,
    /// The post's unique URL name (RealWorld's article `slug`): made from the title
    /// when the post is created; the post id for posts made without one (seeded).
    pub slug: String,
    /// RFC 3339 UTC: the last edit (the creation time until then).
    pub updated_at: String,
}

impl Post {
    /// From HGETALL; `None` when the hash is missing (or not a post).
    pub fn from_hash(hash: &HashMap<String, String>) -> Option<Post> {
        let text = |f: &str| hash.get(f).cloned().unwrap_or_default();
        let count = |f: &str| hash.get(f).and_then(|v| v.parse().ok()).unwrap_or(0);
        Some(Post {
            id: hash.get("id")?.clone(),
            title: text("title"),
            content: text("content"),
            author_id: hash.get("author_id")?.clone(),
            author_name: text("author_name"),
            author_avatar: hash.get("author_avatar").filter(|a| !a.is_empty()).cloned(),
            created_at: text("created_at"),
            likes: count("likes"),
            comments_count: count("comments_count"),
            description: text("description"),
            tags: hash
                .get("tags")
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default(),
            slug: hash
                .get("slug")
                .filter(|s| !s.is_empty())
                .or_else(|| hash.get("id"))?
                .clone(),
            updated_at: hash
                .get("updated_at")
                .filter(|u| !u.is_empty())
                .cloned()
                .unwrap_or_else(|| text("created_at")),
        })
    }

    /// The creation instant in Unix ms, from `created_at`.
    pub fn created_ms(&self) -> i64 {
        time::OffsetDateTime::parse(
            &self.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map(crate::time::unix_ms)
        .unwrap_or(0)
    }

    /// The hash fields of a new post.
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.clone()),
            ("title", self.title.clone()),
            ("content", self.content.clone()),
            ("author_id", self.author_id.clone()),
            ("author_name", self.author_name.clone()),
            (
                "author_avatar",
                self.author_avatar.clone().unwrap_or_default(),
            ),
            ("created_at", self.created_at.clone()),
            ("likes", self.likes.to_string()),
            ("comments_count", self.comments_count.to_string()),
            ("description", self.description.clone()),
            ("tags", tags_json(&self.tags)),
            ("slug", self.slug.clone()),
            ("updated_at", self.updated_at.clone()),
        ]
    }
}

/// The stored form of a tag list (a JSON array keeps the order).
pub fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
}

/// A page of posts, newest first.
pub type PostPage = Page<Post>;

impl Paged for Post {
    const PAGE_NAME: &'static str = "PostPage";
    const PAGE_DESCRIPTION: &'static str = "A page of posts, newest first.";
}

/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 500;
/// Most tags on one post.
pub const MAX_TAGS: usize = 10;

/// Body of `POST /v1/posts`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    /// One line, 1 to 200 characters.
    #[schema(example = "Hello, Redis")]
    pub title: String,
    /// 1 to 10,000 characters.
    #[schema(example = "Sorted sets make timelines easy.")]
    pub content: String,
    /// A one-line summary, up to 500 characters.
    pub description: Option<String>,
    /// Up to 10 tags (1 to 32 of `a-z 0-9 _ - .`), stored sorted by name; repeats
    /// are dropped.
    pub tags: Option<Vec<String>>,
}

impl NewPost {
    pub fn validate(&self) -> AppResult<()> {
        let mut v = Validator::new();
        v.check("title", validate::required_text(&self.title, MAX_TITLE))
            .check("content", non_empty_text(&self.content, MAX_CONTENT));
        if let Some(description) = &self.description {
            v.check("description", validate::text(description, MAX_DESCRIPTION));
        }
        if let Some(tags) = &self.tags {
            v.check("tags", check_tags(tags));
        }
        v.finish()
    }
}

/// The changes of an edit: `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct PostEdit {
    pub title: Option<String>,
    pub content: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl PostEdit {
    pub fn validate(&self) -> AppResult<()> {
        let mut v = Validator::new();
        if let Some(title) = &self.title {
            v.check("title", validate::required_text(title, MAX_TITLE));
        }
        if let Some(content) = &self.content {
            v.check("content", non_empty_text(content, MAX_CONTENT));
        }
        if let Some(description) = &self.description {
            v.check("description", validate::text(description, MAX_DESCRIPTION));
        }
        if let Some(tags) = &self.tags {
            v.check("tags", check_tags(tags));
        }
        v.finish()
    }
}

/// Tags: at most [`MAX_TAGS`], each a valid tag (nothing that could reach a key).
fn check_tags(tags: &[String]) -> Result<(), String> {
    if tags.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    tags.iter().try_for_each(|t| validate::tag(t))
}

/// The tags sorted by name, repeats dropped: the order the RealWorld suites assert
/// (the Postman collection reads back `["training", "dragons"]` as `["dragons",
/// "training"]`), so one stored order serves both surfaces.
pub fn dedup_tags(mut tags: Vec<String>) -> Vec<String> {
    tags.sort();
    tags.dedup();
    tags
}

fn non_empty_text(value: &str, max_chars: usize) -> Result<(), String> {
    validate::required_multi_line(value, max_chars)
}

/// Body of `POST /v1/posts/{id}/comments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1 to 2,000 characters.
    #[schema(example = "Nice one!")]
    pub content: String,
}

impl NewComment {
    pub fn validate(&self) -> AppResult<()> {
        Validator::new()
            .check("content", non_empty_text(&self.content, MAX_COMMENT))
            .finish()
    }
}

/// A comment; stored as this JSON in the post's comments sorted set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Comment {
    #[schema(example = "c1f9a07b2e4d6")]
    pub id: String,
    pub post_id: String,
    pub author_id: String,
    pub content: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// A page of comments, newest first.
pub type CommentPage = Page<Comment>;

impl Paged for Comment {
    const PAGE_NAME: &'static str = "CommentPage";
    const PAGE_DESCRIPTION: &'static str = "A page of comments, newest first.";
}
