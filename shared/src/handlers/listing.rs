//! Order listings: all orders (admins), a customer's own, filtered by status, dates and
//! channel, sorted, a page at a time with a cursor, and admin search.

use chrono::{DateTime, Datelike, Utc};
use lambda_http::Request;
use serde::Serialize;

use super::{admin, caller};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::domain::delivery::Channel;
use crate::domain::listing::{search_text, CustomerField, StatusFilter, SEARCH_PREFIX_CHARS};
use crate::domain::status::PaymentStatus;
use crate::domain::{Cursor, ListQuery, Order, OrderId, OrderStatus, Sku, Sort, UserId};
use crate::http::{json, path_param, query, ApiError, HttpResult, QueryParams};
use crate::ports::OrderLink;
use crate::render::csv as export;
use crate::service::App;

#[derive(Serialize)]
struct OrderList {
    orders: Vec<Order>,
    next_cursor: Option<String>,
}

pub async fn list_orders(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let params = query(
        &request,
        &[
            "q",
            "status",
            "payment_status",
            "channel",
            "user_id",
            "from",
            "to",
            "sort",
            "limit",
            "cursor",
        ],
    )?;
    if let Some(text) = params.get("q") {
        if !identity.is_admin {
            return Err(ApiError::Forbidden);
        }
        return search(app, &params, text).await;
    }
    let requested = params.parse("user_id", |raw| UserId::parse(raw).ok(), "a user id")?;
    let owner = match (identity.is_admin, requested) {
        (true, requested) => requested,
        (false, None) => Some(identity.user.clone()),
        (false, Some(user)) if user == identity.user => Some(user),
        (false, Some(_)) => return Err(ApiError::Forbidden),
    };
    list(app, &params, owner).await
}

pub async fn list_user_orders(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let user = path_param(&request, "userId", UserId::parse)?;
    if !identity.may_access(&user) {
        return Err(ApiError::Forbidden);
    }
    let params = query(
        &request,
        &["status", "payment_status", "channel", "from", "to", "sort", "limit", "cursor"],
    )?;
    list(app, &params, Some(user)).await
}

async fn list(app: &App, params: &QueryParams<'_>, owner: Option<UserId>) -> HttpResult {
    if params.get("sort") == Some(BY_STATUS) {
        return list_by_status(app, params, owner).await;
    }
    let listing = list_query(params, owner)?;
    let page = app.orders.list_orders(&listing).await?;
    json(
        200,
        &OrderList {
            orders: page.items,
            next_cursor: page.next.map(|cursor| cursor.encode()),
        },
    )
}

/// `sort=status`: orders grouped by status in lifecycle order, newest first within each.
const BY_STATUS: &str = "status";

/// Where a listing by status stopped: in which status, and where within it.
#[derive(Serialize, serde::Deserialize)]
struct StatusCursor {
    status: OrderStatus,
    #[serde(default)]
    after: Option<Cursor>,
}

impl StatusCursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let cursor: Self = serde_json::from_slice(&bytes).ok()?;
        // The position inside is checked as a cursor of its own: it reaches the index's key.
        cursor
            .after
            .as_ref()
            .is_none_or(|after| after.is_for(Sort::DEFAULT))
            .then_some(cursor)
    }
}

