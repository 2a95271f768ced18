//! Sales analytics, counted from the domain events through the bus, the analytics rule and
//! its queue: the figures equal what the test computes from what it did, and replaying every
//! event changes nothing.

use std::sync::Arc;
use std::time::Duration;

use orders_shared::handlers::QueueFunction;
use orders_shared::ports::ManualClock;
use orders_tests::sweep;
use orders_tests::{drain, eventually, order_ids, service, store_copies, subscribe, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The shop's daily figures summed over the days around today (a test near midnight spans two).
async fn totals(admin: &Api, range: &str) -> Value {
    let report = admin.get(&format!("/api/v1/orders/analytics/daily?{range}")).await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    let mut sum = json!({"placed": 0, "paid": 0, "cancelled": 0, "invalid": 0, "expired": 0, "revenue": 0.0, "refunds": 0.0});
    for day in report.body["days"].as_array().unwrap() {
        for count in ["placed", "paid", "cancelled", "invalid", "expired"] {
            sum[count] = json!(sum[count].as_i64().unwrap() + day[count].as_i64().unwrap());
        }
        for amount in ["revenue", "refunds"] {
            let cents: i64 = day[amount].as_str().unwrap().replace('.', "").parse().unwrap();
            sum[amount] = json!(sum[amount].as_f64().unwrap() + cents as f64 / 100.0);
        }
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_equal_what_was_placed_paid_cancelled_and_refunded_and_a_replay_of_every_event_changes_nothing() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(Setup {
        clock: Some(Arc::new(clock.clone())),
        ..Setup::default()
    })
    .await;
    let subscriber = subscribe(&service).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let plate = json!({"name": "Plate", "seller_id": "seller-2", "price": "4.00", "on_hand": 10});
    admin.send(Method::PUT, "/api/v1/inventory/plate", Some(plate), &[]).await;
    let payments = Api::payments(&service);
    let customer = |name: &str| Api::customer(&service, name);

    let (a, total) = customer("alice").reserved_order(&[("mug", 2)]).await;
    payments.confirm(&a, "pay-a", &total).await;
    let (b, total) = customer("bob").reserved_order(&[("mug", 1), ("plate", 2)]).await;
    payments.confirm(&b, "pay-b", &total).await;
    let chipped = json!({"lines": [{"item_id": "item-2", "quantity": 1}], "reason": "chipped"});
    let refunded = admin
        .send(
            Method::POST,
            &format!("/api/v1/orders/{b}/refund"),
            Some(chipped),
            &[("idempotency-key", "r-1")],
        )
        .await;
    assert_eq!(refunded.status, StatusCode::CREATED, "{refunded:?}");
    let (c, _) = customer("carol").reserved_order(&[("plate", 1)]).await;
    customer("carol").cancel(&c).await;
    let invalid = customer("dave").place(&[("mug", 100)], None).await;
    assert_eq!(invalid.status, StatusCode::CONFLICT);
    let (_, _) = customer("erin").reserved_order(&[("mug", 1)]).await;
    let (f, total) = customer("frank").reserved_order(&[("mug", 1)]).await;
    payments.confirm(&f, "pay-f", &total).await;
    let cancelled = customer("frank").cancel(&f).await;
    assert_eq!(cancelled.body["refunded_total"], "8.00", "{cancelled:?}");
    clock.advance(service.app.payment_timeout + chrono::Duration::seconds(1));
    assert_eq!(sweep(&service.app).await.unwrap().expired, 1);

    // Placed: a, b, c, e, f (d never held stock). Paid: a 16.00, b 16.00, f 8.00.
    // Refunded: one plate of b (4.00) and all of f (8.00).
    let expected = json!({"placed": 5, "paid": 3, "cancelled": 2, "invalid": 1, "expired": 1, "revenue": 40.0, "refunds": 12.0});
    let today = orders_shared::ports::Clock::now(&clock).date_naive();
    let range = format!(
        "from={}&to={}",
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(1)
    );
    let settled = eventually(Duration::from_secs(60), || async {
        let sum = totals(&admin, &range).await;
        (sum == expected).then_some(sum)
    })
    .await;

    let revenue = admin
        .get(&format!("/api/v1/orders/analytics/revenue?{range}&granularity=month"))
        .await
        .body;
    assert_eq!(
        (revenue["gross"].as_str(), revenue["refunded"].as_str(), revenue["net"].as_str()),
        (Some("40.00"), Some("12.00"), Some("28.00"))
    );
    let sellers: Vec<(String, i64, i64, String, String)> = revenue["sellers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|seller| {
            (
                seller["seller_id"].as_str().unwrap().to_owned(),
                seller["orders"].as_i64().unwrap(),
                seller["units"].as_i64().unwrap(),
                seller["gross"].as_str().unwrap().to_owned(),
                seller["refunded"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        sellers,
        vec![
            ("seller-1".to_owned(), 3, 4, "32.00".to_owned(), "8.00".to_owned()),
            ("seller-2".to_owned(), 1, 2, "8.00".to_owned(), "4.00".to_owned()),
        ]
    );

    let trends = admin.get(&format!("/api/v1/orders/analytics/trends?{range}")).await.body;
    assert_eq!(
        (
            trends["conversion_rate"].as_str(),
            trends["cancellation_rate"].as_str(),
            trends["expiry_rate"].as_str()
        ),
        (Some("0.6000"), Some("0.4000"), Some("0.2000"))
    );
    assert_eq!(trends["top_products_by_units"][0]["product_id"], "mug");
    assert_eq!(trends["top_products_by_units"][0]["units"], 4);
    assert_eq!(trends["top_products_by_revenue"][1]["revenue"], "8.00");
    assert!(trends["growth"]["revenue"].is_null(), "nothing to grow from: {trends}");

    let seller_two = Api::seller(&service, "seller-2")
        .get(&format!("/api/v1/orders/analytics/sellers/seller-2?{range}"))
        .await;
    assert_eq!(seller_two.status, StatusCode::OK, "{seller_two:?}");
    assert_eq!(
        (seller_two.body["gross"].as_str(), seller_two.body["net"].as_str()),
        (Some("8.00"), Some("4.00"))
    );
    let other = Api::seller(&service, "seller-2")
        .get(&format!("/api/v1/orders/analytics/sellers/seller-1?{range}"))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);

    // Every event the bus carried, delivered to the analytics step again: nothing counts twice.
    let published = drain(&service, &subscriber).await;
    assert!(published.len() >= 12, "{}", published.len());
    let records: Vec<Value> = published
        .iter()
        .enumerate()
        .map(|(n, event)| json!({"messageId": format!("again-{n}"), "body": event.to_string()}))
        .collect();
    let again = QueueFunction::UpdateAnalytics
        .handle(&service.app, serde_json::from_value(json!({ "Records": records })).unwrap())
        .await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(totals(&admin, &range).await, settled, "a replayed event counts once");

    let too_long = admin.get("/api/v1/orders/analytics/daily?from=2026-01-01&to=2026-06-30").await;
    assert_eq!((too_long.status, too_long.code()), (StatusCode::BAD_REQUEST, "RANGE_TOO_LONG"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_at_the_calendars_extremes_are_refused_on_every_report_route_and_never_crash_it() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    let seller = Api::seller(&service, "seller-1");
    let extremes = [
        ("to=-262143-01-01", "to"),
        ("to=262142-12-31", "to"),
        ("from=-262143-01-01&to=-262143-01-02", "to"),
        ("from=-262143-01-01&to=2026-11-01", "from"),
        ("from=1969-12-31&to=1970-01-01", "from"),
        ("from=9999-12-31&to=+10000-01-01", "to"),
    ];
    for (range, field) in extremes {
        for (who, route) in [
            (&admin, "daily"),
            (&admin, "revenue"),
            (&admin, "revenue?granularity=week&"),
            (&admin, "trends"),
            (&seller, "sellers/seller-1"),
        ] {
            let path = match route.split_once('?') {
                Some((route, more)) => format!("/api/v1/orders/analytics/{route}?{more}{range}"),
                None => format!("/api/v1/orders/analytics/{route}?{range}"),
            };
            let answer = who.get(&path).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}: {}", answer.body);
            assert_eq!(answer.body["parameter"], field, "{path}: {}", answer.body);
        }
    }
    // The calendar's own first days and last day still make reports.
    for range in ["from=1970-01-01&to=1970-01-07", "from=9999-12-01&to=9999-12-31"] {
        for route in ["daily", "revenue?granularity=week&", "trends"] {
            let path = match route.split_once('?') {
                Some((route, more)) => format!("/api/v1/orders/analytics/{route}?{more}{range}"),
                None => format!("/api/v1/orders/analytics/{route}?{range}"),
            };
            assert_eq!(admin.get(&path).await.status, StatusCode::OK, "{path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_is_a_csv_row_per_line_item_in_bounded_calls_that_concatenate_into_one_file() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 100).await;
    let odd = json!({"name": "=HYPERLINK(\"http://evil\"), \"large\"", "seller_id": "seller-2", "price": "0.50", "on_hand": 100});
    admin.send(Method::PUT, "/api/v1/inventory/odd", Some(odd), &[]).await;
    let alice = Api::customer(&service, "alice");
    let mut placed = Vec::new();
    for _ in 0..5 {
        placed.push(alice.reserved_order(&[("mug", 1), ("odd", 3)]).await.0);
    }
    let (paid, total) = alice.reserved_order(&[("mug", 2)]).await;
    Api::payments(&service).confirm(&paid, "pay-1", &total).await;

    let mut file = String::new();
    let mut cursor: Option<String> = None;
    let mut calls = 0;
    loop {
        let path = match &cursor {
            None => "/api/v1/orders/export?status=PENDING_PAYMENT&limit=2".to_owned(),
            Some(cursor) => format!("/api/v1/orders/export?status=PENDING_PAYMENT&limit=2&cursor={cursor}"),
        };
        let reply = admin.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        file.push_str(reply.body.as_str().unwrap());
        calls += 1;
        match reply.headers.get("next-cursor") {
            Some(next) => cursor = Some(next.to_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert!(calls >= 3, "five orders two at a time: {calls} calls");
    let rows: Vec<&str> = file.split("\r\n").filter(|row| !row.is_empty()).collect();
    assert!(
        rows[0].starts_with("order_id,order_number,created_at,status"),
        "one header row: {}",
        rows[0]
    );
    assert_eq!(rows.iter().filter(|row| row.starts_with("order_id,")).count(), 1);
    assert_eq!(rows.len(), 1 + 5 * 2, "a row per line item of the five unpaid orders");
    for id in &placed {
        assert_eq!(rows.iter().filter(|row| row.starts_with(id.as_str())).count(), 2, "{id}");
    }
    assert!(
        !rows.iter().any(|row| row.starts_with(paid.as_str())),
        "the paid order does not match"
    );
    let odd_row = rows.iter().find(|row| row.contains(",odd,")).unwrap();
    assert!(
        odd_row.contains(",\"'=HYPERLINK(\"\"http://evil\"\"), \"\"large\"\"\",seller-2,3,0.50,1.50,9.50"),
        "quoted, neutralised, money as decimals: {odd_row}"
    );
    // The listing's other filters narrow the export too: by payment, by customer.
    let exported = |csv: &Value| -> std::collections::BTreeSet<String> {
        let text = csv.as_str().unwrap_or_default();
        text.split("\r\n")
            .skip(1)
            .filter_map(|row| row.split(',').next())
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let by_payment = admin.get("/api/v1/orders/export?payment_status=PAID").await;
    assert_eq!(exported(&by_payment.body), std::collections::BTreeSet::from([paid.clone()]));
    let bob = Api::customer(&service, "bob").reserved_order(&[("mug", 1)]).await.0;
    let by_customer = admin.get("/api/v1/orders/export?user_id=bob&channel=web").await;
    assert_eq!(exported(&by_customer.body), std::collections::BTreeSet::from([bob]));
    assert_eq!(
        admin.get("/api/v1/orders/export?payment_status=nope").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        Api::customer(&service, "alice").get("/api/v1/orders/export").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_answers_at_most_four_megabytes_a_call_and_its_calls_still_concatenate_into_the_whole_file() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    // 200 four-byte characters: a row of about 1 KB per line item.
    let name = "\u{1F9E6}".repeat(200);
    let skus: Vec<String> = (0..50).map(|n| format!("sock-{n}")).collect();
    for sku in &skus {
        let product = json!({"name": name, "seller_id": "seller-1", "price": "1.00", "on_hand": 1000});
        let put = admin
            .send(Method::PUT, &format!("/api/v1/inventory/{sku}"), Some(product), &[])
            .await;
        assert!(put.status.is_success(), "{put:?}");
    }
    let alice = Api::customer(&service, "alice");
    let lines: Vec<(&str, u32)> = skus.iter().map(|sku| (sku.as_str(), 1)).collect();
    let orders = 90;
    // One order is placed; the rest are stored as copies of it, which is lighter than placing each.
    let (first, _) = alice.reserved_order(&lines).await;
    store_copies(&service, &first, orders - 1).await;

    let too_many = admin.get("/api/v1/orders/export?limit=501").await;
    assert_eq!(
        (too_many.status, too_many.body["parameter"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
    let (mut file, mut cursor, mut calls) = (String::new(), None::<String>, 0);
    loop {
        let path = match &cursor {
            None => "/api/v1/orders/export?limit=500".to_owned(),
            Some(cursor) => format!("/api/v1/orders/export?limit=500&cursor={cursor}"),
        };
        let reply = admin.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "the contract allows 500: {path}");
        let body = reply.body.as_str().unwrap();
        assert!(body.len() <= 4 * 1024 * 1024, "one call answered {} bytes", body.len());
        file.push_str(body);
        calls += 1;
        match reply.headers.get("next-cursor") {
            Some(next) => cursor = Some(next.to_str().unwrap().to_owned()),
            None => break,
        }
        assert!(calls < 10, "the calls never end");
    }
    assert!(calls >= 2, "about 4.6 MB of rows take two calls: {calls}");
    let rows: Vec<&str> = file.split("\r\n").filter(|row| !row.is_empty()).collect();
    assert_eq!(rows.iter().filter(|row| row.starts_with("order_id,")).count(), 1, "one header row");
    assert_eq!(rows.len(), 1 + orders * 50, "a row per line item, none twice, none lost");
    let ids: std::collections::HashSet<&str> = rows[1..].iter().map(|row| &row[..36]).collect();
    assert_eq!(ids.len(), orders);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_finds_orders_by_id_by_product_and_by_customer_and_customers_cannot_search() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 100).await;
    admin.put_product("bowl", "3.00", 100).await;
    let (alice, bob) = (Api::customer(&service, "alice"), Api::customer(&service, "bob"));
    let (mugs, _) = alice.reserved_order(&[("mug", 1)]).await;
    let (both, total) = bob.reserved_order(&[("bowl", 2), ("mug", 1)]).await;
    Api::payments(&service).confirm(&both, "pay-1", &total).await;
    let (bowls, _) = bob.reserved_order(&[("bowl", 1)]).await;

    let ids = order_ids;
    let by_id = admin.get(&format!("/api/v1/orders?q={both}")).await;
    assert_eq!(ids(&by_id.body), vec![both.clone()]);
    // The product index is kept by the analytics step, off the request path.
    let by_product = eventually(Duration::from_secs(30), || async {
        let found = ids(&admin.get("/api/v1/orders?q=mug").await.body);
        (found.len() == 2).then_some(found)
    })
    .await;
    assert_eq!(by_product, vec![both.clone(), mugs.clone()], "newest first");
    let unpaid_mugs = admin.get("/api/v1/orders?q=mug&status=PENDING_PAYMENT").await;
    assert_eq!(ids(&unpaid_mugs.body), vec![mugs.clone()], "the other filters apply");
    let by_customer = admin.get("/api/v1/orders?q=bob").await;
    assert_eq!(ids(&by_customer.body), vec![bowls.clone(), both.clone()]);
    assert!(ids(&admin.get("/api/v1/orders?q=nobody").await.body).is_empty());
    assert_eq!(alice.get("/api/v1/orders?q=bob").await.status, StatusCode::FORBIDDEN);
}
