//! Order types: what the API accepts and returns, and the stored order record.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::carts::model::MAX_LINES;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, Paged};
use crate::products::model::{MAX_QUANTITY, check_units};
use crate::validate;

/// Where an order is in its life. Checkouts in progress (`reserving`, `aborting`) are
/// never shown: for the API such an order does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// A committed status; `None` for a checkout in progress or anything unknown.
    pub fn parse(value: &str) -> Option<OrderStatus> {
        Some(match value {
            "pending" => OrderStatus::Pending,
            "paid" => OrderStatus::Paid,
            "shipped" => OrderStatus::Shipped,
            "delivered" => OrderStatus::Delivered,
            "cancelled" => OrderStatus::Cancelled,
            _ => return None,
        })
    }

    /// The lifecycle: the statuses this one may directly follow. pending → paid →
    /// shipped → delivered; cancelled only before shipping (the stock goes back).
    pub fn follows(self) -> &'static [OrderStatus] {
        match self {
            OrderStatus::Pending => &[],
            OrderStatus::Paid => &[OrderStatus::Pending],
            OrderStatus::Shipped => &[OrderStatus::Paid],
            OrderStatus::Delivered => &[OrderStatus::Shipped],
            OrderStatus::Cancelled => &[OrderStatus::Pending, OrderStatus::Paid],
        }
    }

    /// Once shipped, the sale stands: the stock reservations are settled.
    pub fn is_shipped(self) -> bool {
        matches!(self, OrderStatus::Shipped | OrderStatus::Delivered)
    }
}

/// What an order event says happened (the stream's `type` field, and the order hash's
/// `last_event`, written by `commit_order.lua` and `order_transition.lua`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EventKind {
    /// The checkout committed: the order exists, `pending`.
    #[default]
    Created,
    /// The order moved to another status.
    StatusChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "order.created",
            EventKind::StatusChanged => "order.status_changed",
        }
    }

    pub fn parse(value: &str) -> Option<EventKind> {
        match value {
            "order.created" => Some(EventKind::Created),
            "order.status_changed" => Some(EventKind::StatusChanged),
            _ => None,
        }
    }
}

/// One requested line: a product and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Line {
    #[schema(example = "1001")]
    pub product_id: String,
    /// 1 to 10,000.
    #[schema(example = 1)]
    pub quantity: i64,
}

/// One line of an order: a snapshot of the product as it was sold (seed 000's embedded
/// line items), so later price or name changes do not rewrite past orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderItem {
    pub product_id: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

/// An order as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    #[schema(example = "42")]
    pub id: String,
    pub user_id: String,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    /// Sum of quantity × unit_price_cents.
    pub total_cents: i64,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC; absent until the first status change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
}

/// The stored order hash, including the checkout's own fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderRecord {
    pub id: String,
    pub user_id: String,
    /// The committed status; `None` while the checkout is in progress (stored as
    /// `reserving` or `aborting`, which only the scripts tell apart).
    pub status: Option<OrderStatus>,
    /// What the checkout reserves (product, quantity), known before any stock is taken.
    pub lines: Vec<Line>,
    /// The snapshot written at commit.
    pub items: Vec<OrderItem>,
    pub total_cents: i64,
    pub idempotency_key: String,
    /// Whether the lines came from the cart (and leave it when the checkout finishes).
    pub from_cart: bool,
    /// The kind of the last change, for its stream event.
    pub last_event: EventKind,
    pub fields: HashMap<String, String>,
}

impl OrderRecord {
    /// From HGETALL pairs; `None` when the hash is missing.
    pub fn from_hash(hash: HashMap<String, String>) -> Option<OrderRecord> {
        let json = |f: &str| hash.get(f).map(String::as_str).unwrap_or("[]").to_string();
        Some(OrderRecord {
            id: hash.get("id")?.clone(),
            user_id: hash.get("user_id").cloned().unwrap_or_default(),
            status: OrderStatus::parse(hash.get("status")?),
            lines: serde_json::from_str(&json("lines")).unwrap_or_default(),
            items: serde_json::from_str(&json("items")).unwrap_or_default(),
            total_cents: hash
                .get("total_cents")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            idempotency_key: hash.get("idempotency_key").cloned().unwrap_or_default(),
            from_cart: hash.get("from_cart").is_some_and(|v| v == "1"),
            last_event: hash
                .get("last_event")
                .and_then(|kind| EventKind::parse(kind))
                .unwrap_or(EventKind::Created),
            fields: hash,
        })
    }

    /// The committed status, or `None` while the checkout is in progress.
    pub fn status(&self) -> Option<OrderStatus> {
        self.status
    }

    /// The API view; `None` while the checkout is in progress.
    pub fn view(&self) -> Option<Order> {
        let text = |f: &str| self.fields.get(f).filter(|v| !v.is_empty()).cloned();
        Some(Order {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            status: self.status()?,
            items: self.items.clone(),
            total_cents: self.total_cents,
            created_at: text("created_at").unwrap_or_default(),
            updated_at: text("updated_at"),
            paid_at: text("paid_at"),
            shipped_at: text("shipped_at"),
            delivered_at: text("delivered_at"),
            cancelled_at: text("cancelled_at"),
        })
    }
}

