//! The RealWorld request and response bodies (spec v2.0.0), and how Agora's users,
//! posts and comments map to them.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::social::posts::model::{Comment as PostComment, Post};
use crate::users::model::User as AgoraUser;

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Body of `POST /api/users`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUserRequest {
    pub user: NewUser,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    pub username: Option<String>,
    pub email: Option<String>,
    #[schema(format = Password)]
    pub password: Option<String>,
}

/// Body of `POST /api/users/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginUserRequest {
    pub user: LoginUser,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginUser {
    pub email: Option<String>,
    #[schema(format = Password)]
    pub password: Option<String>,
}

/// Body of `PUT /api/user`: only the given fields change; `bio` or `image` null or
/// empty removes it; `email`, `username`, `password` may not be null or empty.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    pub user: UpdateUser,
}

/// Named `RealWorldUpdateUser` in the document: `/v1` has an `UpdateUser` of its own.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = RealWorldUpdateUser)]
pub struct UpdateUser {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub username: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub image: Option<Option<String>>,
}

/// `{"user": …}`: the signed-in user with their token.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub user: UserBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub email: String,
    /// The session token: send `Authorization: Token <token>`.
    pub token: String,
    pub username: String,
    pub bio: Option<String>,
    pub image: Option<String>,
}

impl UserBody {
    pub fn new(user: AgoraUser, token: String) -> UserBody {
        UserBody {
            email: user.email.unwrap_or_default(),
            token,
            username: user.username.unwrap_or_default(),
            bio: user.bio.filter(|b| !b.is_empty()),
            image: user.avatar.filter(|a| !a.is_empty()),
        }
    }
}

/// `{"profile": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    pub profile: Profile,
}

/// A user as others see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Profile {
    pub username: String,
    pub bio: Option<String>,
    pub image: Option<String>,
    /// Whether the reader follows them (false without a reader).
    pub following: bool,
}

impl Profile {
    pub fn new(user: &AgoraUser, following: bool) -> Profile {
        Profile {
            username: user.username.clone().unwrap_or_default(),
            bio: user.bio.clone().filter(|b| !b.is_empty()),
            image: user.avatar.clone().filter(|a| !a.is_empty()),
            following,
        }
    }
}

/// An article: a post in the spec's shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// Absent in lists (the spec leaves bodies to the single-article answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub tag_list: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub favorited: bool,
    pub favorites_count: u64,
    pub author: Profile,
}

impl Article {
    pub fn new(post: Post, with_body: bool, favorited: bool, author: Profile) -> Article {
        Article {
            slug: post.slug,
            title: post.title,
            description: post.description,
            body: with_body.then_some(post.content),
            tag_list: post.tags,
            created_at: post.created_at,
            updated_at: post.updated_at,
            favorited,
            favorites_count: post.likes,
            author,
        }
    }
}

/// `{"article": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SingleArticleResponse {
    pub article: Article,
}

/// `{"articles": […], "articlesCount": n}`: a page and the exact number of matches.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultipleArticlesResponse {
    pub articles: Vec<Article>,
    pub articles_count: u64,
}

/// Body of `POST /api/articles`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewArticleRequest {
    pub article: NewArticle,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewArticle {
    pub title: Option<String>,
    pub description: Option<String>,
    pub body: Option<String>,
    pub tag_list: Option<Vec<String>>,
}

/// Body of `PUT /api/articles/{slug}`: only the given fields change; none may be null
/// (an empty `tagList` removes every tag).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateArticleRequest {
    pub article: UpdateArticle,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateArticle {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub body: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub tag_list: Option<Option<Vec<String>>>,
}

/// `GET /api/articles` filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArticlesQuery {
    /// Only articles with this tag.
    pub tag: Option<String>,
    /// Only articles by this username.
    pub author: Option<String>,
    /// Only articles this username favorited.
    pub favorited: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// Articles skipped (default 0).
    #[param(value_type = Option<u32>)]
    pub offset: Option<String>,
}

/// `GET /api/articles/feed` paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// Articles skipped (default 0).
    #[param(value_type = Option<u32>)]
    pub offset: Option<String>,
}

/// Body of `POST /api/articles/{slug}/comments`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCommentRequest {
    pub comment: NewComment,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewComment {
    pub body: Option<String>,
}

/// A comment in the spec's shape: its id is the number of Agora's `c<n>`. Named
/// `RealWorldComment` in the document: `/v1` has a `Comment` of its own.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RealWorldComment)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: u64,
    pub created_at: String,
    pub updated_at: String,
    pub body: String,
    pub author: Profile,
}

impl Comment {
    /// `None` for a comment whose id is not `c<n>` (written before numbered ids).
    pub fn new(comment: PostComment, author: Profile) -> Option<Comment> {
        let id = comment.id.strip_prefix('c')?.parse().ok()?;
        Some(Comment {
            id,
            updated_at: comment.created_at.clone(),
            created_at: comment.created_at,
            body: comment.content,
            author,
        })
    }
}

/// `{"comment": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SingleCommentResponse {
    pub comment: Comment,
}

/// `{"comments": […]}`, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MultipleCommentsResponse {
    pub comments: Vec<Comment>,
}

/// `{"tags": […]}`, most used first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagsResponse {
    pub tags: Vec<String>,
}