/// Each status's orders in turn, through the index of that status (or the user's orders,
/// filtered): one page may span several statuses.
async fn list_by_status(app: &App, params: &QueryParams<'_>, owner: Option<UserId>) -> HttpResult {
    let mut listing = list_query(params, owner)?;
    let start = match params.get("cursor") {
        None => None,
        Some(raw) => Some(StatusCursor::decode(raw).ok_or_else(|| {
            ApiError::bad_parameter(
                "cursor",
                "INVALID_CURSOR",
                "the cursor is not one this service issued for sort=status",
            )
        })?),
    };
    let wanted = listing.limit;
    let only = listing.status.take();
    // The statuses listed, in lifecycle order: every one, or those the filter keeps.
    let listed: Vec<OrderStatus> = OrderStatus::ALL
        .into_iter()
        .filter(|status| only.as_ref().is_none_or(|only| only.contains(*status)))
        .collect();
    let statuses = listed
        .iter()
        .copied()
        .skip_while(|status| start.as_ref().is_some_and(|start| start.status != *status));
    let mut orders: Vec<Order> = Vec::new();
    let mut next = None;
    // One budget for the whole request, however many statuses and pages it reads.
    let mut read = 0;
    for status in statuses {
        listing.status = Some(StatusFilter::one(status));
        listing.after = start
            .as_ref()
            .filter(|start| start.status == status)
            .and_then(|start| start.after.clone());
        loop {
            listing.read_budget = ListQuery::READ_BUDGET.saturating_sub(read);
            if listing.read_budget == 0 {
                // A short page: the next one starts where the reading stopped.
                next = Some(StatusCursor {
                    status,
                    after: listing.after.clone(),
                });
                break;
            }
            listing.limit = wanted - u16::try_from(orders.len()).unwrap_or(wanted);
            let page = app.orders.list_orders(&listing).await?;
            read += page.read;
            orders.extend(page.items);
            match page.next {
                Some(cursor) if orders.len() < usize::from(wanted) => listing.after = Some(cursor),
                Some(cursor) => {
                    next = Some(StatusCursor {
                        status,
                        after: Some(cursor),
                    });
                    break;
                }
                None => break,
            }
        }
        if next.is_some() {
            break;
        }
        if orders.len() >= usize::from(wanted) || read >= ListQuery::READ_BUDGET {
            // Full (or out of budget) at the end of a status: the next page starts with the
            // following one.
            next = listed
                .iter()
                .skip_while(|later| **later != status)
                .nth(1)
                .map(|&following| StatusCursor {
                    status: following,
                    after: None,
                });
            break;
        }
    }
    json(
        200,
        &OrderList {
            orders,
            next_cursor: next.map(|cursor| cursor.encode()),
        },
    )
}

/// What a cursor of a search by customer email or name starts with: `~` is no character of the
/// listings' own (base64url) cursors.
const CUSTOMER_CURSOR: char = '~';

/// The longest `q`: beyond any id, email or name worth searching by.
const MAX_SEARCH_CHARS: usize = 200;

/// `q` (admins): an order id (read by key), a product id (the index of orders by product), a
/// customer's email by its beginning (a text with `@`), a customer id with orders (the index of
/// a user's orders), or else a customer's name by its beginning; emails and names whatever their
/// case, each customer's newest first. The other filters apply as in a listing.
async fn search(app: &App, params: &QueryParams<'_>, text: &str) -> HttpResult {
    let invalid = || {
        ApiError::bad_parameter(
            "q",
            "INVALID_QUERY_PARAMETER",
            "q must be an order id, a product id, a customer id, or the first two or more characters of a customer's email or name",
        )
    };
    if text.is_empty() || text.chars().count() > MAX_SEARCH_CHARS || text.chars().any(char::is_control) {
        return Err(invalid());
    }
    if let Some(cursor) = params.get("cursor").and_then(|raw| raw.strip_prefix(CUSTOMER_CURSOR)) {
        let (field, after) = decode_customer_cursor(cursor)
            .ok_or_else(|| ApiError::bad_parameter("cursor", "INVALID_CURSOR", "the cursor is not one this service issued"))?;
        return search_customers(app, params, field, text, Some(&after)).await;
    }
    if text.contains('@') {
        return search_customers(app, params, CustomerField::Email, text, None).await;
    }
    if let Ok(id) = OrderId::parse(text) {
        let listing = list_query(params, None)?;
        let order = app.orders.get_order(id).await?;
        let orders: Vec<Order> = order.into_iter().filter(|order| listing.admits(order)).collect();
        return json(200, &OrderList { orders, next_cursor: None });
    }
    let sku = Sku::parse(text).ok();
    let product = match &sku {
        Some(sku) => app.catalogue.get_products(std::slice::from_ref(sku)).await?.remove(sku),
        None => None,
    };
    if let Some(product) = product {
        let listing = list_query(params, None)?;
        if listing.sort != Sort::DEFAULT {
            return Err(ApiError::bad_parameter(
                "sort",
                "INVALID_QUERY_PARAMETER",
                "a search by product lists newest first",
            ));
        }
        let page = app
            .links
            .list_linked_orders(&OrderLink::Product(product.product_id), listing.limit, listing.after.as_ref())
            .await?;
        return json(
            200,
            &OrderList {
                orders: page.items.into_iter().filter(|order| listing.admits(order)).collect(),
                next_cursor: page.next.map(|cursor| cursor.encode()),
            },
        );
    }
    if let Ok(customer) = UserId::parse(text) {
        if params.get("sort") == Some(BY_STATUS) || params.get("cursor").is_some() {
            return list(app, params, Some(customer)).await;
        }
        // A customer id with orders lists them; anything else is a name.
        let page = app.orders.list_orders(&list_query(params, Some(customer))?).await?;
        if !page.items.is_empty() || page.next.is_some() {
            return json(
                200,
                &OrderList {
                    orders: page.items,
                    next_cursor: page.next.map(|cursor| cursor.encode()),
                },
            );
        }
    }
    if search_text(text).chars().count() < SEARCH_PREFIX_CHARS {
        return Err(invalid());
    }
    search_customers(app, params, CustomerField::Name, text, None).await
}

