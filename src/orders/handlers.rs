//! HTTP handlers for orders: parse, authorize, call the service, respond.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::checkout::{self, CheckoutRequest};
use super::model::{CreateOrder, Invoice, Order, OrderPage, OrderRecord, OrderStatus, UpdateOrder};
use super::{repo, service};
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AdminUser, AppJson, AppQuery, AuthUser, ValidPath};
use crate::pagination::PageQuery;
use crate::state::AppState;
use crate::validate;

/// The header that makes order creation idempotent.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Place an order
///
/// From explicit `items`, or from my cart with `{}`. Requires an `Idempotency-Key`
/// header (1 to 64 letters, digits, `_` or `-`; a UUID fits): the same key again answers
/// with the same order (201, `Idempotent-Replayed: true`) and never takes stock twice,
/// also for concurrent requests; the same key with another body is 422. Keys are
/// remembered for 24 h. All or nothing: if any product is short, every line's stock is
/// given back and the answer is 409 `insufficient-stock` naming the product (the key
/// is then free for a retry). A cart checkout takes the bought units out of the cart.
///
/// Redis: `INCR orders:next_id`; `EVALSHA claim_idempotency` (`idem:{user}:{key}`);
/// `HGETALL user:{id}:cart` (cart checkout); `ZADD orders:inflight`; `EVALSHA
/// begin_checkout` (`order:{id}`); `EVALSHA reserve_stock` per product (its hash and
/// `product:{id}:reservations`), concurrently; `EVALSHA commit_order`; then
/// concurrently `EVALSHA finish_checkout` (key done, `ZADD user:{id}:orders`, cart),
/// `XADD events:orders MAXLEN ~ 100000`, `PUBLISH notifications:{user_id}` (`SPUBLISH` on a cluster); `ZREM
/// orders:inflight`. On a short product: `EVALSHA abort_checkout`, `release_stock` per
/// product, `DEL order:{id}`, `EVALSHA forget_idempotency`.
#[utoipa::path(post, path = "/v1/orders", tag = "orders",
    params(("Idempotency-Key" = String, Header,
        description = "Unique per intended order (e.g. a UUID); remembered 24 h")),
    request_body = CreateOrder,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Created (or the order an earlier request with this key created); `Location` names it", body = Order,
            headers(
                ("Location" = String, description = "/v1/orders/{id}"),
                ("Idempotent-Replayed" = String, description = "`true` when an earlier request with this key created the order")
            )),
        (status = 400, description = "No `Idempotency-Key` header, or an unreadable body",
            body = crate::error::Problem, content_type = "application/problem+json"),
        responses::Unauthorized,
        (status = 409, description = "`insufficient-stock` (a product is short; nothing is held), or `idempotency-key-in-use` (a request with this key is still running)",
            body = crate::error::Problem, content_type = "application/problem+json"),
        responses::TooLarge, responses::NotJson,
        (status = 422, description = "Invalid items, an empty cart, an unknown product, or an `Idempotency-Key` reused with another body",
            body = crate::error::Problem, content_type = "application/problem+json"),
        responses::Unavailable
    ))]
pub async fn create_order(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    AppJson(input): AppJson<CreateOrder>,
) -> AppResult<Response> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .ok_or_else(|| {
            AppError::BadRequest(
                "Send an Idempotency-Key header (e.g. a UUID) so a retried order is not placed twice."
                    .into(),
            )
        })?
        .to_str()
        .map_err(|_| AppError::invalid("Idempotency-Key", "must be ASCII"))?
        .to_string();
    validate::id(&key).map_err(|m| AppError::invalid("Idempotency-Key", m))?;
    let lines = input.lines()?;
    let done = checkout::checkout(
        &state.redis,
        CheckoutRequest {
            user_id: auth.user_id,
            idempotency_key: key,
            lines,
        },
        checkout::LEASE_MS,
    )
    .await?;
    let location = format!("/v1/orders/{}", done.order.id);
    let mut response = (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(done.order),
    )
        .into_response();
    if done.replayed {
        response.headers_mut().insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

/// Loads a committed order the session user may see (owner or admin).
async fn visible_order(state: &AppState, auth: &AuthUser, id: &str) -> AppResult<OrderRecord> {
    let order = repo::get(&state.redis, id)
        .await?
        .filter(|o| o.status().is_some())
        .ok_or(AppError::NotFound("order"))?;
    auth.act_for(&order.user_id)?;
    Ok(order)
}

/// Get an order
///
/// Owner or admin. One HGETALL shows the whole order, items included.
///
/// Redis: `HGETALL order:{id}`.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The order", body = Order),
        responses::Unauthorized, responses::Forbidden, responses::NotFound,
        responses::Invalid, responses::Unavailable
    ))]
