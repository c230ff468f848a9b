//! The OpenAPI document's frame: info, tags, security schemes, shared schemas.
//!
//! Operations are not listed here: each area's router registers its handlers with
//! `routes!(...)`, which adds their `#[utoipa::path]` docs, so routes and docs cannot
//! drift. The committed `openapi/openapi.json` is `agora openapi`'s output, and a test
//! fails when they differ.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::Problem;
use crate::extract::SESSION_COOKIE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Agora",
        description = "Social and e-commerce features on Redis. Each operation's description names the Redis commands it runs. Errors are RFC 9457 `application/problem+json`.",
        license(name = "MIT")
    ),
    modifiers(&SecuritySchemes),
    components(schemas(Problem)),
    tags(
        (name = "users", description = "Users as hashes (`user:{id}`), unique username/e-mail indexes claimed by one Lua script"),
        (name = "sessions", description = "Sessions as hashes with a sliding idle TTL and an absolute lifetime; a per-user index to list and revoke"),
        (name = "tags", description = "Many-to-many with a set on each side (`user:{id}:tags`, `tag:{name}:users`); all-of / any-of searches walk one set with SSCAN and check the others with SMISMEMBER, a bounded amount of work per page"),
        (name = "follows", description = "Sorted sets on both sides scored by follow time (`user:{id}:following`, `user:{id}:followers`); common followers walk the smaller set in ZRANGE windows with ZMSCORE in the other"),
        (name = "posts", description = "Posts as hashes with the author's name and avatar copied in; `user:{id}:posts` and `posts:recent` sorted sets; likes as a set and comments as a sorted set, each with its counter kept by one Lua script"),
        (name = "feeds", description = "Home timelines filled by fan-out on write (capped sorted sets), celebrities merged at read time; activity feeds capped at 1000"),
        (name = "ops", description = "Health, readiness, Prometheus metrics"),
        (name = "leaderboards", description = "A sorted set per board and a hash per player entry in the same slot; results update both in one script"),
        (name = "rate-limits", description = "Exact sliding windows in one Lua script per request; per-endpoint hourly quotas"),
        (name = "analytics", description = "Counters (INCR), unique visitors per day (sets + HyperLogLog), cohorts (SSCAN + SMISMEMBER pages, counts exact or sampled)"),
        (name = "experiments", description = "Sticky weighted A/B assignment: HSETNX in one script"),
        (name = "admin", description = "Queue depths, SCAN-based key browser, MEMORY USAGE (admins only)"),
        (name = "notifications", description = "Live notifications: pub/sub (sharded on a cluster) fanned out to Server-Sent Events by one subscriber connection per process"),
        (name = "config", description = "The application config hash (`config:app`), typed known keys"),
        (name = "products", description = "Products as hashes (`product:{id}`); stock taken only by Lua scripts; unique SKU index; catalog and category sorted sets"),
        (name = "carts", description = "Carts as hashes (`user:{id}:cart`, product → quantity) with a 7-day TTL refreshed on every write"),
        (name = "orders", description = "Orders with embedded line items, idempotent crash-safe checkout, lifecycle scripts, the `events:orders` stream and its billing consumer group"),
        (name = "locks", description = "SET NX PX locks with compare-and-act extend/release scripts and strictly increasing fencing tokens"),
        (name = "realworld", description = "The RealWorld (Conduit) API at `/api`: an adapter with the spec's shapes and `{\"errors\": {field: [message]}}` errors over the same services as `/v1` (an article is a post, a favorite a like, a profile a user); `Authorization: Token <session token>`")
    )
)]
struct ApiDoc;

/// The document before any operation is added.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Name of the bearer-token security scheme, for `security(...)` in operations.
pub const BEARER: &str = "bearer";
/// Name of the cookie security scheme.
pub const COOKIE: &str = "session_cookie";
/// Name of the RealWorld scheme: `Authorization: Token <session token>`.
pub const REALWORLD_TOKEN: &str = "realworld_token";

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The `token` from POST /v1/sessions"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The HttpOnly cookie set by POST /v1/sessions. A request it authenticates that \
                 may change state (not GET, HEAD, OPTIONS) is refused with 403 \
                 `/problems/cross-site-request` when its `Origin` is not the API's own or \
                 listed in AGORA_ALLOWED_ORIGINS, or, without `Origin`, when \
                 `Sec-Fetch-Site` is not `same-origin` or `none` (CSRF defence).",
            ))),
        );
        components.add_security_scheme(
            REALWORLD_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <token>`: the session token from POST /api/users or \
                 POST /api/users/login (the same token works on /v1 as a Bearer token).",
            ))),
        );
    }
}

/// Charset of [`crate::validate::id`], for the path parameters it checks.
const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// [`crate::validate::tag`] after lower-casing (the handler lower-cases first).
const TAG_PATTERN: &str = "^[A-Za-z0-9_.-]{1,32}$";
/// A session id: the SHA-256 of its token, in lowercase hex.
const SESSION_ID_PATTERN: &str = "^[0-9a-f]{64}$";
/// `YYYY-MM-DD`.
const DATE_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// An example of a path parameter that names something the demo seed
/// (`migrations-free-seed/`) has, by the path it is in and its name; `None` where the
/// seed has nothing to name (orders, sessions) or the value cannot be fixed (a date
/// must be recent).
///
/// Why: a fuzzer (and a reader of `/docs`) given only the charset makes up ids that do
/// not exist, so schemathesis saw some operations answer nothing but 404 or 422 and
/// warned "Missing test data" / "mostly rejected generated data". With the example, its
/// examples phase reaches each of them once with a value that exists.
fn path_example(path: &str, name: &str) -> Option<&'static str> {
    Some(match name {
        "id" if path.starts_with("/v1/users/") => "me",
        "id" if path.starts_with("/v1/posts/") => "p1",
        "id" if path.starts_with("/v1/products/") => "1001",
        "product_id" => "1001",
        "target" => "3",
        "user" => "me",
        "tag" => "developer",
        "board" => "global",
        "player_id" => "1",
        "name" => "checkout-button",
        "subject" => "visitor-1",
        "resource" => "report-42",
        "key" => "config:app",
        _ => return None,
    })
}

/// Documents the charset of every path parameter as a `pattern`, and an example where
/// the seed has one ([`path_example`]).
///
/// Path parameters end up inside Redis keys, so each is validated (a 422 otherwise).
/// Saying so in the document tells clients, SDK generators and fuzzers what is
/// accepted: schemathesis then generates values that reach the handlers' logic instead
/// of stopping at the validator. `{key}` of the admin key browser is any key name, so
/// it has none.
pub fn document_path_patterns(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{RefOr, Schema};

    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                if parameter.parameter_in != ParameterIn::Path {
                    continue;
                }
                let pattern = match parameter.name.as_str() {
                    "key" => None,
                    "tag" => Some(TAG_PATTERN),
                    "session_id" => Some(SESSION_ID_PATTERN),
                    "date" => Some(DATE_PATTERN),
                    _ => Some(ID_PATTERN),
                };
                let example = path_example(path, &parameter.name);
                if let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() {
                    if let Some(pattern) = pattern {
                        object.pattern.get_or_insert_with(|| pattern.to_string());
                    }
                    if let Some(example) = example {
                        object.examples = vec![serde_json::Value::from(example)];
                    }
                }
            }
        }
    }
}
