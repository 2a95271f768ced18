//! Stock edits that cannot bring sold units back, and prices that are charged as they were read.

use orders_shared::adapters::faults::{FaultPlan, FaultPoint};
use orders_shared::handlers::{QueueFunction, StreamFunction};
use orders_tests::{assert_invariants, counters, service, timeline, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn product_body(price: &str, on_hand: i64) -> serde_json::Value {
    json!({"name": "Mug", "seller_id": "seller-1", "price": price, "on_hand": on_hand})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_stock_update_is_refused_so_sold_units_cannot_come_back() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 3).await;
    let read = admin.get("/api/v1/inventory/mug").await;
    let etag = read.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", read.body["version"]));

    // Meanwhile a customer buys two.
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 2)]).await;
    assert_eq!(Api::payments(&service).confirm(&id, "pay-1", &total).await.status, StatusCode::OK);
    assert_eq!(counters(&admin.product("mug").await), (1, 1, 0));

    // The admin writes back the 3 they read: refused, nothing changes.
    let path = "/api/v1/inventory/mug";
    let stale = admin
        .send(Method::PUT, path, Some(product_body("5.00", 3)), &[("if-match", etag.as_str())])
        .await;
    assert_eq!(
        (stale.status, stale.code()),
        (StatusCode::PRECONDITION_FAILED, "VERSION_MISMATCH"),
        "{stale:?}"
    );
    assert_eq!(stale.body["title"], "Precondition failed");
    let current = stale.body["current_version"].as_u64().unwrap();
    assert_eq!(counters(&admin.product("mug").await), (1, 1, 0));

    // With the current version (bare, quoted or weak) the update goes through, once.
    let bare = current.to_string();
    let fresh = admin
        .send(Method::PUT, path, Some(product_body("5.00", 4)), &[("if-match", bare.as_str())])
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{fresh:?}");
    assert_eq!(fresh.headers["etag"].to_str().unwrap(), format!("\"{}\"", current + 1));
    let again = admin
        .send(Method::PUT, path, Some(product_body("5.00", 9)), &[("if-match", bare.as_str())])
        .await;
    assert_eq!(again.status, StatusCode::PRECONDITION_FAILED);
    let weak = format!("W/\"{}\"", current + 1);
    assert_eq!(
        admin
            .send(Method::PUT, path, Some(product_body("5.00", 4)), &[("if-match", weak.as_str())])
            .await
            .status,
        StatusCode::OK
    );
    let garbage = admin
        .send(Method::PUT, path, Some(product_body("5.00", 4)), &[("if-match", "yesterday")])
        .await;
    assert_eq!((garbage.status, garbage.code()), (StatusCode::BAD_REQUEST, "INVALID_IF_MATCH"));
    let missing = admin
        .send(
            Method::PUT,
            "/api/v1/inventory/ghost",
            Some(product_body("5.00", 4)),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(admin.get("/api/v1/inventory/ghost").await.status, StatusCode::NOT_FOUND);
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_price_version_moves_only_when_the_price_does() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    let created = admin.put_product("mug", "5.00", 10).await.body;
    assert_eq!(created["price_version"], 1);
    let restocked = admin.put_product("mug", "5.00", 20).await.body;
    assert_eq!(restocked["price_version"], 1, "a stock change is not a price change");
    Api::customer(&service, "alice").reserved_order(&[("mug", 1)]).await;
    assert_eq!(
        admin.product("mug").await["price_version"],
        1,
        "holds move version, not price_version"
    );
    let repriced = admin.put_product("mug", "5.50", 20).await.body;
    assert_eq!(repriced["price_version"], 2);
    assert_eq!(
        admin.put_product("mug", "5.5", 20).await.body["price_version"],
        2,
        "the same amount"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_that_waited_in_the_queue_while_its_price_changed_is_charged_the_new_price_and_says_so() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    admin.put_product("tea", "2.00", 10).await;
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
    let alice = Api::customer(&service, "alice");
    let accepted = alice.place(&[("mug", 2), ("tea", 1)], None).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    assert_eq!(accepted.body["total"], "12.00");
    let id = accepted.body["id"].as_str().unwrap().to_owned();

    admin.put_product("mug", "6.00", 10).await;
    let poller = service.poller(QueueFunction::ReserveStock).unwrap();
    assert_eq!(poller.poll_once().await.unwrap(), 1);

    let order = alice.order(&id).await.body;
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(order["total"], "14.00", "the price charged is the price now");
    assert_eq!(order["items"][0]["unit_price"], "6.00");
    assert_eq!(order["items"][0]["price_version"], 2);
    assert_eq!(timeline(&order), ["CREATED", "PENDING_RESERVING_STOCK", "PENDING_PAYMENT"]);
    let last = order["status_history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["note"], "REPRICED: mug 5.00 -> 6.00");

    let payments = Api::payments(&service);
    let old_total = payments.confirm(&id, "pay-1", "12.00").await;
    assert_eq!(old_total.code(), "AMOUNT_MISMATCH", "never taken for the wrong amount");
    assert_eq!(payments.confirm(&id, "pay-1", "14.00").await.status, StatusCode::OK);
    assert_eq!(counters(&admin.product("mug").await), (8, 8, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_adjustments_move_stock_once_and_never_take_held_units() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    Api::customer(&service, "alice").reserved_order(&[("mug", 4)]).await;
    let adjust = |delta: i64, reason: &str, key: Option<&'static str>| {
        let admin = admin.clone();
        let body = json!({"delta": delta, "reason": reason});
        async move {
            let headers: Vec<(&str, &str)> = key.map(|key| vec![("idempotency-key", key)]).unwrap_or_default();
            admin
                .send(Method::POST, "/api/v1/inventory/mug/adjustments", Some(body), &headers)
                .await
        }
    };

    let restocked = adjust(5, "restock from the supplier", Some("restock-1")).await;
    assert_eq!(restocked.status, StatusCode::OK, "{restocked:?}");
    assert_eq!(counters(&restocked.body), (15, 11, 4));
    let replayed = adjust(5, "restock from the supplier", Some("restock-1")).await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(counters(&admin.product("mug").await), (15, 11, 4), "applied once");
    let reused = adjust(7, "another restock", Some("restock-1")).await;
    assert_eq!(reused.code(), "IDEMPOTENCY_KEY_REUSED");

    let broken = adjust(-3, "three broken in the warehouse", None).await;
    assert_eq!(counters(&broken.body), (12, 8, 4));
    let too_many = adjust(-9, "write off", None).await;
    assert_eq!((too_many.status, too_many.code()), (StatusCode::CONFLICT, "NOT_ENOUGH_AVAILABLE"));
    assert_eq!(too_many.body["available"], 8, "held units are not the admin's to take");
    assert_eq!(adjust(0, "nothing", None).await.code(), "VALIDATION_FAILED");
    assert_eq!(adjust(1, "", None).await.code(), "VALIDATION_FAILED");
    let ghost = admin
        .send(
            Method::POST,
            "/api/v1/inventory/ghost/adjustments",
            Some(json!({"delta": 1, "reason": "x"})),
            &[],
        )
        .await;
    assert_eq!(ghost.code(), "PRODUCT_NOT_FOUND");
    assert_eq!(counters(&admin.product("mug").await), (12, 8, 4));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_restock_adjustment_hold_sale_and_release_appears_once_in_the_movement_history() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    admin
        .send(
            Method::POST,
            "/api/v1/inventory/mug/adjustments",
            Some(json!({"delta": 5, "reason": "restock"})),
            &[],
        )
        .await;
    let alice = Api::customer(&service, "alice");
    let (sold, total) = alice.reserved_order(&[("mug", 2)]).await;
    assert_eq!(Api::payments(&service).confirm(&sold, "pay-1", &total).await.status, StatusCode::OK);
    let (released, _) = alice.reserved_order(&[("mug", 3)]).await;
    assert_eq!(alice.cancel(&released).await.status, StatusCode::OK);

    // Deliver the stream twice over (a replay must add nothing).
    for _ in 0..2 {
        let mut poller = service.stream_poller(StreamFunction::StockMovements).await.unwrap();
        while poller.poll_once().await.unwrap() > 0 {}
    }
    let history = admin.get("/api/v1/inventory/mug/movements").await;
    assert_eq!(history.status, StatusCode::OK, "{history:?}");
    let movements = history.body["movements"].as_array().unwrap().clone();
    let kinds: Vec<&str> = movements.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["RELEASE", "HOLD", "SALE", "HOLD", "ADJUSTMENT", "SET"],
        "newest first, each once"
    );
    let deltas = |m: &serde_json::Value| {
        (
            m["delta_on_hand"].as_i64().unwrap(),
            m["delta_available"].as_i64().unwrap(),
            m["delta_reserved"].as_i64().unwrap(),
        )
    };
    assert_eq!(deltas(&movements[0]), (0, 3, -3));
    assert_eq!(movements[0]["order_id"], released.as_str());
    assert_eq!(deltas(&movements[2]), (-2, 0, -2));
    assert_eq!(movements[2]["order_id"], sold.as_str());
    assert_eq!(
        (movements[4]["reason"].as_str(), movements[4]["actor"].as_str()),
        (Some("restock"), Some("admin:shop-admin"))
    );
    assert_eq!(deltas(&movements[5]), (10, 10, 0));
    assert_eq!(counters(&movements[0]), (13, 13, 0), "the counters after the last movement");

    // Paged, the same history.
    let first = admin.get("/api/v1/inventory/mug/movements?limit=4").await;
    assert_eq!(first.body["movements"].as_array().unwrap().len(), 4);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let rest = admin.get(&format!("/api/v1/inventory/mug/movements?limit=4&cursor={cursor}")).await;
    assert_eq!(rest.body["movements"].as_array().unwrap().len(), 2);
    assert_eq!(
        admin.get("/api/v1/inventory/mug/movements?cursor=bogus").await.code(),
        "INVALID_CURSOR"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_an_admin_makes_to_a_product_or_a_seller_is_in_its_audit_trail_and_nothing_else_is() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    admin.put_product("mug", "9.50", 10).await;
    admin.put_product("mug", "9.50", 25).await;
    let alice = Api::customer(&service, "alice");
    alice.reserved_order(&[("mug", 2)]).await;
    let seller = |email: &str| json!({"name": "Mugs Inc", "email": email});
    for email in ["mugs@sellers.example", "orders@mugs.example"] {
        let put = admin.send(Method::PUT, "/api/v1/sellers/seller-1", Some(seller(email)), &[]).await;
        assert_eq!(put.status, StatusCode::OK, "{put:?}");
    }

    let trail = |path: &'static str, wanted: usize| {
        let admin = &admin;
        orders_tests::eventually(std::time::Duration::from_secs(20), move || async move {
            let page = admin.get(path).await;
            (page.body["entries"].as_array().map(Vec::len) == Some(wanted)).then_some(page.body)
        })
    };
    // Created, repriced, restocked; the customer's hold is not an admin's change.
    let product = trail("/api/v1/audit/products/mug", 3).await;
    let entries = product["entries"].as_array().unwrap();
    assert_eq!(
        entries[0]["changes"],
        json!([{"field": "on_hand", "before": "10", "after": "25"}]),
        "newest first: {product}"
    );
    assert_eq!(
        entries[1]["changes"],
        json!([{"field": "price", "before": "8.00", "after": "9.50"}])
    );
    let created = entries[2]["changes"].as_array().unwrap();
    assert!(created.iter().all(|change| change["before"].is_null()), "{created:?}");
    assert!(
        entries.iter().all(|entry| entry["actor"].as_str().unwrap().starts_with("admin:")),
        "{product}"
    );
    // The test set-up registered the seller first, then the admin changed it twice.
    let sellers = trail("/api/v1/audit/sellers/seller-1", 3).await;
    assert_eq!(
        sellers["entries"][0]["changes"],
        json!([{"field": "email", "before": "mugs@sellers.example", "after": "orders@mugs.example"}])
    );

    // A page at a time, and only for admins.
    let first = admin.get("/api/v1/audit/products/mug?limit=2").await.body;
    let cursor = first["next_cursor"].as_str().expect("more than one page");
    let rest = admin.get(&format!("/api/v1/audit/products/mug?limit=2&cursor={cursor}")).await.body;
    assert_eq!(rest["entries"].as_array().unwrap().len(), 1);
    assert_eq!(alice.get("/api/v1/audit/products/mug").await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.get("/api/v1/audit/orders/mug").await.status, StatusCode::BAD_REQUEST);
}
