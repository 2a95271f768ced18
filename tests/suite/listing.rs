use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use orders_shared::adapters::faults::FaultPlan;
use orders_shared::domain::listing::StatusFilter;
use orders_shared::domain::{ListQuery, OrderStatus, Sort, UserId};
use orders_tests::{order_ids, service, store_copies, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn all_pages(api: &Api, query: &str) -> Vec<Value> {
    let mut orders = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/orders?{query}&cursor={cursor}"),
            None => format!("/api/v1/orders?{query}"),
        };
        let page = api.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        orders.extend(page.body["orders"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return orders,
        }
    }
}

fn totals(orders: &[Value]) -> Vec<f64> {
    // Only for comparing order; money itself never goes through floats in the service.
    orders.iter().map(|o| o["total"].as_str().unwrap().parse().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_cover_every_order_once_in_every_sort_order() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("p", "1.25", 1000).await;
    let users = ["u1", "u2", "u3"];
    for n in 0..14u32 {
        let user = Api::customer(&service, users[n as usize % 3]);
        assert_eq!(user.place(&[("p", n % 5 + 1)], None).await.status, StatusCode::CREATED);
    }

    for sort in ["-created_at", "created_at", "total", "-total"] {
        let orders = all_pages(&admin, &format!("limit=3&sort={sort}")).await;
        let ids: HashSet<_> = orders.iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(orders.len(), 14, "{sort}");
        assert_eq!(ids.len(), 14, "{sort}: no order twice");
        let keys: Vec<String> = orders.iter().map(|o| o["created_at"].as_str().unwrap().to_owned()).collect();
        match sort {
            "-created_at" => assert!(keys.windows(2).all(|w| w[0] >= w[1]), "{keys:?}"),
            "created_at" => assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}"),
            "total" => assert!(totals(&orders).windows(2).all(|w| w[0] <= w[1])),
            _ => assert!(totals(&orders).windows(2).all(|w| w[0] >= w[1])),
        }
    }
    let mine = all_pages(&Api::customer(&service, "u1"), "limit=2").await;
    assert_eq!(mine.len(), 5);
    assert!(mine.iter().all(|o| o["user_id"] == "u1"));
    let by_total = all_pages(&Api::customer(&service, "u2"), "limit=2&sort=-total").await;
    assert_eq!(by_total.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_by_status_and_time_window() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("p", "2.00", 3).await;
    let alice = Api::customer(&service, "alice");
    let before = chrono::Utc::now();
    for _ in 0..5 {
        alice.place(&[("p", 1)], None).await;
    }
    let after = chrono::Utc::now();

    let pending = all_pages(&alice, "status=PENDING_PAYMENT&limit=2").await;
    assert_eq!(pending.len(), 3);
    let invalid = all_pages(&admin, "status=INVALID&limit=1").await;
    assert_eq!(invalid.len(), 2);
    let window = format!(
        "from={}&to={}",
        before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        after.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    );
    assert_eq!(all_pages(&alice, &format!("{window}&limit=2")).await.len(), 5);
    assert_eq!(
        all_pages(&alice, &format!("{window}&limit=2&sort=total&status=INVALID"))
            .await
            .len(),
        2
    );
    let later = (after + chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(all_pages(&alice, &format!("from={later}")).await.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_is_bound_to_its_sort_order() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("p", "2.00", 10).await;
    let alice = Api::customer(&service, "alice");
    for _ in 0..3 {
        alice.place(&[("p", 1)], None).await;
    }
    let page = alice.get("/api/v1/orders?limit=1").await;
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let misuse = alice.get(&format!("/api/v1/orders?limit=1&sort=total&cursor={cursor}")).await;
    assert_eq!(misuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(misuse.code(), "INVALID_CURSOR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_filter_reads_the_status_index_and_a_small_read_budget_gives_short_pages_that_still_cover_every_match_once() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("p", "1.00", 1000).await;
    let alice = Api::customer(&service, "alice");
    let mut cancelled = HashSet::new();
    for n in 0..12 {
        let (id, _) = alice.reserved_order(&[("p", 1)]).await;
        if n % 4 == 1 {
            assert_eq!(alice.cancel(&id).await.status, StatusCode::OK);
            cancelled.insert(id);
        }
    }
    Api::customer(&service, "bob").reserved_order(&[("p", 1)]).await;

    // The admin listing by status answers from the status index, across its shards.
    let listed = all_pages(&admin, "status=CANCELLED&limit=2").await;
    let ids: HashSet<String> = listed.iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, cancelled);
    assert_eq!(all_pages(&admin, "status=PENDING_PAYMENT&sort=total").await.len(), 10);

    // A customer's own orders filtered by status are read from their partition within a budget:
    // with a budget of 3 items a request, pages come back short, and the cursors still cover
    // every match exactly once.
    let mut query = ListQuery {
        owner: Some(UserId::parse("alice").unwrap()),
        status: Some(StatusFilter::one(OrderStatus::Cancelled)),
        channel: None,
        payment_status: None,
        from: None,
        to: None,
        sort: Sort::DEFAULT,
        limit: 10,
        after: None,
        read_budget: 3,
    };
    let mut found = Vec::new();
    let mut pages = 0;
    loop {
        let page = service.app.orders.list_orders(&query).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3, "a page never holds more than it could read");
        found.extend(page.items.iter().map(|order| order.id.to_string()));
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
        assert!(pages < 20, "the cursor moves on");
    }
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found.iter().cloned().collect::<HashSet<_>>(), cancelled);
    assert!(pages >= 4, "12 orders read 3 at a time: {pages} pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_past_the_time_window_answers_an_empty_page_and_timestamps_outside_1970_to_9999_are_refused() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("p", "1.00", 100).await;
    let alice = Api::customer(&service, "alice");
    for _ in 0..3 {
        alice.reserved_order(&[("p", 1)]).await;
    }
    let first = alice.get("/api/v1/orders?limit=1").await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let newest: chrono::DateTime<chrono::Utc> = first.body["orders"][0]["created_at"].as_str().unwrap().parse().unwrap();
    let after_it = (newest + chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let empty = alice.get(&format!("/api/v1/orders?limit=1&cursor={cursor}&from={after_it}")).await;
    assert_eq!(empty.status, StatusCode::OK, "{empty:?}");
    assert_eq!(empty.body["orders"], serde_json::json!([]));
    assert!(empty.body["next_cursor"].is_null());

    for bound in ["to=9999-12-31T23:59:59-01:00", "from=1969-12-31T23:59:59Z"] {
        let refused = alice.get(&format!("/api/v1/orders?{}", bound.replace('+', "%2B"))).await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::BAD_REQUEST, "INVALID_QUERY_PARAMETER"),
            "{bound}"
        );
    }
    assert_eq!(
        alice.get("/api/v1/orders?to=9999-12-31T23:59:59Z").await.body["orders"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorted_by_status_the_orders_come_in_lifecycle_order_newest_first_within_each_across_pages() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (first_unpaid, _) = alice.reserved_order(&[("mug", 1)]).await;
    let (paid, total) = alice.reserved_order(&[("mug", 1)]).await;
    Api::payments(&service).confirm(&paid, "pay-1", &total).await;
    let (cancelled, _) = alice.reserved_order(&[("mug", 1)]).await;
    alice.cancel(&cancelled).await;
    alice.place(&[("mug", 50)], None).await;
    let (second_unpaid, _) = alice.reserved_order(&[("mug", 1)]).await;

    for query in ["sort=status&limit=2", "sort=status&limit=2&user_id=alice"] {
        let orders = all_pages(&admin, query).await;
        let statuses: Vec<&str> = orders.iter().map(|order| order["status"].as_str().unwrap()).collect();
        assert_eq!(
            statuses,
            ["PENDING_PAYMENT", "PENDING_PAYMENT", "INVALID", "PAID", "CANCELLED"],
            "{query}"
        );
        assert_eq!(orders[0]["id"], second_unpaid.as_str(), "newest first within a status");
        assert_eq!(orders[1]["id"], first_unpaid.as_str());
    }
    let only_paid = all_pages(&admin, "sort=status&status=PAID").await;
    assert_eq!(only_paid.len(), 1);
    let forged = admin.get("/api/v1/orders?sort=status&cursor=bm90LWEtY3Vyc29y").await;
    assert_eq!((forged.status, forged.code()), (StatusCode::BAD_REQUEST, "INVALID_CURSOR"));

    // A cursor this service issued, with its inner position tampered with, is refused too.
    let first = admin.get("/api/v1/orders?sort=status&limit=1").await;
    let issued = first.body["next_cursor"].as_str().expect("a first page of one has a next cursor");
    let mut inner: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(issued).unwrap()).unwrap();
    assert!(inner["after"]["position"].is_string(), "{inner}");
    for position in ["x".repeat(2_000), "2026-01-01T00:00:00.000000Z#not-an-id".to_owned(), String::new()] {
        inner["after"]["position"] = Value::String(position);
        let tampered = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&inner).unwrap());
        let reply = admin.get(&format!("/api/v1/orders?sort=status&cursor={tampered}")).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, "INVALID_CURSOR"), "{inner}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorted_by_status_a_long_history_comes_in_short_pages_each_within_the_read_budget_and_every_order_once() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    Api::admin(&service).put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (paid, total) = alice.reserved_order(&[("mug", 1)]).await;
    Api::payments(&service).confirm(&paid, "pay-1", &total).await;
    // More refused orders than one request may read: every status before INVALID reads them all.
    // One is placed; the rest are stored as copies of it, which is lighter than placing each.
    let refused = ListQuery::READ_BUDGET + 50;
    let first = alice.place(&[("no-such-product", 1)], None).await;
    assert_eq!(first.status, StatusCode::CONFLICT);
    store_copies(&service, first.body["order_id"].as_str().unwrap(), refused - 1).await;

    let (mut seen, mut cursor, mut requests, mut short_pages) = (Vec::new(), None::<String>, 0, 0);
    loop {
        let path = match &cursor {
            None => "/api/v1/orders?sort=status&limit=100".to_owned(),
            Some(cursor) => format!("/api/v1/orders?sort=status&limit=100&cursor={cursor}"),
        };
        let before = plan.calls("Query");
        let page = alice.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        // 1,000 items a page of 101 at a time, plus a first Query per status started.
        let queries = plan.calls("Query") - before;
        assert!(queries <= 25, "one request sent {queries} Queries");
        requests += 1;
        let orders = page.body["orders"].as_array().unwrap();
        seen.extend(orders.iter().map(|order| order["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(next) => {
                short_pages += usize::from(orders.len() < 100);
                cursor = Some(next.to_owned());
            }
            None => break,
        }
        assert!(requests < 100, "the pages never end");
    }
    assert!(
        short_pages > 0,
        "a status with nothing to show still ends a request within its budget"
    );
    assert_eq!(seen.len(), refused + 1);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len(), "no order twice");
    assert!(seen.contains(&paid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_names_of_the_original_requirements_are_accepted_where_they_are_harmless() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (unpaid, _) = alice.reserved_order(&[("mug", 1)]).await;
    let (paid, total) = alice.reserved_order(&[("mug", 1)]).await;
    Api::payments(&service).confirm(&paid, "pay-1", &total).await;
    alice.place(&[("no-such-product", 1)], None).await;
    let (cancelled, _) = alice.reserved_order(&[("mug", 1)]).await;

    // `pending` is both pending statuses; `confirmed` is PAID; for admins and customers alike.
    for who in [&admin, &alice] {
        let pending = all_pages(who, "status=pending").await;
        assert_eq!(pending.len(), 2, "{pending:?}");
        assert!(pending.iter().all(|order| order["status"] == "PENDING_PAYMENT"));
        let confirmed = all_pages(who, "status=confirmed&sort=status").await;
        assert_eq!(
            confirmed.iter().map(|order| order["id"].as_str().unwrap()).collect::<Vec<_>>(),
            [paid.as_str()]
        );
    }
    assert_eq!(all_pages(&admin, "status=pending&sort=status").await.len(), 2);
    assert!(all_pages(&admin, "status=pending")
        .await
        .iter()
        .any(|order| order["id"] == unpaid.as_str()));

    // PATCH moves an order as PUT does.
    let path = format!("/api/v1/orders/{cancelled}/status");
    let patched = admin
        .send(Method::PATCH, &path, Some(serde_json::json!({"status": "CANCELLED"})), &[])
        .await;
    assert_eq!(
        (patched.status, patched.body["status"].as_str()),
        (StatusCode::OK, Some("CANCELLED")),
        "{patched:?}"
    );

    // `start_date` and `end_date` are `from` and `to`; giving both names of one is refused.
    let today = chrono::Utc::now();
    let (from, to) = (
        (today - chrono::Duration::hours(1)).to_rfc3339(),
        (today + chrono::Duration::hours(1)).to_rfc3339(),
    );
    let window = |a: &str, b: &str| format!("{a}={}&{b}={}", from.replace('+', "%2B"), to.replace('+', "%2B"));
    let ours = all_pages(&admin, &window("from", "to")).await;
    assert_eq!(ours.len(), 4);
    assert_eq!(all_pages(&admin, &window("start_date", "end_date")).await, ours);
    let both = admin
        .get(&format!("/api/v1/orders?{}&start_date=2026-01-01T00:00:00Z", window("from", "to")))
        .await;
    assert_eq!((both.status, both.code()), (StatusCode::BAD_REQUEST, "REPEATED_PARAMETER"));
    let day = today.format("%Y-%m-%d");
    let report = admin
        .get(&format!("/api/v1/orders/analytics/daily?start_date={day}&end_date={day}"))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    assert_eq!(report.body["days"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_status_filter_lists_only_orders_whose_payment_stands_so() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "4.00", 10).await;
    let customer = Api::customer(&service, "pia");
    let (paid, total) = customer.reserved_order(&[("mug", 1)]).await;
    orders_tests::pay_by_card(&service, &paid, &total).await;
    let (unpaid, _) = customer.reserved_order(&[("mug", 1)]).await;
    let ids = order_ids;
    assert_eq!(
        ids(&admin.get("/api/v1/orders?payment_status=PAID").await.body),
        std::slice::from_ref(&paid)
    );
    assert_eq!(ids(&customer.get("/api/v1/orders?payment_status=PENDING").await.body), [unpaid]);
    assert!(ids(&admin.get("/api/v1/orders?payment_status=DISPUTED").await.body).is_empty());
    let refused = admin.get("/api/v1/orders?payment_status=paid").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{refused:?}");
}
