//! Products in Redis: the only code that names product keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `product:{id}` | hash | the product (seed 002): name, price_cents, stock, category, sku, … |
//! | `product:{id}:reservations` | hash | order id → units held for that order (same slot) |
//! | `products:next_id` | string | last id handed out (INCR) |
//! | `products:by_sku` | hash | upper-cased SKU → product id (the unique claim) |
//! | `products:all` | sorted set | every product id, scored by the numeric id |
//! | `category:{name}:products` | sorted set | one category's product ids, scored by id |
//!
//! Creating a product spans three slots (product, SKU index, catalog indexes), so it is
//! the users' crash-ordered sequence: 1. the product hash with a 60 s TTL (pending,
//! nothing points at it); 2. claim the SKU (`claim_identity.lua`, atomic; a claim whose
//! product is gone is stale and taken over); 3. add it to the indexes; 4. `PERSIST`.
//! A crash leaves an expiring hash, a stale claim, or index entries pointing at nothing,
//! which readers skip and prune. Every change of stock is one script on `product:{id}`.

use std::collections::HashMap;

use redis::{AsyncCommands, Value};

use super::model::{CreateProduct, Product, UpdateProduct, normalize_category, normalize_sku};
use crate::error::{AppError, AppResult};
use crate::redis::batch::Batch;
use crate::redis::paging::IdRange;
use crate::redis::scripts::{IdentityClaim, IfExists, Tagged};
use crate::redis::{Redis, scripts};

/// How long a product may take between its first and last creation step.
const PENDING_TTL_MS: i64 = 60_000;

/// A validated new product.
pub struct NewProduct {
    /// A fixed id (the seed), or `None` to allocate one with INCR.
    pub id: Option<String>,
    pub input: CreateProduct,
    pub created_at: String,
}

impl NewProduct {
    /// The stored form of a new product (`product:{id}`'s fields): the one definition
    /// that [`create`] and the synthetic seed both write.
    pub(crate) fn fields(&self, id: &str) -> Vec<(&'static str, String)> {
        let input = &self.input;
        let mut fields = vec![
            ("id", id.to_string()),
            ("name", input.name.clone()),
            ("price_cents", input.price_cents.to_string()),
            ("stock", input.stock.to_string()),
            ("category", normalize_category(&input.category)),
            ("sku", input.sku.trim().to_string()),
            ("created_at", self.created_at.clone()),
        ];
        if let Some(description) = input.description.clone().filter(|d| !d.is_empty()) {
            fields.push(("description", description));
        }
        if let Some(rating) = input.rating {
            fields.push(("rating", rating.to_string()));
        }
        fields
    }
}

fn sku_taken() -> AppError {
    AppError::Conflict {
        kind: "sku-taken",
        detail: "Another product has that SKU.".into(),
    }
}

/// The sorted-set score of a product id (ids are numbers handed out by INCR).
fn score(id: &str) -> u64 {
    id.parse().unwrap_or(0)
}

/// Creates a product (see the module docs for the step order); 409 `sku-taken`.
pub async fn create(redis: &Redis, new: NewProduct) -> AppResult<Product> {
    let mut conn = redis.conn();
    let id = match new.id.clone() {
        Some(id) => id,
        None => conn
            .incr::<_, _, u64>(redis.keys.product_ids(), 1)
            .await?
            .to_string(),
    };
    let key = redis.keys.product(&id);
    let fields = new.fields(&id);
    let category = normalize_category(&new.input.category);
    let sku = normalize_sku(&new.input.sku);

    // 1. The pending product (one slot: MULTI).
    let _: () = redis::pipe()
        .atomic()
        .hset_multiple(&key, &fields)
        .ignore()
        .pexpire(&key, PENDING_TTL_MS)
        .ignore()
        .query_async(&mut conn)
        .await?;
    // 2. The unique SKU; on conflict the pending product goes.
    if let Err(err) = claim_sku(redis, &id, &sku).await {
        let _: redis::RedisResult<()> = conn.del(&key).await;
        return Err(err);
    }
    // 3. The indexes (two slots), 4. durable.
    index(redis, &id, &category).await?;
    let _: bool = conn.persist(&key).await?;

    let hash: HashMap<String, String> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Product::from_hash(&hash).ok_or_else(|| AppError::Internal(anyhow::anyhow!("new product")))
}