/// Body of `POST /v1/orders`: explicit items, or `{}` to check out the cart.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    /// Lines to order; absent = check out my cart.
    pub items: Option<Vec<Line>>,
}

impl CreateOrder {
    /// Validated lines, merged per product and in product order (so `[a, b]` and
    /// `[b, a]` are the same request); `None` for a cart checkout.
    pub fn lines(&self) -> AppResult<Option<Vec<Line>>> {
        let Some(items) = &self.items else {
            return Ok(None);
        };
        if items.is_empty() || items.len() > MAX_LINES as usize {
            return Err(AppError::invalid(
                "items",
                format!("must hold 1 to {MAX_LINES} lines (or be absent to check out the cart)"),
            ));
        }
        let mut merged: BTreeMap<&str, i64> = BTreeMap::new();
        for (i, line) in items.iter().enumerate() {
            validate::id(&line.product_id)
                .map_err(|m| AppError::invalid(&format!("items[{i}].product_id"), m))?;
            check_units(&format!("items[{i}].quantity"), line.quantity, MAX_QUANTITY)?;
            *merged.entry(&line.product_id).or_default() += line.quantity;
        }
        if let Some((id, _)) = merged.iter().find(|(_, q)| **q > MAX_QUANTITY) {
            return Err(AppError::invalid(
                "items",
                format!("product {id}: at most {MAX_QUANTITY} units per order"),
            ));
        }
        Ok(Some(
            merged
                .into_iter()
                .map(|(product_id, quantity)| Line {
                    product_id: product_id.to_string(),
                    quantity,
                })
                .collect(),
        ))
    }
}

/// The fingerprint an `Idempotency-Key` remembers: SHA-256 of the normalized request
/// (the merged, sorted lines, or "cart"), so a reordered but equal body matches.
pub fn fingerprint(lines: Option<&[Line]>) -> String {
    let canonical = match lines {
        None => "cart".to_string(),
        Some(lines) => lines
            .iter()
            .map(|l| format!("{}*{}", l.product_id, l.quantity))
            .collect::<Vec<_>>()
            .join(","),
    };
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Body of `PATCH /v1/orders/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrder {
    /// The next status: `paid`, `shipped`, `delivered` (or `cancelled`).
    pub status: OrderStatus,
}

/// A page of a user's orders, newest first.
pub type OrderPage = Page<Order>;

impl Paged for Order {
    const PAGE_NAME: &'static str = "OrderPage";
    const PAGE_DESCRIPTION: &'static str = "A page of a user's orders, newest first.";
}

/// Whether an invoice is still to be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    /// The order is pending.
    Issued,
    /// The order has been paid (or shipped, or delivered).
    Paid,
    /// The order was cancelled.
    Void,
}

/// The invoice the billing consumer group wrote for an order: exactly one per order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invoice {
    #[schema(example = "inv-42")]
    pub id: String,
    pub order_id: String,
    pub user_id: String,
    pub status: InvoiceStatus,
    pub items: Vec<OrderItem>,
    pub total_cents: i64,
    /// RFC 3339 UTC.
    pub issued_at: String,
    pub updated_at: String,
    /// The `events:orders` entry that created it.
    pub event_id: String,
}

impl Invoice {
    /// From HGETALL pairs; `None` when there is no invoice yet.
    pub fn from_hash(hash: &HashMap<String, String>) -> Option<Invoice> {
        let text = |f: &str| hash.get(f).cloned().unwrap_or_default();
        Some(Invoice {
            id: hash.get("id")?.clone(),
            order_id: text("order_id"),
            user_id: text("user_id"),
            status: match hash.get("status").map(String::as_str) {
                Some("paid") => InvoiceStatus::Paid,
                Some("void") => InvoiceStatus::Void,
                _ => InvoiceStatus::Issued,
            },
            items: serde_json::from_str(&text("items")).unwrap_or_default(),
            total_cents: text("total_cents").parse().unwrap_or(0),
            issued_at: text("issued_at"),
            updated_at: text("updated_at"),
            event_id: text("event_id"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, quantity: i64) -> Line {
        Line {
            product_id: id.into(),
            quantity,
        }
    }

    #[test]
    fn equal_requests_in_another_order_have_one_fingerprint() {
        let a = CreateOrder {
            items: Some(vec![line("2", 1), line("1", 2), line("2", 3)]),
        };
        let b = CreateOrder {
            items: Some(vec![line("1", 2), line("2", 4)]),
        };
        let lines_a = a.lines().unwrap().unwrap();
        assert_eq!(lines_a, vec![line("1", 2), line("2", 4)]);
        assert_eq!(
            fingerprint(Some(&lines_a)),
            fingerprint(b.lines().unwrap().as_deref())
        );
        assert_ne!(fingerprint(Some(&lines_a)), fingerprint(None));
    }

    #[test]
    fn the_lifecycle_only_moves_forward_and_cancels_before_shipping() {
        use OrderStatus::*;
        assert_eq!(Paid.follows(), &[Pending]);
        assert!(!Cancelled.follows().contains(&Shipped));
        assert!(Delivered.is_shipped() && !Paid.is_shipped());
    }
}
