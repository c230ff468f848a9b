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
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
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
        })
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
        ]
    }
}

/// A page of posts, newest first.
pub type PostPage = Page<Post>;

impl Paged for Post {
    const PAGE_NAME: &'static str = "PostPage";
    const PAGE_DESCRIPTION: &'static str = "A page of posts, newest first.";
}

/// Body of `POST /v1/posts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    /// One line, 1 to 200 characters.
    #[schema(example = "Hello, Redis")]
    pub title: String,
    /// 1 to 10,000 characters.
    #[schema(example = "Sorted sets make timelines easy.")]
    pub content: String,
}

impl NewPost {
    pub fn validate(&self) -> AppResult<()> {
        Validator::new()
            .check("title", validate::required_text(&self.title, MAX_TITLE))
            .check("content", non_empty_text(&self.content, MAX_CONTENT))
            .finish()
    }
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
