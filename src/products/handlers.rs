//! HTTP handlers for products: parse, authorize, call the repository, respond.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::model::{
    CreateProduct, Discount, MAX_QUANTITY, MAX_STOCK, PriceResult, Product, ProductFilter,
    ProductPage, Purchase, PurchaseResult, Restock, StockResult, UpdateProduct, check_units,
    insufficient_stock, normalize_category,
};
use super::repo::{self, NewProduct, StockReply};
use crate::error::{AppError, AppResult, responses};
use crate::extract::{AdminUser, AppJson, AppQuery, AuthUser, ValidPath};
use crate::pagination::PageQuery;
use crate::state::AppState;
use crate::{time, validate};

/// Create a product
///
/// Admin only. Writes the product hash with a short TTL, claims the SKU in the unique
/// index (409 `sku-taken`, and nothing is left behind), indexes it in the catalog and
/// its category, then makes it durable.
///
/// Redis: `INCR products:next_id`; `MULTI HSET product:{id} … PEXPIRE EXEC`;
/// `EVALSHA claim_identity` (HGET/HSET `products:by_sku`); `ZADD products:all` and
/// `ZADD category:{name}:products` (batched by slot); `PERSIST product:{id}`.
#[utoipa::path(post, path = "/v1/products", tag = "products",
    request_body = CreateProduct,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Created; `Location` names the product", body = Product,
            headers(("Location" = String, description = "/v1/products/{id}"))),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden,
        responses::Conflict, responses::TooLarge, responses::NotJson, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn create_product(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppJson(input): AppJson<CreateProduct>,
) -> AppResult<impl IntoResponse> {
    input.validate()?;
    let product = repo::create(
        &state.redis,
        NewProduct {
            id: None,
            input,
            created_at: time::rfc3339(time::now()),
        },
    )
    .await?;
    let location = format!("/v1/products/{}", product.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(product),
    ))
}

/// Get a product
///
/// Numbers are JSON numbers (`price_cents`, `stock`, `rating`).
///
/// Redis: `HGETALL product:{id}`.
#[utoipa::path(get, path = "/v1/products/{id}", tag = "products",
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = Product),
        responses::NotFound, responses::Invalid, responses::Unavailable
    ))]
pub async fn get_product(
    State(state): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> AppResult<Json<Product>> {
    repo::get(&state.redis, &id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("product"))
}

/// List products
///
/// The catalog in id order, or one category's products (`?category=`), a page at a
/// time (`?limit=&cursor=`).
///
/// Redis: `ZRANGE products:all|category:{name}:products (cursor +inf BYSCORE LIMIT`,
/// then `HGETALL product:{id}` for the page (batched by slot); `ZREM` of entries whose
/// product is gone.
#[utoipa::path(get, path = "/v1/products", tag = "products",
    params(ProductFilter, PageQuery),
    responses(
        (status = 200, description = "A page of products", body = ProductPage),
        responses::Invalid, responses::Unavailable
    ))]
pub async fn list_products(
    State(state): State<AppState>,
    AppQuery(filter): AppQuery<ProductFilter>,
    AppQuery(page): AppQuery<PageQuery>,
) -> AppResult<Json<ProductPage>> {
    let page = page.page()?;
    let category = filter.category.as_deref().map(normalize_category);
    if let Some(category) = &category {
        validate::path_id("category", category)?;
    }
    let (items, next_cursor) = repo::list(&state.redis, category.as_deref(), page).await?;
    Ok(Json(ProductPage { items, next_cursor }))
}

/// Update a product
///
/// Admin only. Changes only the given fields; stock changes only through purchase,
/// checkout and restock. A new SKU is claimed like at creation (409 `sku-taken`) and
/// the old one released; a new category moves the product between category indexes.
///
/// Redis: `HMGET product:{id} sku category`; `EVALSHA patch_hash` (EXISTS, HSET/HDEL,
/// HGETALL); for a new SKU `EVALSHA claim_identity` / `release_identity` on
/// `products:by_sku`; for a new category `ZADD` / `ZREM category:{name}:products`.
#[utoipa::path(patch, path = "/v1/products/{id}", tag = "products",
    params(("id" = String, Path, description = "Product id")),
    request_body = UpdateProduct,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The updated product", body = Product),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden,
        responses::NotFound, responses::Conflict, responses::NotJson, responses::Invalid,
        responses::Unavailable
    ))]
pub async fn update_product(
    State(state): State<AppState>,
    _admin: AdminUser,
    ValidPath(id): ValidPath<String>,
    AppJson(input): AppJson<UpdateProduct>,
) -> AppResult<Json<Product>> {
    input.validate()?;
    repo::update(&state.redis, &id, input, &time::rfc3339(time::now()))
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("product"))
}