/// Orders by their customer's email or name, by its beginning; the listing's filters apply.
async fn search_customers(app: &App, params: &QueryParams<'_>, field: CustomerField, text: &str, after: Option<&str>) -> HttpResult {
    let listing = list_query_of(params, None, LISTING_PAGE, false)?;
    if listing.sort != Sort::DEFAULT {
        return Err(ApiError::bad_parameter(
            "sort",
            "INVALID_QUERY_PARAMETER",
            "a search by customer lists each customer's orders newest first",
        ));
    }
    let prefix = search_text(text);
    if prefix.chars().count() < SEARCH_PREFIX_CHARS {
        return Err(ApiError::bad_parameter(
            "q",
            "INVALID_QUERY_PARAMETER",
            "a customer's email or name is searched by at least its first two characters",
        ));
    }
    // A cursor names an entry of this very search: its key begins with the prefix, and is no
    // longer than an index key may be.
    let within = |after: &str| {
        after
            .rsplit_once('|')
            .is_some_and(|(key, id)| key.starts_with(&prefix) && key.len() <= 1000 && OrderId::parse(id).is_ok())
    };
    if after.is_some_and(|after| !within(after)) {
        return Err(ApiError::bad_parameter(
            "cursor",
            "INVALID_CURSOR",
            "the cursor is not one of this search",
        ));
    }
    let (orders, next) = app.links.search_customers(field, &prefix, listing.limit, after).await?;
    json(
        200,
        &OrderList {
            orders: orders.into_iter().filter(|order| listing.admits(order)).collect(),
            next_cursor: next.map(|next| encode_customer_cursor(field, &next)),
        },
    )
}

fn encode_customer_cursor(field: CustomerField, after: &str) -> String {
    let tag = match field {
        CustomerField::Email => 'E',
        CustomerField::Name => 'N',
    };
    format!("{CUSTOMER_CURSOR}{}", URL_SAFE_NO_PAD.encode(format!("{tag}{after}")))
}

fn decode_customer_cursor(raw: &str) -> Option<(CustomerField, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let mut chars = text.chars();
    let field = match chars.next()? {
        'E' => CustomerField::Email,
        'N' => CustomerField::Name,
        _ => return None,
    };
    Some((field, chars.as_str().to_owned()))
}

/// The listing the endpoint's (already checked) query parameters ask for.
fn list_query(params: &QueryParams<'_>, owner: Option<UserId>) -> Result<ListQuery, ApiError> {
    list_query_of(params, owner, LISTING_PAGE, true)
}

/// The listing the query parameters ask for, with `limit` bounded by `page`; its `cursor` read
/// unless another reader owns it (`with_cursor` false: a search by customer).
fn list_query_of(params: &QueryParams<'_>, owner: Option<UserId>, page: PageSize, with_cursor: bool) -> Result<ListQuery, ApiError> {
    let status = params.parse(
        "status",
        StatusFilter::parse,
        "an order status such as PENDING_PAYMENT, or pending (both pending statuses) or confirmed (PAID)",
    )?;
    let channel = params.parse(
        "channel",
        |raw| raw.parse::<Channel>().ok(),
        "a sales channel: web, mobile_app, whatsapp, instagram, marketplace or pos",
    )?;
    let payment_status = params.parse(
        "payment_status",
        |raw| serde_json::from_value::<PaymentStatus>(serde_json::Value::String(raw.to_owned())).ok(),
        "a payment status: PENDING, PAID, FAILED, REFUNDED, PARTIALLY_REFUNDED or DISPUTED",
    )?;
    let from = params.parse(
        "from",
        parse_time,
        "an RFC 3339 timestamp from 1970 to 9999 UTC, such as 2026-01-31T00:00:00Z",
    )?;
    let to = params.parse(
        "to",
        parse_time,
        "an RFC 3339 timestamp from 1970 to 9999 UTC, such as 2026-01-31T23:59:59Z",
    )?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(ApiError::bad_parameter(
                "from",
                "INVALID_QUERY_PARAMETER",
                "from must not be after to",
            ));
        }
    }
    let by_status = params.get("sort") == Some(BY_STATUS);
    let sort = if by_status {
        Sort::DEFAULT
    } else {
        params
            .parse("sort", Sort::parse, "one of created_at, -created_at, total, -total, status")?
            .unwrap_or(Sort::DEFAULT)
    };
    let limit = page_limit(params, page)?;
    // The listing by status reads its own cursor.
    let after = if by_status || !with_cursor {
        None
    } else {
        page_cursor(params, sort)?
    };
    Ok(ListQuery {
        owner,
        status,
        channel,
        payment_status,
        from,
        to,
        sort,
        limit,
        after,
        read_budget: ListQuery::READ_BUDGET,
    })
}