/// Adds a product to the catalog index and its category index (idempotent).
async fn index(redis: &Redis, id: &str, category: &str) -> AppResult<()> {
    let mut batch = Batch::new();
    for key in [
        redis.keys.products_index(),
        redis.keys.category_products(category),
    ] {
        batch.add(
            key.clone(),
            redis::cmd("ZADD").arg(&key).arg(score(id)).arg(id).clone(),
        );
    }
    batch.run(&redis.conn).await?;
    Ok(())
}

/// Claims `sku` (normalized) for `product_id`, taking over a claim whose product is gone.
async fn claim_sku(redis: &Redis, product_id: &str, sku: &str) -> AppResult<()> {
    let mut conn = redis.conn();
    let mut stale = String::new();
    // One round can discover a stale claim; the next then succeeds or conflicts.
    for _ in 0..2 {
        let reply: Value = scripts::CLAIM_IDENTITY
            .key(redis.keys.sku_index())
            .arg(product_id)
            .arg(sku)
            .arg(&stale)
            .invoke_async(&mut conn)
            .await?;
        let owner = match scripts::decode("claim_identity", reply)? {
            IdentityClaim::Claimed => return Ok(()),
            IdentityClaim::Taken { owner, .. } => owner,
        };
        if conn.exists(redis.keys.product(&owner)).await? {
            return Err(sku_taken());
        }
        tracing::info!(owner, sku, "taking over a stale SKU claim");
        stale = owner;
    }
    Err(sku_taken())
}

/// One product, or `None`.
/// Served from the client-side cache when it holds it: for display, never for a
/// decision (stock is taken and checked in scripts).
pub async fn get(redis: &Redis, id: &str) -> AppResult<Option<Product>> {
    Ok(get_many(redis, &[id.to_string()]).await?.pop().flatten())
}

/// Whether a product exists.
pub async fn exists(redis: &Redis, id: &str) -> AppResult<bool> {
    Ok(redis.conn().exists(redis.keys.product(id)).await?)
}

/// Many products in one batch (one pipeline per slot on a cluster), in the order of
/// `ids`; `None` where a product does not exist.
/// Through the client-side cache, like [`get`].
pub async fn get_many(redis: &Redis, ids: &[String]) -> AppResult<Vec<Option<Product>>> {
    let products = redis
        .hgetall_cached(
            ids.iter().map(|id| redis.keys.product(id)),
            Product::from_hash,
        )
        .await?;
    Ok(products
        .into_iter()
        .map(std::sync::Arc::unwrap_or_clone)
        .collect())
}

/// A page of the catalog, or of one category: the index, then every product in one
/// batch. Entries whose product is gone are skipped and pruned; a product listed under
/// a category it has since left is skipped (its move is finishing or crashed halfway).
pub async fn list(
    redis: &Redis,
    category: Option<&str>,
    page: IdRange,
) -> AppResult<(Vec<Product>, Option<String>)> {
    let index = match category {
        Some(category) => redis.keys.category_products(category),
        None => redis.keys.products_index(),
    };
    let ids: Vec<String> = page
        .zrange(&index, false)
        .query_async(&mut redis.conn())
        .await?;
    let (ids, next_cursor) = page.split(ids);
    let products = get_many(redis, &ids).await?;

    let mut items = Vec::with_capacity(products.len());
    let mut gone = Vec::new();
    for (id, product) in ids.into_iter().zip(products) {
        match product {
            Some(p) if category.is_none_or(|c| p.category == c) => items.push(p),
            Some(_) => {}
            None => gone.push(id),
        }
    }
    if !gone.is_empty() {
        let _: u64 = redis.conn().zrem(&index, &gone).await?;
    }
    Ok((items, next_cursor))
}