pub async fn get_order(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
) -> AppResult<Json<Order>> {
    let order = visible_order(&state, &auth, &id).await?;
    order.view().map(Json).ok_or(AppError::NotFound("order"))
}

/// Change an order's status
///
/// Admin only. pending → paid → shipped → delivered, one step at a time (or cancelled
/// before shipping, which gives the stock back); any other step is 409
/// `invalid-transition`. Asking for the current status again is a no-op (200). The
/// change is appended to `events:orders` and published to the owner.
///
/// Redis: `ZADD orders:inflight`; `EVALSHA order_transition` (HGET, HSET, HGETALL on
/// `order:{id}`); concurrently `EVALSHA finish_checkout`, `XADD events:orders MAXLEN ~
/// 100000`, `PUBLISH notifications:{user_id}` (`SPUBLISH` on a cluster), and per product `EVALSHA release_stock`
/// (cancelled) or `HDEL product:{id}:reservations` (shipped); `ZREM orders:inflight`.
#[utoipa::path(patch, path = "/v1/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    request_body = UpdateOrder,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The order after the change", body = Order),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden,
        responses::NotFound, responses::Conflict, responses::NotJson, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn update_order(
    State(state): State<AppState>,
    _admin: AdminUser,
    ValidPath(id): ValidPath<String>,
    AppJson(input): AppJson<UpdateOrder>,
) -> AppResult<Json<Order>> {
    if input.status == OrderStatus::Pending {
        return Err(AppError::invalid(
            "status",
            "an order is pending only until it is paid",
        ));
    }
    Ok(Json(
        service::change_status(&state.redis, &id, input.status).await?,
    ))
}

/// Cancel an order
///
/// Owner or admin, only before it ships (409 `invalid-transition` after). The stock
/// goes back to the products, exactly once however often this is called.
///
/// Redis: `HGETALL order:{id}`; `ZADD orders:inflight`; `EVALSHA order_transition`;
/// concurrently `EVALSHA release_stock` per product (HGET/HDEL
/// `product:{id}:reservations`, HINCRBY stock), `EVALSHA finish_checkout`, `XADD
/// events:orders`, `PUBLISH notifications:{user_id}` (`SPUBLISH` on a cluster); `ZREM orders:inflight`.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The cancelled order", body = Order),
        responses::Unauthorized, responses::Forbidden, responses::NotFound,
        responses::Conflict, responses::Invalid, responses::Unavailable
    ))]
pub async fn cancel_order(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
) -> AppResult<Json<Order>> {
    visible_order(&state, &auth, &id).await?;
    Ok(Json(
        service::change_status(&state.redis, &id, OrderStatus::Cancelled).await?,
    ))
}

/// An order's invoice
///
/// Owner or admin. Written by the billing consumer group from `events:orders`, exactly
/// one per order; 404 until it has been written.
///
/// Redis: `HGETALL order:{id}`, `HGETALL order:{id}:invoice`.
#[utoipa::path(get, path = "/v1/orders/{id}/invoice", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The invoice", body = Invoice),
        responses::Unauthorized, responses::Forbidden, responses::NotFound,
        responses::Invalid, responses::Unavailable
    ))]
pub async fn get_invoice(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
) -> AppResult<Json<Invoice>> {
    visible_order(&state, &auth, &id).await?;
    repo::invoice(&state.redis, &id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("invoice"))
}

/// A user's orders
///
/// Owner or admin; newest first, a page at a time, every order of the page fetched in
/// one batch.
///
/// Redis: `ZRANGE user:{id}:orders (cursor -inf BYSCORE REV LIMIT`, then `HGETALL
/// order:{id}` for the page (batched by slot).
#[utoipa::path(get, path = "/v1/users/{id}/orders", tag = "orders",
    params(("id" = String, Path, description = "User id, or `me`"), PageQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A page of orders, newest first", body = OrderPage),
        responses::Unauthorized, responses::Forbidden, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn list_user_orders(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<OrderPage>> {
    let id = auth.owned_user_id(&id)?;
    let (orders, next_cursor) = repo::list_for_user(&state.redis, &id, page.page()?).await?;
    Ok(Json(OrderPage {
        items: orders.iter().filter_map(OrderRecord::view).collect(),
        next_cursor,
    }))
}