/// A listing bound: RFC 3339, within the years every stored timestamp key can express (a
/// year past 9999 would format as `+10000-...` and compare wrongly as text).
fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let at = DateTime::parse_from_rfc3339(raw).ok()?.with_timezone(&Utc);
    (1970..=9999).contains(&at.year()).then_some(at)
}

/// `limit` (1 to 100, 20 when absent) and `cursor` (one this service issued for `sort`).
pub(crate) fn page_params(params: &QueryParams<'_>, sort: Sort) -> Result<(u16, Option<Cursor>), ApiError> {
    Ok((page_limit(params, LISTING_PAGE)?, page_cursor(params, sort)?))
}

/// How many orders one call may ask for, and gets when it does not say.
#[derive(Clone, Copy)]
struct PageSize {
    default: u16,
    max: u16,
}

const LISTING_PAGE: PageSize = PageSize {
    default: ListQuery::DEFAULT_LIMIT,
    max: ListQuery::MAX_LIMIT,
};

fn page_limit(params: &QueryParams<'_>, page: PageSize) -> Result<u16, ApiError> {
    Ok(params
        .parse(
            "limit",
            |raw| raw.parse::<u16>().ok().filter(|n| (1..=page.max).contains(n)),
            &format!("a whole number from 1 to {}", page.max),
        )?
        .unwrap_or(page.default))
}

fn page_cursor(params: &QueryParams<'_>, sort: Sort) -> Result<Option<Cursor>, ApiError> {
    params
        .get("cursor")
        .map(|raw| Cursor::decode(raw, sort).map_err(|err| ApiError::bad_parameter("cursor", "INVALID_CURSOR", err.to_string())))
        .transpose()
}

/// Orders one export call reads at most (and by default): the rest comes with the next call.
const EXPORT_PAGE: PageSize = PageSize { default: 500, max: 500 };

/// Most bytes of CSV one export call answers: under Lambda's 6 MB response limit with room for
/// the response's own encoding.
const EXPORT_MAX_BYTES: usize = 4 * 1024 * 1024;

/// `GET /orders/export?status&from&to&limit&cursor` (admin): the matching orders as CSV, one
/// row per line item, newest first. One call answers at most `limit` orders (500) and 4 MB,
/// reading at most 1,000 index items, a page of up to 100 at a time; when more remain, the
/// `Next-Cursor` header carries on from there (the header row comes with the first call only,
/// so the calls' bodies concatenate into one file).
pub async fn export_orders(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let params = query(
        &request,
        &["status", "payment_status", "channel", "user_id", "from", "to", "limit", "cursor"],
    )?;
    let customer = params.parse("user_id", |raw| UserId::parse(raw).ok(), "a user id")?;
    let mut listing = list_query_of(&params, customer, EXPORT_PAGE, true)?;
    let wanted = listing.limit;
    let mut body = if listing.after.is_none() {
        export::header_row()
    } else {
        String::new()
    };
    let (mut exported, mut read, mut next) = (0u16, 0usize, None);
    'pages: while exported < wanted && read < ListQuery::READ_BUDGET {
        listing.limit = (wanted - exported).min(ListQuery::MAX_LIMIT);
        listing.read_budget = ListQuery::READ_BUDGET - read;
        let page = app.orders.list_orders(&listing).await?;
        read += page.read;
        for order in &page.items {
            let rows = export::order_rows(order);
            if exported > 0 && body.len() + rows.len() > EXPORT_MAX_BYTES {
                // Full: `next` is after the last order answered; the next call starts here.
                break 'pages;
            }
            body.push_str(&rows);
            exported += 1;
            next = Some(Cursor::after(order, listing.sort));
        }
        next = page.next;
        match &next {
            Some(cursor) => listing.after = Some(cursor.clone()),
            None => break,
        }
    }
    let mut response = lambda_http::Response::builder()
        .status(200)
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", "attachment; filename=\"orders.csv\"");
    if let Some(cursor) = next {
        response = response.header("next-cursor", cursor.encode());
    }
    response
        .body(lambda_http::Body::Text(body))
        .map_err(|err| ApiError::Internal(Box::new(err)))
}
