use futures::future::join_all;
use orders_tests::{assert_invariants, counters, service, timeline, Api, Setup};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_reserves_its_stock_and_shows_its_whole_timeline() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "9.50", 5).await;
    admin.put_product("tea", "0.35", 100).await;
    let alice = Api::customer(&service, "alice");

    let placed = alice.place(&[("mug", 2), ("tea", 3)], None).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    let order = &placed.body;
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(order["payment_status"], "PENDING");
    assert_eq!(order["subtotal"], "20.05");
    assert_eq!(order["total"], "20.05");
    assert_eq!(order["items"][1]["unit_price"], "0.35");
    assert_eq!(order["items"][1]["subtotal"], "1.05");
    let timeline = timeline(order);
    assert_eq!(timeline, ["CREATED", "PENDING_RESERVING_STOCK", "PENDING_PAYMENT"]);
    let location = placed.headers["location"].to_str().unwrap();
    assert_eq!(location, format!("/api/v1/orders/{}", order["id"].as_str().unwrap()));

    let mut read = alice.get(location).await;
    assert_eq!(read.status, StatusCode::OK);
    // Read back, the order also says what its customer may do with it now.
    let allowed = read.body.as_object_mut().unwrap().remove("allowed_actions").unwrap();
    assert_eq!(
        allowed,
        serde_json::json!([{"action": "pay"}, {"action": "edit_items"}, {"action": "cancel", "refund": "0.00"}])
    );
    assert_eq!(read.body, placed.body);
    assert_eq!(counters(&admin.product("mug").await), (5, 3, 2));
    assert_eq!(counters(&admin.product("tea").await), (100, 97, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_customers_racing_for_the_last_unit_yield_exactly_one_order() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("last-one", "49.00", 1).await;
    let customers: Vec<Api> = (0..100).map(|n| Api::customer(&service, &format!("racer-{n}"))).collect();

    let replies = join_all(customers.iter().map(|customer| customer.place(&[("last-one", 1)], None))).await;
    let won = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
    let lost: Vec<_> = replies.iter().filter(|r| r.status == StatusCode::CONFLICT).collect();
    assert_eq!(won, 1);
    assert_eq!(lost.len(), 99);
    assert!(lost.iter().all(|r| r.code() == "OUT_OF_STOCK"));

    // Every loser's order exists, INVALID, with the reason on its line.
    let invalid = customers[0].place(&[("last-one", 1)], None).await;
    let order_id = invalid.body["order_id"].as_str().unwrap().to_owned();
    let order = customers[0].order(&order_id).await;
    assert_eq!(order.body["status"], "INVALID");
    assert_eq!(order.body["problems"][0]["code"], "OUT_OF_STOCK");
    assert_eq!(counters(&admin.product("last-one").await), (1, 0, 1));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_orders_on_five_units_yield_exactly_five() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("five", "3.00", 5).await;
    let customers: Vec<Api> = (0..10).map(|n| Api::customer(&service, &format!("c{n}"))).collect();

    let replies = join_all(customers.iter().map(|customer| customer.place(&[("five", 1)], None))).await;
    assert_eq!(replies.iter().filter(|r| r.status == StatusCode::CREATED).count(), 5);
    assert_eq!(replies.iter().filter(|r| r.status == StatusCode::CONFLICT).count(), 5);
    assert_eq!(counters(&admin.product("five").await), (5, 0, 5));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_with_one_short_line_reserves_nothing_at_all() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("a", "1.00", 10).await;
    admin.put_product("b", "2.00", 1).await;
    admin.put_product("c", "3.00", 10).await;
    let alice = Api::customer(&service, "alice");

    let reply = alice.place(&[("a", 2), ("b", 2), ("c", 2)], None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.code(), "OUT_OF_STOCK");
    assert_eq!(reply.body["lines"].as_array().unwrap().len(), 1);
    assert_eq!(reply.body["lines"][0]["product_id"], "b");
    assert_eq!(reply.body["lines"][0]["available"], 1);
    assert_eq!(counters(&admin.product("a").await), (10, 10, 0));
    assert_eq!(counters(&admin.product("b").await), (1, 1, 0));
    assert_eq!(counters(&admin.product("c").await), (10, 10, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_product_makes_the_order_invalid_and_reserves_nothing() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("real", "1.00", 10).await;
    let alice = Api::customer(&service, "alice");

    let reply = alice.place(&[("real", 1), ("ghost", 1)], None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.code(), "UNKNOWN_PRODUCT");
    let order = alice.order(reply.body["order_id"].as_str().unwrap()).await;
    assert_eq!(order.body["status"], "INVALID");
    assert_eq!(order.body["problems"][0]["product_id"], "ghost");
    assert_eq!(counters(&admin.product("real").await), (10, 10, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_keeps_on_hand_equal_to_available_plus_reserved() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    let created = admin.put_product("lamp", "25.00", 4).await;
    assert_eq!(created.status, StatusCode::OK);
    assert_eq!(counters(&created.body), (4, 4, 0));
    Api::customer(&service, "alice").place(&[("lamp", 3)], None).await;

    let raised = admin.put_product("lamp", "27.50", 10).await;
    assert_eq!(counters(&raised.body), (10, 7, 3));
    assert_eq!(raised.body["price"], "27.50");
    let too_low = admin.put_product("lamp", "27.50", 2).await;
    assert_eq!(too_low.status, StatusCode::CONFLICT);
    assert_eq!(too_low.code(), "ON_HAND_BELOW_RESERVED");
    assert_eq!(too_low.body["reserved"], 3);
    let exact = admin.put_product("lamp", "27.50", 3).await;
    assert_eq!(counters(&exact.body), (3, 0, 3));
    let missing = admin.get("/api/v1/inventory/nothing-here").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "PRODUCT_NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_are_snapshotted_so_a_later_price_change_leaves_the_order_alone() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("pen", "1.10", 10).await;
    let alice = Api::customer(&service, "alice");
    let placed = alice.place(&[("pen", 2)], None).await;
    admin.put_product("pen", "9.99", 10).await;
    let order = alice.order(placed.body["id"].as_str().unwrap()).await;
    assert_eq!(order.body["items"][0]["unit_price"], "1.10");
    assert_eq!(order.body["total"], "2.20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_says_in_server_timing_where_its_time_went_and_how_many_storage_calls_it_made() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    // The first placement of an instance also claims a block of order numbers.
    alice.place(&[("mug", 1)], Some("warm-up")).await;
    let placed = alice.place(&[("mug", 1)], Some("key-1")).await;
    let timing = |reply: &orders_tests::Reply| reply.headers["server-timing"].to_str().unwrap().to_owned();
    let parts = |header: &str| -> Vec<(String, f64, Option<String>)> {
        header
            .split(", ")
            .map(|part| {
                let mut fields = part.split(';');
                let name = fields.next().unwrap().to_owned();
                let (mut duration, mut desc) = (f64::NAN, None);
                for field in fields {
                    match field.split_once('=') {
                        Some(("dur", value)) => duration = value.parse().unwrap(),
                        Some(("desc", value)) => desc = Some(value.trim_matches('"').to_owned()),
                        _ => panic!("{header}"),
                    }
                }
                (name, duration, desc)
            })
            .collect()
    };
    let header = timing(&placed);
    let placement = parts(&header);
    let names: Vec<&str> = placement.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["db", "queue", "app"], "{header}");
    assert!(placement.iter().all(|(_, duration, _)| *duration >= 0.0), "{header}");
    assert_eq!(
        placement[0].2.as_deref(),
        Some("2 calls"),
        "a keyed placement: one BatchGetItem, one TransactWriteItems: {header}"
    );
    assert_eq!(placement[1].2.as_deref(), Some("0 calls"), "{header}");
    let id = placed.body["id"].as_str().unwrap();
    let read = parts(&timing(&alice.order(id).await));
    assert_eq!(read[0].2.as_deref(), Some("1 calls"), "a read is one Query");
    let refused = Api::anonymous(&service).get("/api/v1/orders").await;
    assert_eq!(refused.status, reqwest::StatusCode::UNAUTHORIZED);
    let page = reqwest::get(format!("{}/", service.base_url())).await.unwrap();
    let page_timing = page.headers()["server-timing"].to_str().unwrap().to_owned();
    assert_eq!(parts(&page_timing)[0].2.as_deref(), Some("0 calls"), "the pages touch no storage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_placement_routes_throttle_the_gateway_answers_429_and_other_routes_and_later_placements_go_through() {
    let service = service(Setup {
        parameters: vec![
            ("PlacementRateLimit".into(), "1".into()),
            ("PlacementBurstLimit".into(), "2".into()),
        ],
        ..Setup::driven_by_hand()
    })
    .await;
    Api::admin(&service).put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    // Five at once, well inside the second that would refill the bucket by one: on a busy
    // machine five placements one after another may take longer than that.
    let replies = join_all((0..5).map(|n| {
        let alice = alice.clone();
        async move { alice.place(&[("mug", 1)], Some(&format!("k-{n}"))).await }
    }))
    .await;
    let mut statuses = Vec::new();
    for reply in &replies {
        if reply.status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(
                reply.body,
                serde_json::json!({"message": "Too Many Requests"}),
                "as API Gateway answers"
            );
        }
        statuses.push(reply.status.as_u16());
    }
    let shed: Vec<String> = replies
        .iter()
        .zip(0..)
        .filter(|(reply, _)| reply.status == reqwest::StatusCode::TOO_MANY_REQUESTS)
        .map(|(_, n)| format!("k-{n}"))
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 429, 429, 429], "the burst goes through, the rest is shed");
    assert_eq!(
        alice.get("/api/v1/orders").await.body["orders"].as_array().unwrap().len(),
        2,
        "other routes keep their own limit; nothing shed was placed"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let retried = alice.place(&[("mug", 1)], Some(&shed[0])).await;
    assert_eq!(
        retried.status,
        reqwest::StatusCode::CREATED,
        "a shed request retried later succeeds: {retried:?}"
    );
}
