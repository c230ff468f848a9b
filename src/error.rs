//! One error type for the whole API, answered as RFC 9457 `application/problem+json`.
//!
//! Handlers return `Result<_, AppError>`; each variant maps to one status code and a
//! stable `type` URI that clients can match on. Causes a client cannot act on (a bug,
//! an unexpected Redis reply) become an opaque 500 whose detail is logged inside the
//! request's span, never sent. Redis being down or slow is not a bug: it is a 503 with
//! `Retry-After`, and the connection heals by itself when Redis returns.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder, ResponsesBuilder,
};

/// Seconds a client should wait before retrying when Redis is unavailable.
const RETRY_AFTER_SECS: u32 = 1;

/// The problem+json body (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "Invalid input",
    "status": 422,
    "detail": "The request has invalid fields.",
    "errors": {"username": "must be 3 to 32 characters: letters, digits, _ - ."}
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem; stable, for clients to match on.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short human summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// For validation problems: field name → what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 422: one or more fields are invalid (field → message).
    #[error("invalid input")]
    Validation(BTreeMap<String, String>),
    /// 400: the request could not be read (malformed JSON, wrong content type).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: no valid session, or wrong credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403: authenticated, but not allowed to do this.
    #[error("forbidden")]
    Forbidden,
    /// 403: a cookie-authenticated request that changes state came from another origin
    /// (CSRF defence; Bearer-authenticated requests are never refused this way).
    #[error("cross-site request refused")]
    CrossSiteRequest,
    /// 404: the named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists, the method does not (the `Allow` header lists those that do).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state (`kind` is the problem slug).
    #[error("conflict: {detail}")]
    Conflict { kind: &'static str, detail: String },
    /// 415: the body is not JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 413: the body is larger than the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 429: over the API rate limit or an hourly quota.
    #[error("rate limited: {detail}")]
    RateLimited {
        retry_after_secs: u64,
        detail: String,
    },
    /// 503: Redis is down, failing over or too slow; the client should retry.
    #[error("redis unavailable: {0}")]
    Unavailable(String),
    /// 503: Redis is at `maxmemory` and refuses writes (`noeviction`); reads still work.
    /// A distinct problem type, so operators and clients can tell it from an outage.
    #[error("redis out of memory: {0}")]
    OutOfMemory(String),
    /// 503: the request took longer than the server's request timeout.
    #[error("request timed out")]
    Timeout,
    /// 500: anything else; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 422 for a single field.
    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Validation(BTreeMap::from([(field.to_string(), message.into())]))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::CrossSiteRequest => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::OutOfMemory(_) | AppError::Timeout => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(&self) -> Problem {
        let (kind, title, detail) = match self {
            AppError::Validation(_) => (
                "validation",
                "Invalid input",
                "The request has invalid fields.".to_string(),
            ),
            AppError::BadRequest(detail) => ("bad-request", "Bad request", detail.clone()),
            AppError::Unauthorized(detail) => {
                ("unauthorized", "Unauthorized", (*detail).to_string())
            }
            AppError::Forbidden => (
                "forbidden",
                "Forbidden",
                "Only the owner or an admin may do this.".to_string(),
            ),
            AppError::CrossSiteRequest => (
                "cross-site-request",
                "Cross-site request refused",
                "A request authenticated by the session cookie may change state only from \
                 the API's own origin (or one in AGORA_ALLOWED_ORIGINS); send \
                 Authorization: Bearer <token> instead."
                    .to_string(),
            ),
            AppError::NotFound(what) => ("not-found", "Not found", format!("{what} not found.")),
            AppError::MethodNotAllowed => (
                "method-not-allowed",
                "Method not allowed",
                "This path does not take this method; the Allow header lists those it takes."
                    .to_string(),
            ),
            AppError::Conflict { kind, detail } => (*kind, "Conflict", detail.clone()),
            AppError::UnsupportedMediaType => (
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as JSON with Content-Type: application/json.".to_string(),
            ),
            AppError::PayloadTooLarge => (
                "payload-too-large",
                "Payload too large",
                "The request body is larger than the server accepts.".to_string(),
            ),
            AppError::RateLimited { detail, .. } => (
                "rate-limited",
                "Too many requests",
                format!("{detail} Retry after the time in Retry-After."),
            ),
            AppError::Unavailable(_) => (
                "unavailable",
                "Service unavailable",
                "The datastore is unavailable; retry after the time in Retry-After.".to_string(),
            ),
            AppError::OutOfMemory(_) => (
                "out-of-memory",
                "Service unavailable",
                "The datastore is full and refuses writes (reads still work); retry after the \
                 time in Retry-After."
                    .to_string(),
            ),
            AppError::Timeout => (
                "timeout",
                "Service unavailable",
                "The request took too long; retry after the time in Retry-After.".to_string(),
            ),
            AppError::Internal(_) => (
                "internal",
                "Internal server error",
                "Something went wrong on our side; it has been logged.".to_string(),
            ),
        };
        Problem {
            kind: format!("/problems/{kind}"),
            title: title.to_string(),
            status: self.status().as_u16(),
            detail,
            errors: match self {
                AppError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl From<redis::RedisError> for AppError {
    fn from(err: redis::RedisError) -> AppError {
        if crate::redis::is_out_of_memory(&err) {
            AppError::OutOfMemory(err.to_string())
        } else if crate::redis::is_unavailable(&err) {
            AppError::Unavailable(err.to_string())
        } else {
            AppError::Internal(anyhow::Error::new(err).context("redis"))
        }
    }
}

/// A Redis reply of an unexpected shape is a bug on our side: an opaque 500.
impl From<redis::ParsingError> for AppError {
    fn from(err: redis::ParsingError) -> AppError {
        AppError::Internal(anyhow::anyhow!("unexpected Redis reply: {err}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(err) => tracing::error!(error = ?err, "request failed"),
            AppError::Unavailable(err) => tracing::warn!(error = %err, "redis unavailable"),
            AppError::OutOfMemory(err) => tracing::warn!(error = %err, "redis out of memory"),
            _ => {}
        }
        let status = self.status();
        let mut response = (status, axum::Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        if let AppError::RateLimited {
            retry_after_secs, ..
        } = self
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// The router's fallback: no route has this path.
pub async fn route_not_found() -> AppError {
    AppError::NotFound("route")
}

/// The router's fallback when the path exists but not with this method; axum adds the
/// `Allow` header to what this returns.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// Longest framework error text carried over into a problem's `detail`.
const PLAIN_ERROR_DETAIL_MAX: usize = 512;

/// An error answer that is not problem+json (axum's own rejections are
/// `text/plain`: a path parameter that is not valid UTF-8 after percent-decoding, a
/// query string an extractor refuses, a missing extension; or an empty body) becomes
/// problem+json with the same status and headers (`Allow` included). Client errors
/// keep the framework's short text as `detail`; server errors get the opaque 500 detail
/// (the text is logged).
pub async fn problem_for_plain_errors(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, PLAIN_ERROR_DETAIL_MAX)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("Error");
    let (kind, detail) = match status {
        StatusCode::NOT_FOUND => ("not-found".to_string(), "route not found.".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => {
            let error = AppError::MethodNotAllowed.problem();
            ("method-not-allowed".to_string(), error.detail)
        }
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload-too-large".to_string(),
            AppError::PayloadTooLarge.problem().detail,
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type".to_string(),
            AppError::UnsupportedMediaType.problem().detail,
        ),
        s if s.is_server_error() => {
            tracing::error!(status = s.as_u16(), error = %text, "request failed");
            (
                "internal".to_string(),
                "Something went wrong on our side; it has been logged.".to_string(),
            )
        }
        StatusCode::BAD_REQUEST => (
            "bad-request".to_string(),
            if text.is_empty() {
                reason.to_string()
            } else {
                text
            },
        ),
        s => (
            format!("http-{}", s.as_u16()),
            if text.is_empty() {
                reason.to_string()
            } else {
                text
            },
        ),
    };
    let problem = Problem {
        kind: format!("/problems/{kind}"),
        title: reason.to_string(),
        status: status.as_u16(),
        detail,
        errors: None,
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// OpenAPI: documented error responses, so each `#[utoipa::path]` lists them by name.
pub mod responses {
    use super::*;

    fn problem(description: &str, retry_after: bool) -> RefOr<utoipa::openapi::Response> {
        let mut builder = ResponseBuilder::new().description(description).content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        );
        if retry_after {
            builder = builder.header(
                "Retry-After",
                integer_header("Seconds to wait before retrying."),
            );
        }
        builder.build().into()
    }

    fn integer_header(description: &str) -> utoipa::openapi::Header {
        HeaderBuilder::new()
            .schema(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer),
            )
            .description(Some(description))
            .build()
    }

    /// The API limiter's 429, added to every `/v1` operation by
    /// [`add_rate_limit_responses`].
    fn too_many_requests() -> RefOr<utoipa::openapi::Response> {
        ResponseBuilder::new()
            .description(
                "Over the API rate limit or an hourly quota; retry after `Retry-After` seconds",
            )
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .header(
                "Retry-After",
                integer_header("Seconds to wait before retrying."),
            )
            .header(
                "RateLimit-Limit",
                integer_header("Requests allowed per minute."),
            )
            .header(
                "RateLimit-Remaining",
                integer_header("Requests left in the window."),
            )
            .header(
                "RateLimit-Reset",
                integer_header("Seconds until the oldest counted request leaves the window."),
            )
            .build()
            .into()
    }

    /// Every `/v1` operation can be answered 429 by the API limiter: say so once here
    /// rather than in each `#[utoipa::path]`.
    pub fn add_rate_limit_responses(doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .insert("429".to_string(), too_many_requests());
            }
        }
    }

    macro_rules! problem_response {
        ($(#[$doc:meta])* $name:ident, $status:literal, $description:literal) => {
            $(#[$doc])*
            pub struct $name;
            impl utoipa::IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                    ResponsesBuilder::new()
                        .response($status, problem($description, $status == "503"))
                        .build()
                        .into()
                }
            }
        };
    }

    problem_response!(
        BadRequest,
        "400",
        "Malformed request (unreadable JSON or wrong content type)"
    );
    problem_response!(
        Unauthorized,
        "401",
        "No valid session (missing, expired or revoked token)"
    );
    problem_response!(
        Forbidden,
        "403",
        "Authenticated, but not the owner or an admin"
    );
    problem_response!(NotFound, "404", "Not found");
    problem_response!(Conflict, "409", "Conflicts with the current state");
    problem_response!(
        TooLarge,
        "413",
        "The body is larger than the server accepts"
    );
    problem_response!(NotJson, "415", "The body is not `application/json`");
    problem_response!(
        Invalid,
        "422",
        "Invalid input; `errors` names each bad field"
    );
    problem_response!(
        Unavailable,
        "503",
        "Redis is unavailable or slow; retry after `Retry-After` seconds"
    );
}
