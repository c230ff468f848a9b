//! HTTP handlers for carts. `{id}` is a user id or `me`; owner or admin.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::model::{AddItem, Cart, SetQuantity};
use super::repo::{self, Change};
use super::service;
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AppJson, AuthUser, ValidPath};
use crate::products::model::{MAX_QUANTITY, check_units};
use crate::state::AppState;
use crate::validate;

/// My cart
///
/// Every line priced with the product's current price, line totals and the total in
/// cents. A product that no longer exists shows as `available: false`.
///
/// Redis: one pipeline in the user's slot: `HGETALL user:{id}:cart`, `PTTL`; then
/// `HGETALL product:{id}` for every line (batched by slot).
#[utoipa::path(get, path = "/v1/users/{id}/cart", tag = "carts",
    params(("id" = String, Path, description = "User id, or `me`")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The cart (empty when there is none)", body = Cart),
        responses::Unauthorized, responses::Forbidden, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn get_cart(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
) -> AppResult<Json<Cart>> {
    let id = auth.owned_user_id(&id)?;
    Ok(Json(service::view(&state.redis, &id).await?))
}

/// Add to my cart
///
/// Adds `quantity` units of a product (HINCRBY) and refreshes the cart's 7-day TTL in
/// the same script. 404 for an unknown product; 422 past 50 products or 10,000 units.
///
/// Redis: `EXISTS product:{id}`; `EVALSHA cart_update` (HGET, HLEN, HINCRBY, PEXPIRE
/// on `user:{id}:cart`); then the cart view's reads.
#[utoipa::path(post, path = "/v1/users/{id}/cart/items", tag = "carts",
    params(("id" = String, Path, description = "User id, or `me`")),
    request_body = AddItem,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The cart after the change", body = Cart),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden,
        responses::NotFound, responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn add_item(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
    AppJson(input): AppJson<AddItem>,
) -> AppResult<Json<Cart>> {
    let id = auth.owned_user_id(&id)?;
    validate::path_id("product_id", &input.product_id)?;
    check_units("quantity", input.quantity, MAX_QUANTITY)?;
    let cart = service::change(
        &state.redis,
        &id,
        &input.product_id,
        Change::Add(input.quantity),
    )
    .await?;
    Ok(Json(cart))
}

/// Set a quantity in my cart
///
/// Sets the line's quantity; 0 or less removes it. Refreshes the 7-day TTL.
///
/// Redis: `EXISTS product:{id}` (unless removing); `EVALSHA cart_update` (HSET or
/// HDEL, PEXPIRE on `user:{id}:cart`); then the cart view's reads.
#[utoipa::path(put, path = "/v1/users/{id}/cart/items/{product_id}", tag = "carts",
    params(
        ("id" = String, Path, description = "User id, or `me`"),
        ("product_id" = String, Path, description = "Product id")
    ),
    request_body = SetQuantity,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The cart after the change", body = Cart),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden,
        responses::NotFound, responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn set_item(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath((id, product_id)): ValidPath<(String, String)>,
    AppJson(input): AppJson<SetQuantity>,
) -> AppResult<Json<Cart>> {
    let id = auth.owned_user_id(&id)?;
    if input.quantity > MAX_QUANTITY {
        return Err(AppError::invalid(
            "quantity",
            format!("must be at most {MAX_QUANTITY}"),
        ));
    }
    let cart = service::change(&state.redis, &id, &product_id, Change::Set(input.quantity)).await?;
    Ok(Json(cart))
}

/// Remove a product from my cart
///
/// Idempotent: 204 whether or not the line was there. Refreshes the TTL of what is left.
///
/// Redis: `EVALSHA cart_update` (HDEL, PEXPIRE on `user:{id}:cart`).
#[utoipa::path(delete, path = "/v1/users/{id}/cart/items/{product_id}", tag = "carts",
    params(
        ("id" = String, Path, description = "User id, or `me`"),
        ("product_id" = String, Path, description = "Product id")
    ),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "The line is gone"),
        responses::Unauthorized, responses::Forbidden, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn remove_item(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath((id, product_id)): ValidPath<(String, String)>,
) -> AppResult<StatusCode> {
    let id = auth.owned_user_id(&id)?;
    let _ = repo::update(&state.redis, &id, &product_id, Change::Set(0)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Empty my cart
///
/// Redis: `DEL user:{id}:cart`.
#[utoipa::path(delete, path = "/v1/users/{id}/cart", tag = "carts",
    params(("id" = String, Path, description = "User id, or `me`")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "The cart is empty"),
        responses::Unauthorized, responses::Forbidden, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn clear_cart(
    State(state): State<AppState>,
    auth: AuthUser,
    ValidPath(id): ValidPath<String>,
) -> AppResult<StatusCode> {
    let id = auth.owned_user_id(&id)?;
    repo::clear(&state.redis, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
