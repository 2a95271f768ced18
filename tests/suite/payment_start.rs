//! Starting a payment: online and wallet intents Stripe's signed webhook settles, cash on
//! delivery paid at the door, and order numbers people can look orders up by.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use orders_shared::ports::ManualClock;
use orders_tests::sweep;
use orders_tests::{assert_invariants, counters, eventually, service, timeline, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn start(customer: &Api, id: &str, method: &str) -> orders_tests::Reply {
    customer
        .send(
            Method::POST,
            &format!("/api/v1/orders/{id}/payment"),
            Some(json!({ "method": method })),
            &[],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_payment_started_by_the_customer_is_paid_by_card_at_localstripe_and_settled_by_its_signed_webhook() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 2)]).await;

    let started = start(&alice, &id, "online").await;
    assert_eq!(started.status, StatusCode::CREATED, "{started:?}");
    assert_eq!(
        (started.body["method"].as_str(), started.body["amount"].as_str()),
        (Some("online"), Some(total.as_str()))
    );
    let payment_id = started.body["payment_id"].as_str().unwrap().to_owned();
    let redirect = started.body["redirect_url"].as_str().unwrap().to_owned();
    assert!(
        redirect.starts_with(&service.base_url()) && redirect.ends_with(&payment_id),
        "{redirect}"
    );

    let again = start(&alice, &id, "online").await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(
        again.body["payment_id"],
        payment_id.as_str(),
        "asking again answers the same intent"
    );
    let other = start(&alice, &id, "cod").await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::CONFLICT, "PAYMENT_ALREADY_STARTED"),
        "{other:?}"
    );
    let edit = alice
        .send(
            Method::POST,
            &format!("/api/v1/orders/{id}/items"),
            Some(json!({"product_id": "mug", "quantity": 1})),
            &[],
        )
        .await;
    assert_eq!((edit.status, edit.code()), (StatusCode::CONFLICT, "PAYMENT_STARTED"), "{edit:?}");
    let stranger = start(&Api::customer(&service, "mallory"), &id, "online").await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);

    // The local test-card page stands in for Stripe.js: it shows what is paid and pays by card
    // at localstripe, whose signed webhook then pays the order.
    let client = reqwest::Client::new();
    let page = client.get(&redirect).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&payment_id) && html.contains(&total),
        "the card page shows what is paid: {html}"
    );
    let paid = client
        .post(&redirect)
        .form(&[("number", orders_local::stripe_cards::CARD_PAYS), ("return_to", "/#/orders")])
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_success(), "{paid:?}");
    eventually(Duration::from_secs(15), || async {
        (alice.order(&id).await.body["status"] == "PAID").then_some(())
    })
    .await;
    let order = alice.order(&id).await.body;
    assert_eq!(
        (order["status"].as_str(), order["payment_status"].as_str()),
        (Some("PAID"), Some("PAID"))
    );
    assert_eq!(order["payment"]["reference"], payment_id.as_str());
    assert_eq!(order["payment_method"], "online");
    assert_eq!(counters(&admin.product("mug").await), (8, 8, 0), "the reservation became a sale");
    let late = start(&alice, &id, "online").await;
    assert_eq!(late.status, StatusCode::OK, "the intent is still answered after payment: {late:?}");

    // A wallet payment answers a client secret instead of a page.
    let (second, _) = alice.reserved_order(&[("mug", 1)]).await;
    let wallet = start(&alice, &second, "wallet").await;
    assert_eq!(wallet.status, StatusCode::CREATED, "{wallet:?}");
    assert!(wallet.body["client_secret"]
        .as_str()
        .unwrap()
        .starts_with(wallet.body["payment_id"].as_str().unwrap()));
    assert!(wallet.body["redirect_url"].is_null());
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_on_delivery_order_never_expires_and_is_paid_when_its_last_part_is_delivered() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(Setup {
        clock: Some(Arc::new(clock.clone())),
        poll_queues: false,
        environment: vec![("COD_MAX_TOTAL".into(), "100.00".into())],
        ..Setup::default()
    })
    .await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "30.00", 10).await;
    let alice = Api::customer(&service, "alice");

    let (pricey, _) = alice.reserved_order(&[("mug", 4)]).await;
    let refused = start(&alice, &pricey, "cod").await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "COD_LIMIT_EXCEEDED"),
        "{refused:?}"
    );
    assert_eq!(refused.body["max_total"], "100.00");
    alice.cancel(&pricey).await;

    let (id, total) = alice.reserved_order(&[("mug", 3)]).await;
    let accepted = start(&alice, &id, "cod").await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{accepted:?}");
    assert_eq!(
        (accepted.body["method"].as_str(), accepted.body["amount"].as_str()),
        (Some("cod"), Some(total.as_str()))
    );
    assert_eq!(accepted.body["order_status"], "PROCESSING");
    assert_eq!(
        start(&alice, &id, "cod").await.status,
        StatusCode::OK,
        "asking again changes nothing"
    );
    let order = alice.order(&id).await.body;
    assert_eq!(
        (order["payment_status"].as_str(), order["payment_method"].as_str()),
        (Some("PENDING"), Some("cod"))
    );
    assert!(order["payment_due_at"].is_null());
    assert_eq!(counters(&admin.product("mug").await), (7, 7, 0), "the reservation became a sale");

    // Long past any payment deadline, the sweeper leaves it alone.
    clock.advance(chrono::Duration::days(2));
    sweep(&service.app).await.expect("the sweep runs");
    assert_eq!(alice.order(&id).await.body["status"], "PROCESSING");

    let seller = Api::seller(&service, "seller-1");
    let shipped = json!({"seller_id": "seller-1", "status": "SHIPPED", "carrier": "DHL", "tracking_number": "T1"});
    assert_eq!(
        seller.report(&id, shipped).await.body["payment_status"],
        "PENDING",
        "nothing is paid at shipping"
    );
    let delivered = seller.report(&id, json!({"seller_id": "seller-1", "status": "DELIVERED"})).await;
    assert_eq!(delivered.status, StatusCode::OK, "{delivered:?}");
    let order = delivered.body;
    assert_eq!(
        (order["status"].as_str(), order["payment_status"].as_str()),
        (Some("DELIVERED"), Some("PAID"))
    );
    assert_eq!(order["payment"]["amount"], total.as_str());
    assert_eq!(order["payment"]["reference"], format!("cod-{id}"));
    assert!(timeline(&order).contains(&"PROCESSING".to_owned()));
    let collected = order["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["note"].as_str().is_some_and(|note| note.starts_with("PAYMENT_COLLECTED")))
        .count();
    assert_eq!(collected, 1);
    assert_eq!(counters(&admin.product("mug").await), (7, 7, 0));

    // Cancelled before delivery, a cash-on-delivery order owes nothing and its units come back.
    let (unwanted, _) = alice.reserved_order(&[("mug", 2)]).await;
    start(&alice, &unwanted, "cod").await;
    let cancelled = alice.cancel(&unwanted).await.body;
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["payment_status"].as_str()),
        (Some("CANCELLED"), Some("PENDING"))
    );
    assert_eq!(cancelled["refunded_total"], "0.00");
    assert_eq!(counters(&admin.product("mug").await), (7, 7, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_placements_get_two_hundred_distinct_numbers_each_findable_by_its_owner() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "1.00", 1_000).await;
    let placed = futures::future::join_all((0..200).map(|n| {
        let service = &service;
        async move {
            let customer = Api::customer(service, &format!("c{}", n % 20));
            // A 503 asks the client to retry with the same key, as a client does; on two loaded
            // cores DynamoDB Local sometimes outlasts the storage timeouts of a burst.
            let key = format!("rush-{n}");
            let mut reply = customer.place(&[("mug", 1)], Some(&key)).await;
            for _ in 0..5 {
                if reply.status != StatusCode::SERVICE_UNAVAILABLE {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                reply = customer.place(&[("mug", 1)], Some(&key)).await;
            }
            // Under the rush a placement may be handed to the reserve-stock queue (202): it has
            // its number all the same.
            assert!([StatusCode::CREATED, StatusCode::ACCEPTED].contains(&reply.status), "{reply:?}");
            (customer, reply.body)
        }
    }))
    .await;
    let numbers: HashSet<String> = placed
        .iter()
        .map(|(_, order)| order["order_number"].as_str().expect("every order has a number").to_owned())
        .collect();
    assert_eq!(numbers.len(), 200, "no number is handed out twice");
    let today = chrono::Utc::now().format("%Y%m%d").to_string();
    assert!(
        numbers.iter().all(|number| number.starts_with(&format!("ORD-{today}-"))),
        "{numbers:?}"
    );

    for (customer, order) in placed.iter().step_by(40) {
        let number = order["order_number"].as_str().unwrap();
        let found = customer.get(&format!("/api/v1/orders/by-number/{number}")).await;
        assert_eq!(found.status, StatusCode::OK, "{found:?}");
        assert_eq!(found.body["id"], order["id"]);
        assert_eq!(
            admin.get(&format!("/api/v1/orders/by-number/{number}")).await.body["id"],
            order["id"]
        );
        let stranger = Api::customer(&service, "stranger")
            .get(&format!("/api/v1/orders/by-number/{number}"))
            .await;
        assert_eq!(stranger.status, StatusCode::NOT_FOUND, "another customer's order is not disclosed");
    }
    let unknown = admin.get(&format!("/api/v1/orders/by-number/ORD-{today}-999999999")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = admin.get("/api/v1/orders/by-number/not-a-number").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_lists_only_the_orders_holding_their_parts_and_sees_only_their_own_lines() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 100).await;
    let teapot = json!({"name": "Teapot", "seller_id": "seller-2", "price": "20.00", "on_hand": 100});
    admin.send(Method::PUT, "/api/v1/inventory/teapot", Some(teapot), &[]).await;
    let ghost = json!({"name": "Ghost", "seller_id": "seller-9", "price": "1.00", "on_hand": 1});
    let refused = admin.send(Method::PUT, "/api/v1/inventory/ghost", Some(ghost), &[]).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "SELLER_NOT_FOUND"),
        "{refused:?}"
    );

    let alice = Api::customer(&service, "alice");
    let to_fulfilment = |id: String, total: String| {
        let service = &service;
        async move {
            Api::payments(service).confirm(&id, &format!("pay-{id}"), &total).await;
            let path = format!("/api/v1/orders/{id}/status");
            let moved = Api::admin(service)
                .send(Method::PUT, &path, Some(json!({"status": "PROCESSING"})), &[])
                .await;
            assert_eq!(moved.body["status"], "PROCESSING", "{moved:?}");
            id
        }
    };
    let (mugs, total) = alice.reserved_order(&[("mug", 2)]).await;
    let mugs = to_fulfilment(mugs, total).await;
    let (teapots, total) = alice.reserved_order(&[("teapot", 1)]).await;
    let teapots = to_fulfilment(teapots, total).await;
    let (both, _) = alice.reserved_order(&[("mug", 1), ("teapot", 2)]).await;
    assert_eq!(start(&alice, &both, "cod").await.status, StatusCode::CREATED);
    let (unpaid, _) = alice.reserved_order(&[("mug", 1)]).await;

    let seller_one = Api::seller(&service, "seller-1");
    let listed = seller_one.get("/api/v1/sellers/seller-1/orders").await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    let orders = listed.body["orders"].as_array().unwrap();
    let ids: Vec<&str> = orders.iter().map(|order| order["order_id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec![both.as_str(), mugs.as_str()],
        "newest first; the unpaid {unpaid} holds no part yet"
    );
    for order in orders {
        assert!(
            order["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|line| line["seller_id"] == "seller-1"),
            "{order}"
        );
        assert_eq!(order["part"]["seller_id"], "seller-1");
        assert!(
            order.get("payment").is_none() && order.get("total").is_none(),
            "no payment details: {order}"
        );
    }
    let two: Vec<String> = Api::seller(&service, "seller-2").get("/api/v1/sellers/seller-2/orders").await.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|order| order["order_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(two, vec![both.clone(), teapots.clone()]);

    // A page at a time, through the cursor.
    let first = seller_one.get("/api/v1/sellers/seller-1/orders?limit=1").await.body;
    assert_eq!(first["orders"][0]["order_id"], both.as_str());
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = seller_one
        .get(&format!("/api/v1/sellers/seller-1/orders?limit=1&cursor={cursor}"))
        .await
        .body;
    assert_eq!(second["orders"][0]["order_id"], mugs.as_str());
    assert!(second["next_cursor"].is_null());

    let other = Api::seller(&service, "seller-2").get("/api/v1/sellers/seller-1/orders").await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(alice.get("/api/v1/sellers/seller-1/orders").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        admin.get("/api/v1/sellers/seller-1/orders").await.body["orders"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customers_contact_comes_from_their_token_and_a_body_that_tries_to_set_it_is_refused() {
    let service = service(Setup::driven_by_hand()).await;
    Api::admin(&service).put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let forged =
        json!({"items": [{"product_id": "mug", "quantity": 1}], "customer_email": "mallory@evil.example", "customer_name": "Mallory"});
    let refused = alice.send(Method::POST, "/api/v1/orders", Some(forged), &[]).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED"),
        "{refused:?}"
    );
    let listed = alice.get("/api/v1/orders").await.body;
    assert_eq!(listed["orders"].as_array().unwrap().len(), 0, "nothing was placed");
    let (id, _) = alice.reserved_order(&[("mug", 1)]).await;
    let order = alice.order(&id).await.body;
    assert_eq!(
        (order["customer_email"].as_str(), order["customer_name"].as_str()),
        (Some("alice@example.com"), Some("alice"))
    );
}