/// Buy a product
///
/// Takes `quantity` units from stock if, and only if, that many are there: the check
/// and the decrement are one atomic script, so concurrent buyers never oversell. 409
/// `insufficient-stock` leaves the stock unchanged.
///
/// Redis: `EVALSHA purchase_stock` (HGET stock, HINCRBY stock -quantity on
/// `product:{id}`).
#[utoipa::path(post, path = "/v1/products/{id}/purchase", tag = "products",
    params(("id" = String, Path, description = "Product id")),
    request_body = Purchase,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Bought; the stock left", body = PurchaseResult),
        responses::BadRequest, responses::Unauthorized, responses::NotFound,
        (status = 409, description = "`insufficient-stock`: fewer units in stock than asked; nothing changed",
            body = crate::error::Problem, content_type = "application/problem+json"),
        responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn purchase(
    State(state): State<AppState>,
    _auth: AuthUser,
    ValidPath(id): ValidPath<String>,
    AppJson(input): AppJson<Purchase>,
) -> AppResult<Json<PurchaseResult>> {
    check_units("quantity", input.quantity, MAX_QUANTITY)?;
    match repo::purchase(&state.redis, &id, input.quantity).await? {
        StockReply::Done(remaining_stock) => Ok(Json(PurchaseResult { remaining_stock })),
        StockReply::Refused(stock) => Err(insufficient_stock(&id, stock, input.quantity)),
        StockReply::Missing => Err(AppError::NotFound("product")),
    }
}

/// Discount a product
///
/// Admin only. Takes `amount_cents` off the price in one atomic script that refuses to
/// go below 0 (422, price unchanged).
///
/// Redis: `EVALSHA discount_price` (HGET price_cents, HINCRBY price_cents -amount, HSET
/// updated_at on `product:{id}`).
#[utoipa::path(post, path = "/v1/products/{id}/discount", tag = "products",
    params(("id" = String, Path, description = "Product id")),
    request_body = Discount,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The new price", body = PriceResult),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden,
        responses::NotFound, responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn discount(
    State(state): State<AppState>,
    _admin: AdminUser,
    ValidPath(id): ValidPath<String>,
    AppJson(input): AppJson<Discount>,
) -> AppResult<Json<PriceResult>> {
    check_units(
        "amount_cents",
        input.amount_cents,
        super::model::MAX_PRICE_CENTS,
    )?;
    let now = time::rfc3339(time::now());
    match repo::discount(&state.redis, &id, input.amount_cents, &now).await? {
        StockReply::Done(price_cents) => Ok(Json(PriceResult { price_cents })),
        StockReply::Refused(price) => Err(AppError::invalid(
            "amount_cents",
            format!("would take the price ({price} cents) below 0"),
        )),
        StockReply::Missing => Err(AppError::NotFound("product")),
    }
}

/// Restock a product
///
/// Admin only. Adds `quantity` units to the stock. The stock never passes 1,000,000,000
/// units: a restock that would take it above is refused (422 naming `quantity`, stock
/// unchanged), checked in the same atomic step as the increment, so concurrent
/// restocks cannot pass it together.
///
/// Redis: `EVALSHA restock` (EXISTS, HGET stock, HSET updated_at, HINCRBY stock on
/// `product:{id}`).
#[utoipa::path(post, path = "/v1/products/{id}/restock", tag = "products",
    params(("id" = String, Path, description = "Product id")),
    request_body = Restock,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The stock after the restock", body = StockResult),
        responses::BadRequest, responses::Unauthorized, responses::Forbidden,
        responses::NotFound, responses::NotJson, responses::Invalid, responses::Unavailable
    ))]
pub async fn restock(
    State(state): State<AppState>,
    _admin: AdminUser,
    ValidPath(id): ValidPath<String>,
    AppJson(input): AppJson<Restock>,
) -> AppResult<Json<StockResult>> {
    check_units("quantity", input.quantity, MAX_STOCK)?;
    let now = time::rfc3339(time::now());
    match repo::restock(&state.redis, &id, input.quantity, MAX_STOCK, &now).await? {
        StockReply::Done(stock) => Ok(Json(StockResult { stock })),
        StockReply::Refused(stock) => Err(AppError::invalid(
            "quantity",
            format!("would take the stock ({stock}) above the maximum of {MAX_STOCK} units"),
        )),
        StockReply::Missing => Err(AppError::NotFound("product")),
    }
}
