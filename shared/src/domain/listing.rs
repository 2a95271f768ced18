//! Listing orders: filters, sort orders, pages and the opaque cursor between them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::delivery::Channel;
use super::ids::{OrderId, UserId};
use super::order::Order;
use super::status::{OrderStatus, PaymentStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortField {
    #[serde(rename = "created_at")]
    CreatedAt,
    #[serde(rename = "total")]
    Total,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    /// Newest first.
    pub const DEFAULT: Sort = Sort {
        field: SortField::CreatedAt,
        descending: true,
    };

    pub fn parse(text: &str) -> Option<Sort> {
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text),
        };
        let field = match name {
            "created_at" => SortField::CreatedAt,
            "total" => SortField::Total,
            _ => return None,
        };
        Some(Sort { field, descending })
    }
}

/// The statuses a listing keeps: one, or a group the original requirements name with one word
/// (`pending` for both pending statuses, `confirmed` for PAID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFilter(Vec<OrderStatus>);

impl StatusFilter {
    pub fn one(status: OrderStatus) -> Self {
        Self(vec![status])
    }

    /// A status name (any case), or `pending` or `confirmed`.
    pub fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("pending") {
            return Some(Self(vec![OrderStatus::PendingReservingStock, OrderStatus::PendingPayment]));
        }
        if text.eq_ignore_ascii_case("confirmed") {
            return Some(Self::one(OrderStatus::Paid));
        }
        text.parse().ok().map(Self::one)
    }

    pub fn contains(&self, status: OrderStatus) -> bool {
        self.0.contains(&status)
    }

    pub fn statuses(&self) -> &[OrderStatus] {
        &self.0
    }
}

/// Which orders to list and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only this user's orders; `None` lists every user's (admins only).
    pub owner: Option<UserId>,
    pub status: Option<StatusFilter>,
    /// Only orders taken on this channel (a filter on what is read, like `from` and `to`).
    pub channel: Option<Channel>,
    /// Only orders whose payment stands so (DISPUTED, ...): a filter on what is read too.
    pub payment_status: Option<PaymentStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub sort: Sort,
    pub limit: u16,
    pub after: Option<Cursor>,
    /// Most items the listing may read for this page; a page may come back short with a cursor.
    pub read_budget: usize,
}

impl ListQuery {
    pub const DEFAULT_LIMIT: u16 = 20;
    pub const MAX_LIMIT: u16 = 100;
    /// Every API listing reads at most this many items per request.
    pub const READ_BUDGET: usize = 1_000;

    /// Whether an order passes the filters that are not part of an index key.
    pub fn admits(&self, order: &Order) -> bool {
        self.status.as_ref().is_none_or(|statuses| statuses.contains(order.status))
            && self.channel.is_none_or(|channel| order.channel == channel)
            && self.payment_status.is_none_or(|payment| order.payment_status == payment)
            && self.from.is_none_or(|from| order.created_at >= from)
            && self.to.is_none_or(|to| order.created_at <= to)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
    /// Items read from storage to answer: what a caller listing page after page spends of its
    /// read budget.
    pub read: usize,
}

/// Where a page ended: the sort position of its last order. Opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub sort: Sort,
    pub position: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this service issued for this sort order")]
pub struct BadCursor;

impl Cursor {
    pub fn after(order: &Order, sort: Sort) -> Self {
        Self {
            sort,
            position: sort_position(order, sort.field),
        }
    }

    pub fn encode(&self) -> String {
        // Serialising a struct of strings and enums cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a client's cursor, refusing one minted for another sort order or tampered with.
    pub fn decode(text: &str, sort: Sort) -> Result<Self, BadCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| BadCursor)?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
        cursor.is_for(sort).then_some(cursor).ok_or(BadCursor)
    }

    /// Whether this cursor was minted for `sort`: its position has the shape that sort's
    /// positions have (for a cursor carried inside another one).
    pub fn is_for(&self, sort: Sort) -> bool {
        self.sort == sort && is_sort_position(&self.position, sort.field)
    }
}

/// Digits of the zero-padded total in minor units: sorts as text in numeric order.
const TOTAL_DIGITS: usize = 15;

/// The key an index sorts orders by: unique (ends with the order id) and ordered as text.
pub fn sort_position(order: &Order, field: SortField) -> String {
    match field {
        SortField::CreatedAt => format!("{}#{}", timestamp_key(order.created_at), order.id),
        SortField::Total => format!("{:0width$}#{}", order.totals.total.minor_units(), order.id, width = TOTAL_DIGITS),
    }
}

/// A fixed-width RFC 3339 timestamp, so that text order is time order.
pub fn timestamp_key(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn is_sort_position(position: &str, field: SortField) -> bool {
    let Some((head, id)) = position.rsplit_once('#') else {
        return false;
    };
    let head_ok = match field {
        SortField::CreatedAt => DateTime::parse_from_rfc3339(head).is_ok() && head.len() == 27,
        SortField::Total => head.len() == TOTAL_DIGITS && head.bytes().all(|b| b.is_ascii_digit()),
    };
    head_ok && OrderId::parse(id).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_orders_parse_with_an_optional_minus_for_descending() {
        assert_eq!(Sort::parse("-created_at"), Some(Sort::DEFAULT));
        assert_eq!(
            Sort::parse("total"),
            Some(Sort {
                field: SortField::Total,
                descending: false
            })
        );
        assert_eq!(Sort::parse("price"), None);
        assert_eq!(Sort::parse("--total"), None);
    }

    #[test]
    fn a_cursor_round_trips_only_for_the_sort_it_was_minted_for() {
        let position = format!("{}#{}", timestamp_key(Utc::now()), OrderId::new());
        let cursor = Cursor {
            sort: Sort::DEFAULT,
            position,
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, Sort::DEFAULT), Ok(cursor));
        assert_eq!(
            Cursor::decode(
                &text,
                Sort {
                    field: SortField::Total,
                    descending: true
                }
            ),
            Err(BadCursor)
        );
        assert_eq!(Cursor::decode("not-base64!", Sort::DEFAULT), Err(BadCursor));
        let forged = Cursor {
            sort: Sort::DEFAULT,
            position: "x#y".into(),
        }
        .encode();
        assert_eq!(Cursor::decode(&forged, Sort::DEFAULT), Err(BadCursor));
    }

    #[test]
    fn timestamp_keys_are_fixed_width_so_text_order_is_time_order() {
        let early = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let later = DateTime::parse_from_rfc3339("2026-01-01T00:00:00.5Z").unwrap().with_timezone(&Utc);
        assert_eq!(timestamp_key(early).len(), timestamp_key(later).len());
        assert!(timestamp_key(early) < timestamp_key(later));
    }
}

/// A field of the customer an admin finds orders by, by its beginning and whatever its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerField {
    Email,
    Name,
}

/// The shortest beginning a search by customer takes: its first characters choose the index
/// partition, so that the partitions stay small and many.
pub const SEARCH_PREFIX_CHARS: usize = 2;

/// A customer's email or name as the search compares it: trimmed, lower case.
pub fn search_text(text: &str) -> String {
    text.trim().to_lowercase()
}

/// The index partition of a searched text (or of a search's beginning): its first characters.
pub fn search_partition(field: CustomerField, text: &str) -> Option<String> {
    let head: String = text.chars().take(SEARCH_PREFIX_CHARS).collect();
    let tag = match field {
        CustomerField::Email => "E",
        CustomerField::Name => "N",
    };
    (head.chars().count() == SEARCH_PREFIX_CHARS).then(|| format!("{tag}#{head}"))
}
