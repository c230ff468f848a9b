//! RealWorld errors and authentication.
//!
//! The spec's suites assert errors as `{"errors": {"<field>": ["<message>"]}}` with
//! fixed messages and status codes, where `/v1` answers problem+json. [`ApiError`]
//! is that shape; [`ApiError::from_app`] translates the domain's [`AppError`]
//! (the same services answer both surfaces), naming the spec's subject (`article`,
//! `profile`, `comment`) for a 404 or 403.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::extract::{AuthUser, session_token};
use crate::state::AppState;

/// `{"errors": {"<field>": ["<message>"]}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenericErrorModel {
    pub errors: BTreeMap<String, Vec<String>>,
}

/// A RealWorld error: a status and messages by field.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: BTreeMap<String, Vec<String>>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The spec's message for a missing or empty required field.
pub const BLANK: &str = "can't be blank";

impl ApiError {
    pub fn new(status: StatusCode, field: &str, message: &str) -> ApiError {
        ApiError {
            status,
            errors: BTreeMap::from([(field.to_string(), vec![message.to_string()])]),
        }
    }

    pub fn not_found(subject: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, subject, "not found")
    }

    pub fn forbidden(subject: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, subject, "forbidden")
    }

    /// 422 naming every field in `blank`; `None` when it is empty.
    pub fn blank(blank: &[&str]) -> Option<ApiError> {
        (!blank.is_empty()).then(|| ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: blank
                .iter()
                .map(|f| (f.to_string(), vec![BLANK.to_string()]))
                .collect(),
        })
    }

    /// The spec's form of a domain error. `subject` names the thing a 403 refers to
    /// (`article` or `comment`); a 404 names what was missing (a post is an
    /// `article`, a user a `profile`). Domain field names become the spec's (`content`
    /// is `body`, `tags` is `tagList`, `avatar` is `image`).
    pub fn from_app(err: AppError, subject: &str) -> ApiError {
        let status = err.status();
        match err {
            AppError::Validation(fields) => ApiError {
                status,
                errors: fields
                    .into_iter()
                    .map(|(field, message)| (spec_field(&field).to_string(), vec![message]))
                    .collect(),
            },
            AppError::NotFound(what) => ApiError::not_found(match what {
                "post" => "article",
                "user" => "profile",
                other => other,
            }),
            AppError::Forbidden | AppError::CrossSiteRequest => ApiError::forbidden(subject),
            AppError::Unauthorized(_) => ApiError::new(status, "token", "invalid"),
            AppError::Conflict { kind, detail } => match kind {
                "username-taken" => ApiError::new(status, "username", "has already been taken"),
                "email-taken" => ApiError::new(status, "email", "has already been taken"),
                _ => ApiError::new(status, kind, &detail),
            },
            AppError::RateLimited { detail, .. } => ApiError::new(status, "rate", &detail),
            AppError::Internal(err) => {
                tracing::error!(error = %err, "internal error");
                ApiError::new(status, "server", "internal error")
            }
            AppError::Unavailable(_) | AppError::OutOfMemory(_) | AppError::Timeout => {
                ApiError::new(status, "server", "temporarily unavailable; retry")
            }
            other => ApiError::new(status, "request", &other.to_string()),
        }
    }
}

fn spec_field(field: &str) -> &str {
    match field {
        "content" => "body",
        "tags" => "tagList",
        "avatar" => "image",
        "target" => "profile",
        other => other,
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> ApiError {
        ApiError::from_app(err, "request")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(GenericErrorModel {
                errors: self.errors,
            }),
        )
            .into_response()
    }
}

/// A JSON body, read whatever the `Content-Type` (frontends and the suites differ);
/// anything that does not parse is a 422 naming `body`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<ApiJson<T>> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body", "is too large"))?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|err| {
            let message = err.to_string();
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "body", &message)
        })
    }
}

/// The signed-in reader: `Authorization: Token <token>` (or `Bearer`, or the session
/// cookie). No credentials: 401 `token: is missing`; credentials that do not work:
/// 401 `token: invalid`.
pub struct Reader {
    pub auth: AuthUser,
    /// The raw token, echoed in the `user` answers as the spec wants.
    pub token: String,
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Reader> {
        let token = session_token(parts)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "token", "is missing"))?;
        let auth = <AuthUser as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map_err(|err| ApiError::from_app(err, "token"))?;
        Ok(Reader { auth, token })
    }
}

impl OptionalFromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Option<Reader>> {
        if session_token(parts).is_none() {
            return Ok(None);
        }
        <Reader as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}