/// Changes a product. A new SKU is claimed before and the old one released after (the
/// product always owns one); a new category is indexed before and unindexed after (a
/// reader in between skips the entry whose category does not match).
pub async fn update(
    redis: &Redis,
    id: &str,
    changes: UpdateProduct,
    now: &str,
) -> AppResult<Option<Product>> {
    let key = redis.keys.product(id);
    let mut conn = redis.conn();
    let (old_sku, old_category): (Option<String>, Option<String>) =
        conn.hmget(&key, &["sku", "category"]).await?;
    let (Some(old_sku), Some(old_category)) = (old_sku, old_category) else {
        return Ok(None);
    };
    let new_sku = changes
        .sku
        .as_deref()
        .map(str::trim)
        .filter(|sku| normalize_sku(sku) != normalize_sku(&old_sku));
    let new_category = changes
        .category
        .as_deref()
        .map(normalize_category)
        .filter(|c| *c != old_category);

    if let Some(sku) = new_sku {
        claim_sku(redis, id, &normalize_sku(sku)).await?;
    }
    if let Some(category) = &new_category {
        index(redis, id, category).await?;
    }

    let mut pairs: Vec<(&str, String)> = vec![("updated_at", now.to_string())];
    if let Some(name) = changes.name {
        pairs.push(("name", name));
    }
    if let Some(price) = changes.price_cents {
        pairs.push(("price_cents", price.to_string()));
    }
    if let Some(sku) = new_sku {
        pairs.push(("sku", sku.to_string()));
    }
    if let Some(category) = &new_category {
        pairs.push(("category", category.clone()));
    }
    if let Some(description) = changes.description {
        pairs.push(("description", description));
    }
    if let Some(rating) = changes.rating {
        pairs.push(("rating", rating.to_string()));
    }
    let mut invocation = scripts::PATCH_HASH.prepare_invoke();
    invocation.key(&key);
    for (field, value) in &pairs {
        invocation.arg(*field).arg(value);
    }
    let reply: Value = invocation.invoke_async(&mut conn).await?;
    let reply: IfExists<(HashMap<String, String>,)> = scripts::decode("patch_hash", reply)?;
    let Some((hash,)) = reply.done() else {
        return Ok(None);
    };

    if new_sku.is_some() {
        let _: u64 = scripts::RELEASE_IDENTITY
            .key(redis.keys.sku_index())
            .arg(id)
            .arg(normalize_sku(&old_sku))
            .invoke_async(&mut conn)
            .await?;
    }
    if new_category.is_some() {
        let _: u64 = conn
            .zrem(redis.keys.category_products(&old_category), id)
            .await?;
    }
    Ok(Product::from_hash(&hash))
}

/// What a stock-taking script answered.
#[derive(Debug, Clone, PartialEq)]
pub enum StockReply {
    /// Done; the number is what the script reports (remaining stock, new price).
    Done(i64),
    /// Refused; nothing changed; the number is the current value.
    Refused(i64),
    /// No such product.
    Missing,
}

/// `{'done', n}`, `{'refused', n}` or `{'missing'}` (purchase, discount, restock).
impl redis::FromRedisValue for StockReply {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("done", 1) => Ok(StockReply::Done(reply.value(0)?)),
            ("refused", 1) => Ok(StockReply::Refused(reply.value(0)?)),
            ("missing", 0) => Ok(StockReply::Missing),
            _ => Err(reply.unexpected()),
        }
    }
}

/// Sells `quantity` units if that many are in stock (`purchase_stock.lua`).
pub async fn purchase(redis: &Redis, id: &str, quantity: i64) -> AppResult<StockReply> {
    let reply: Value = scripts::PURCHASE_STOCK
        .key(redis.keys.product(id))
        .arg(quantity)
        .invoke_async(&mut redis.conn())
        .await?;
    scripts::decode("purchase_stock", reply)
}

