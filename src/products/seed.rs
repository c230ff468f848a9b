//! Demo products for `agora seed` (`migrations-free-seed/products.json`).
//!
//! Idempotent like the users' seed: a product whose id or SKU already exists is left
//! exactly as it is (its stock may have moved since), so seeding twice changes nothing.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use super::model::CreateProduct;
use super::repo::{self, NewProduct};
use crate::redis::Redis;

/// One product of `products.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedProduct {
    id: u64,
    name: String,
    price_cents: i64,
    stock: i64,
    category: String,
    sku: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    rating: Option<f64>,
    created_at: String,
}

/// Products created and products already present.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub created: usize,
    pub existing: usize,
}

/// Loads `dir/products.json`.
pub async fn load(redis: &Redis, dir: &Path) -> anyhow::Result<Loaded> {
    let path = dir.join("products.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let products: Vec<SeedProduct> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut loaded = Loaded::default();
    let max_id = products.iter().map(|p| p.id).max();
    for product in products {
        let input = CreateProduct {
            name: product.name,
            price_cents: product.price_cents,
            stock: product.stock,
            category: product.category,
            sku: product.sku,
            description: product.description,
            rating: product.rating,
        };
        input
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: product {}: {e:?}", path.display(), product.id))?;
        let id = product.id.to_string();
        if repo::exists(redis, &id).await? || repo::find_by_sku(redis, &input.sku).await?.is_some()
        {
            loaded.existing += 1;
            continue;
        }
        repo::create(
            redis,
            NewProduct {
                id: Some(id),
                input,
                created_at: product.created_at,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("seeding product {}: {e}", product.id))?;
        loaded.created += 1;
    }
    if let Some(max) = max_id {
        repo::reserve_ids_through(redis, max)
            .await
            .map_err(|e| anyhow::anyhow!("reserving seeded product ids: {e}"))?;
    }
    Ok(loaded)
}
