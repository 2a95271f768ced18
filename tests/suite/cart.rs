//! The cart: edits, totals and warnings, checkout at the prices the lines were added at, and a
//! cart that survives every checkout that did not reserve its stock.

use std::time::Duration;

use orders_shared::adapters::faults::{FaultPlan, FaultPoint};
use orders_shared::handlers::QueueFunction;
use orders_tests::{assert_invariants, counters, eventually, service, Api, Reply, Setup};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn add(api: &Api, sku: &str, quantity: u32) -> Reply {
    api.send(
        Method::POST,
        "/api/v1/cart/items",
        Some(json!({"product_id": sku, "quantity": quantity})),
        &[],
    )
    .await
}

async fn set(api: &Api, sku: &str, quantity: u32) -> Reply {
    api.send(
        Method::PUT,
        &format!("/api/v1/cart/items/{sku}"),
        Some(json!({"quantity": quantity})),
        &[],
    )
    .await
}

async fn checkout(api: &Api, body: Value, key: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|key| vec![("idempotency-key", key)]).unwrap_or_default();
    api.send(Method::POST, "/api/v1/cart/checkout", Some(body), &headers).await
}

fn address() -> Value {
    json!({"contact_name": "Alice", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"})
}

fn lines(cart: &Value) -> Vec<(String, u64)> {
    cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["product_id"].as_str().unwrap().to_owned(), item["quantity"].as_u64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_adds_up_sets_and_removes_lines_and_shows_totals_and_warnings() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    admin.put_product("plate", "2.50", 3).await;
    let alice = Api::customer(&service, "alice");
    assert_eq!(alice.get("/api/v1/cart").await.body["items"], json!([]), "no cart is an empty one");

    add(&alice, "mug", 2).await;
    let again = add(&alice, "mug", 1).await;
    // The cart, then every product it shows in one read, then the write (the seller's fee is
    // cached): a product is read once per addition.
    let timing = again.headers["server-timing"].to_str().unwrap();
    assert!(timing.starts_with("db;") && timing.contains("desc=\"3 calls\""), "{timing}");
    let cart = add(&alice, "plate", 2).await.body;
    assert_eq!(lines(&cart), [("mug".to_owned(), 3), ("plate".to_owned(), 2)]);
    assert_eq!((cart["subtotal"].as_str(), cart["total"].as_str()), (Some("29.00"), Some("29.00")));
    assert_eq!(cart["items"][1]["warnings"], json!(["ONLY_3_LEFT"]));

    let short = add(&alice, "plate", 2).await;
    assert_eq!((short.status, short.code()), (StatusCode::CONFLICT, "NOT_ENOUGH_STOCK"));
    assert_eq!(short.body["available"], 3);
    let ghost = add(&alice, "ghost", 1).await;
    assert_eq!((ghost.status, ghost.code()), (StatusCode::NOT_FOUND, "PRODUCT_NOT_FOUND"));
    for body in [
        json!({"product_id": "mug"}),
        json!({"product_id": "mug", "quantity": 0}),
        json!({"product_id": "mug", "quantity": 1, "price": "1"}),
    ] {
        let reply = alice.send(Method::POST, "/api/v1/cart/items", Some(body.clone()), &[]).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }

    assert_eq!(
        lines(&set(&alice, "mug", 1).await.body),
        [("mug".to_owned(), 1), ("plate".to_owned(), 2)]
    );
    let removed = alice.send(Method::DELETE, "/api/v1/cart/items/plate", None, &[]).await;
    assert_eq!(
        (removed.status, lines(&removed.body)),
        (StatusCode::OK, vec![("mug".to_owned(), 1)])
    );
    assert_eq!(
        lines(&set(&alice, "mug", 0).await.body),
        [],
        "setting the last line to 0 empties the cart"
    );
    assert_eq!(
        alice.send(Method::DELETE, "/api/v1/cart/items/mug", None, &[]).await.status,
        StatusCode::OK,
        "removing again changes nothing"
    );
    add(&alice, "mug", 1).await;
    assert_eq!(
        Api::customer(&service, "bob").get("/api/v1/cart").await.body["items"],
        json!([]),
        "a cart is its owner's"
    );
    assert_eq!(lines(&alice.send(Method::DELETE, "/api/v1/cart", None, &[]).await.body), vec![]);
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0), "a cart holds nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_of_one_cart_never_lose_an_update() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "1.00", 100).await;
    let alice = Api::customer(&service, "alice");
    let replies = futures::future::join_all((0..8).map(|_| add(&alice, "mug", 1))).await;
    assert!(replies.iter().all(|reply| reply.status == StatusCode::OK), "{replies:?}");
    assert_eq!(lines(&alice.get("/api/v1/cart").await.body), [("mug".to_owned(), 8)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_places_the_cart_at_its_prices_and_empties_it_only_once_the_stock_is_held() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    admin.put_product("plate", "2.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let empty = checkout(&alice, json!({"shipping_address": address()}), None).await;
    assert_eq!((empty.status, empty.code()), (StatusCode::CONFLICT, "CART_EMPTY"));
    add(&alice, "mug", 2).await;
    add(&alice, "plate", 1).await;

    let no_address = checkout(&alice, json!({}), None).await;
    assert_eq!(no_address.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_address.body.to_string().contains("shipping_address"), "{no_address:?}");
    let bad = checkout(&alice, json!({"shipping_address": {"line1": "x"}, "channel": "fax"}), None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.to_string().contains("INVALID_CHANNEL"), "{bad:?}");

    // The price of a line changed since it was added: refused, then taken at today's price.
    admin.put_product("mug", "9.00", 10).await;
    let changed = checkout(&alice, json!({"shipping_address": address()}), Some("co-1")).await;
    assert_eq!((changed.status, changed.code()), (StatusCode::CONFLICT, "PRICE_CHANGED"));
    assert_eq!(
        changed.body["changes"],
        json!([{"product_id": "mug", "old_price": "8.00", "new_price": "9.00"}])
    );
    assert_eq!(
        lines(&alice.get("/api/v1/cart").await.body).len(),
        2,
        "a refused checkout keeps the cart"
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));

    let body = json!({"shipping_address": address(), "accept_price_changes": true, "channel": "mobile_app", "note": "ring twice"});
    let placed = checkout(&alice, body.clone(), Some("co-2")).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    let order = &placed.body;
    assert_eq!(
        (order["total"].as_str(), order["channel"].as_str()),
        (Some("20.00"), Some("mobile_app"))
    );
    assert_eq!(
        (order["shipping_address"]["city"].as_str(), order["customer_note"].as_str()),
        (Some("Berlin"), Some("ring twice"))
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2));
    assert_eq!(
        alice.get("/api/v1/cart").await.body["items"],
        json!([]),
        "bought, so gone from the cart"
    );

    let again = checkout(&alice, body, Some("co-2")).await;
    assert_eq!(
        (again.status, &again.body["id"]),
        (StatusCode::CREATED, &order["id"]),
        "a retried checkout answers its order"
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2), "and reserves nothing more");
    let listed = alice.get("/api/v1/orders?channel=mobile_app").await.body;
    assert_eq!(listed["orders"].as_array().unwrap().len(), 1);
    assert_eq!(alice.get("/api/v1/orders?channel=pos").await.body["orders"], json!([]));
    assert_eq!(alice.get("/api/v1/orders?channel=fax").await.status, StatusCode::BAD_REQUEST);

    // Out of stock: the order is INVALID and the cart stays as it was.
    add(&alice, "plate", 9).await;
    admin
        .send(
            Method::POST,
            "/api/v1/inventory/plate/adjustments",
            Some(json!({"delta": -5, "reason": "damaged"})),
            &[],
        )
        .await;
    let short = checkout(&alice, json!({"channel": "pos"}), None).await;
    assert_eq!((short.status, short.code()), (StatusCode::CONFLICT, "OUT_OF_STOCK"), "{short:?}");
    assert_eq!(lines(&alice.get("/api/v1/cart").await.body), [("plate".to_owned(), 9)]);
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_change_racing_a_checkout_never_slips_through_at_the_old_price() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 1000).await;
    for round in 0..6 {
        let customer = Api::customer(&service, &format!("racer-{round}"));
        add(&customer, "mug", 1).await;
        let price = format!("{}.00", 9 + round);
        let (placed, _) = tokio::join!(
            checkout(&customer, json!({"shipping_address": address()}), None),
            admin.put_product("mug", &price, 1000)
        );
        // The line was added at the price before this round's change: an order is charged that,
        // or (the change won) nothing is placed.
        let shown = format!("{}.00", 8 + round);
        match placed.status {
            StatusCode::CREATED => assert_eq!(placed.body["items"][0]["unit_price"].as_str(), Some(shown.as_str())),
            StatusCode::CONFLICT => {
                assert_eq!(placed.code(), "PRICE_CHANGED");
                assert_eq!(placed.body["changes"][0]["new_price"].as_str(), Some(price.as_str()));
            }
            other => panic!("unexpected {other}: {placed:?}"),
        }
    }
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sellers_part_adds_its_own_shipping_fee_to_the_cart_and_the_order() {
    let service = service(Setup {
        environment: vec![("ORDERS_SHIPPING_FEE".into(), "5.00".into())],
        ..Setup::default()
    })
    .await;
    let admin = Api::admin(&service);
    let seller = json!({"name": "Plates Inc", "email": "plates@sellers.example", "shipping_fee": "3.00"});
    let registered = admin.send(Method::PUT, "/api/v1/sellers/seller-2", Some(seller), &[]).await;
    assert_eq!(registered.body["shipping_fee"], "3.00", "{registered:?}");
    admin.put_product("mug", "8.00", 10).await;
    let plate = json!({"name": "Plate", "seller_id": "seller-2", "price": "2.00", "on_hand": 10});
    admin.send(Method::PUT, "/api/v1/inventory/plate", Some(plate), &[]).await;

    let alice = Api::customer(&service, "alice");
    add(&alice, "mug", 1).await;
    let cart = add(&alice, "plate", 2).await.body;
    assert_eq!(cart["shipping_fees"], json!({"seller-1": "5.00", "seller-2": "3.00"}));
    assert_eq!(
        (cart["shipping_fee"].as_str(), cart["total"].as_str()),
        (Some("8.00"), Some("20.00"))
    );

    let order = checkout(&alice, json!({"shipping_address": address()}), None).await.body;
    assert_eq!(order["shipping_fees"], json!({"seller-1": "5.00", "seller-2": "3.00"}), "{order}");
    assert_eq!(
        (order["shipping_fee"].as_str(), order["total"].as_str()),
        (Some("8.00"), Some("20.00"))
    );
    let id = order["id"].as_str().unwrap();
    let item = order["items"][1]["item_id"].as_str().unwrap();
    let edited = alice
        .send(Method::DELETE, &format!("/api/v1/orders/{id}/items/{item}"), None, &[])
        .await
        .body;
    assert_eq!(
        (edited["shipping_fee"].as_str(), edited["total"].as_str()),
        (Some("5.00"), Some("13.00")),
        "no part, no fee"
    );
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_of_a_seller_who_does_not_trade_makes_the_order_invalid_and_holds_nothing() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    let stopped = json!({"name": "Closed Shop", "email": "closed@sellers.example", "active": false});
    admin.send(Method::PUT, "/api/v1/sellers/seller-2", Some(stopped), &[]).await;
    admin.put_product("mug", "8.00", 10).await;
    let plate = json!({"name": "Plate", "seller_id": "seller-2", "price": "2.00", "on_hand": 10});
    admin.send(Method::PUT, "/api/v1/inventory/plate", Some(plate), &[]).await;

    let alice = Api::customer(&service, "alice");
    let refused = alice.place(&[("mug", 1), ("plate", 1)], None).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "SELLER_INACTIVE"),
        "{refused:?}"
    );
    let order = alice.order(refused.body["order_id"].as_str().unwrap()).await.body;
    assert_eq!(order["status"], "INVALID");
    assert_eq!(order["problems"][0]["product_id"], "plate");
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0), "nothing held");
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_finished_by_the_queue_keeps_its_price_lock_and_becomes_invalid_when_a_price_moved() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    admin.put_product("plate", "2.00", 10).await;
    let (alice, bob) = (Api::customer(&service, "alice"), Api::customer(&service, "bob"));
    let reserve = service
        .poller(QueueFunction::ReserveStock)
        .expect("reserve-stock is wired to a queue");

    // Alice did not accept price changes, Bob did; storage refuses both placements long enough
    // that the queue takes them over (202).
    let mut accepted = Vec::new();
    for (customer, accept) in [(&alice, false), (&bob, true)] {
        add(customer, "mug", 1).await;
        add(customer, "plate", 1).await;
        plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
        let body = json!({"shipping_address": address(), "accept_price_changes": accept});
        let placed = checkout(customer, body, None).await;
        assert_eq!(placed.status, StatusCode::ACCEPTED, "{placed:?}");
        accepted.push(placed.body["id"].as_str().unwrap().to_owned());
    }
    admin.put_product("mug", "9.50", 10).await;
    eventually(Duration::from_secs(20), || async {
        (reserve.poll_once().await.unwrap() == 0).then_some(())
    })
    .await;

    let locked = alice.order(&accepted[0]).await.body;
    assert_eq!(locked["status"], "INVALID", "{locked}");
    assert_eq!(
        locked["problems"],
        json!([{"product_id": "mug", "code": "PRICE_CHANGED", "requested": 1}])
    );
    assert_eq!(lines(&alice.get("/api/v1/cart").await.body).len(), 2, "the cart is kept");
    let repriced = bob.order(&accepted[1]).await.body;
    assert_eq!(repriced["status"], "PENDING_PAYMENT", "{repriced}");
    assert_eq!(repriced["items"][0]["unit_price"], "9.50", "Bob accepted today's price");
    assert_eq!(counters(&admin.product("mug").await), (10, 9, 1), "only Bob's order holds a mug");
    assert_invariants(&service).await;
}