/// Takes `amount_cents` off the price unless it would go below 0 (`discount_price.lua`).
pub async fn discount(
    redis: &Redis,
    id: &str,
    amount_cents: i64,
    now: &str,
) -> AppResult<StockReply> {
    let reply: Value = scripts::DISCOUNT_PRICE
        .key(redis.keys.product(id))
        .arg(amount_cents)
        .arg(now)
        .invoke_async(&mut redis.conn())
        .await?;
    scripts::decode("discount_price", reply)
}

/// Adds stock to an existing product unless the stock would pass `max_stock`
/// (`restock.lua`: the bound is checked in the same atomic step as the increment).
pub async fn restock(
    redis: &Redis,
    id: &str,
    quantity: i64,
    max_stock: i64,
    now: &str,
) -> AppResult<StockReply> {
    let reply: Value = scripts::RESTOCK
        .key(redis.keys.product(id))
        .arg(quantity)
        .arg(max_stock)
        .arg(now)
        .invoke_async(&mut redis.conn())
        .await?;
    scripts::decode("restock", reply)
}

/// The answer of reserving one product's stock for an order.
#[derive(Debug, Clone, PartialEq)]
pub enum Reservation {
    /// The stock is held for the order; the product's name and price at that moment.
    Held { name: String, price_cents: i64 },
    /// Not enough stock: nothing was taken.
    Short { stock: i64 },
    /// No such product.
    Missing,
}

/// Holds `quantity` units of `product_id` for `order_id`, at most once per pair
/// (`reserve_stock.lua`).
pub async fn reserve(
    redis: &Redis,
    product_id: &str,
    order_id: &str,
    quantity: i64,
) -> AppResult<Reservation> {
    let reply: Value = scripts::RESERVE_STOCK
        .key(redis.keys.product(product_id))
        .key(redis.keys.product_reservations(product_id))
        .arg(order_id)
        .arg(quantity)
        .invoke_async(&mut redis.conn())
        .await?;
    scripts::decode("reserve_stock", reply)
}

/// `{'held', name, price_cents}`, `{'short', stock}` or `{'missing'}`.
impl redis::FromRedisValue for Reservation {
    fn from_redis_value(v: Value) -> Result<Self, redis::ParsingError> {
        let reply: Tagged = redis::from_redis_value(v)?;
        match (reply.tag.as_str(), reply.values.len()) {
            ("held", 2) => Ok(Reservation::Held {
                name: reply.value(0)?,
                price_cents: reply.value(1)?,
            }),
            ("short", 1) => Ok(Reservation::Short {
                stock: reply.value(0)?,
            }),
            ("missing", 0) => Ok(Reservation::Missing),
            _ => Err(reply.unexpected()),
        }
    }
}

/// Gives back what `order_id` holds of `product_id`, at most once (`release_stock.lua`).
/// Returns the units returned to stock.
pub async fn release(redis: &Redis, product_id: &str, order_id: &str) -> redis::RedisResult<i64> {
    scripts::RELEASE_STOCK
        .key(redis.keys.product(product_id))
        .key(redis.keys.product_reservations(product_id))
        .arg(order_id)
        .invoke_async(&mut redis.conn())
        .await
}

/// Forgets `order_id`'s reservation of `product_id` without giving the stock back: the
/// sale stands (the order has shipped and can no longer be cancelled).
pub async fn settle_reservation(
    redis: &Redis,
    product_id: &str,
    order_id: &str,
) -> redis::RedisResult<()> {
    let _: u64 = redis
        .conn()
        .hdel(redis.keys.product_reservations(product_id), order_id)
        .await?;
    Ok(())
}

/// The product owning a SKU, if any (the seed uses it to skip existing products).
pub async fn find_by_sku(redis: &Redis, sku: &str) -> AppResult<Option<String>> {
    Ok(redis
        .conn()
        .hget(redis.keys.sku_index(), normalize_sku(sku))
        .await?)
}

/// Makes sure INCR never hands out a product id at or below `id` (used by the seed).
pub async fn reserve_ids_through(redis: &Redis, id: u64) -> AppResult<()> {
    let _: u64 = scripts::RAISE_COUNTER
        .key(redis.keys.product_ids())
        .arg(id)
        .invoke_async(&mut redis.conn())
        .await?;
    Ok(())
}

/// The routing key and the `HSET` of `product`'s hash under `id`, the fields
/// [`create`] writes, for bulk writers (the synthetic seed).
pub(crate) fn store_cmd(
    keys: &crate::redis::Keys,
    product: &NewProduct,
    id: &str,
) -> (String, redis::Cmd) {
    let key = keys.product(id);
    let mut hset = redis::cmd("HSET");
    hset.arg(&key).arg(product.fields(id));
    (key, hset)
}

/// The routing key and one `HSET` of the SKU index with every `(sku, product id)`
/// claim (the SKU normalized here, as [`create`] claims it), for bulk writers.
/// `claims` must not be empty.
pub fn sku_index_fill<'a>(
    keys: &crate::redis::Keys,
    claims: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (String, redis::Cmd) {
    let key = keys.sku_index();
    let mut hset = redis::cmd("HSET");
    hset.arg(&key);
    for (sku, id) in claims {
        hset.arg(normalize_sku(sku)).arg(id);
    }
    (key, hset)
}

/// The routing key and one `ZADD` of the catalog index with every
/// `(numeric id, product id)` entry, for bulk writers. `entries` must not be empty.
pub fn catalog_index_fill<'a>(
    keys: &crate::redis::Keys,
    entries: impl IntoIterator<Item = (u64, &'a str)>,
) -> (String, redis::Cmd) {
    let key = keys.products_index();
    let cmd = crate::redis::batch::zadd_all(&key, entries);
    (key, cmd)
}

/// The routing key and the `ZADD` that lists product `id` (numeric id `number`) in
/// `category` (already normalized), for bulk writers.
pub fn category_add(
    keys: &crate::redis::Keys,
    category: &str,
    number: u64,
    id: &str,
) -> (String, redis::Cmd) {
    let key = keys.category_products(category);
    let cmd = crate::redis::batch::zadd_all(&key, [(number, id)]);
    (key, cmd)
}

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::{Reservation, StockReply};
    use crate::error::AppError;
    use crate::redis::scripts::decode;

    fn reply(tag: &str, values: Vec<Value>) -> Value {
        let mut items = vec![Value::BulkString(tag.as_bytes().to_vec())];
        items.extend(values);
        Value::Array(items)
    }

    /// Guards the finding: an odd reply of a stock script used to become
    /// `Missing` (a 404, or a 422 "product does not exist" at checkout). It is a 500.
    #[test]
    fn stock_replies_decode_by_tag_and_odd_ones_are_500s() {
        assert_eq!(
            decode::<StockReply>("purchase_stock", reply("done", vec![Value::Int(4)])).unwrap(),
            StockReply::Done(4)
        );
        assert_eq!(
            decode::<StockReply>("restock", reply("refused", vec![Value::Int(9)])).unwrap(),
            StockReply::Refused(9)
        );
        assert_eq!(
            decode::<Reservation>(
                "reserve_stock",
                reply(
                    "held",
                    vec![Value::BulkString(b"Mug".to_vec()), Value::Int(1250)]
                )
            )
            .unwrap(),
            Reservation::Held {
                name: "Mug".into(),
                price_cents: 1250
            }
        );
        let odd = [
            Value::Array(vec![Value::Int(1), Value::Int(4)]),
            Value::Array(vec![Value::Int(-1)]),
            reply("sold", vec![Value::Int(4)]),
            reply("missing", vec![Value::Int(4)]),
        ];
        for value in odd {
            assert!(
                matches!(
                    decode::<StockReply>("purchase_stock", value.clone()),
                    Err(AppError::Internal(_))
                ),
                "{value:?}"
            );
            assert!(
                matches!(
                    decode::<Reservation>("reserve_stock", value.clone()),
                    Err(AppError::Internal(_))
                ),
                "{value:?}"
            );
        }
    }
}
