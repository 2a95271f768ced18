//! Editing an order that awaits payment: its reservation and the stock it holds move with it in
//! one write, and a race with another edit or a payment is whole or refused, never half-applied.

use aws_sdk_dynamodb::types::AttributeValue;
use orders_tests::sweep;
use orders_tests::{assert_invariants, counters, service, timeline, Api, Reply, Setup};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn add(api: &Api, id: &str, sku: &str, quantity: u32) -> Reply {
    api.send(
        Method::POST,
        &format!("/api/v1/orders/{id}/items"),
        Some(json!({"product_id": sku, "quantity": quantity})),
        &[],
    )
    .await
}

async fn set(api: &Api, id: &str, item: &str, quantity: u32) -> Reply {
    api.send(
        Method::PUT,
        &format!("/api/v1/orders/{id}/items/{item}"),
        Some(json!({"quantity": quantity})),
        &[],
    )
    .await
}

async fn remove(api: &Api, id: &str, item: &str) -> Reply {
    api.send(Method::DELETE, &format!("/api/v1/orders/{id}/items/{item}"), None, &[])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_is_edited_with_its_held_stock_and_totals_in_one_write() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    admin.put_product("plate", "2.00", 5).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 2)]).await;

    let added = add(&alice, &id, "plate", 3).await;
    assert_eq!(added.status, StatusCode::OK, "{added:?}");
    assert_eq!(
        (added.body["total"].as_str(), added.body["items"][1]["item_id"].as_str()),
        (Some("22.00"), Some("item-2"))
    );
    assert_eq!(counters(&admin.product("plate").await), (5, 2, 3));
    let more = add(&alice, &id, "mug", 1).await.body;
    assert_eq!(
        (more["items"][0]["quantity"].as_u64(), more["total"].as_str()),
        (Some(3), Some("30.00"))
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 7, 3));

    let fewer = set(&alice, &id, "item-1", 1).await.body;
    assert_eq!(fewer["total"].as_str(), Some("14.00"));
    assert_eq!(
        counters(&admin.product("mug").await),
        (10, 9, 1),
        "units given back in the same write"
    );
    let short = set(&alice, &id, "item-2", 6).await;
    assert_eq!((short.status, short.code()), (StatusCode::CONFLICT, "NOT_ENOUGH_STOCK"));
    assert_eq!(counters(&admin.product("plate").await), (5, 2, 3), "a refused edit moves nothing");

    let gone = remove(&alice, &id, "item-2").await.body;
    assert_eq!((gone["items"].as_array().unwrap().len(), gone["total"].as_str()), (1, Some("8.00")));
    assert_eq!(counters(&admin.product("plate").await), (5, 5, 0));
    let last = remove(&alice, &id, "item-1").await;
    assert_eq!((last.status, last.code()), (StatusCode::CONFLICT, "LAST_LINE"));
    let edits = timeline(&gone).iter().filter(|status| *status == "PENDING_PAYMENT").count();
    assert!(edits >= 5, "each edit is in the history: {:?}", gone["status_history"]);

    assert_eq!(
        Api::customer(&service, "bob")
            .send(Method::DELETE, &format!("/api/v1/orders/{id}/items/item-1"), None, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(remove(&alice, &id, "item-9").await.code(), "LINE_NOT_FOUND");
    assert_eq!(add(&alice, &id, "ghost", 1).await.code(), "PRODUCT_NOT_FOUND");
    assert_eq!(set(&alice, &id, "item-1", 0).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The old total no longer pays; the new one does, and then the order is not editable.
    let payments = Api::payments(&service);
    let stale = payments.confirm(&id, "pay-1", "30.00").await;
    assert_eq!((stale.status, stale.code()), (StatusCode::UNPROCESSABLE_ENTITY, "AMOUNT_MISMATCH"));
    assert_eq!(payments.confirm(&id, "pay-1", "8.00").await.status, StatusCode::OK);
    let late = add(&alice, &id, "mug", 1).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "ORDER_NOT_EDITABLE"));
    assert_eq!(counters(&admin.product("mug").await), (9, 9, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_racing_each_other_and_a_payment_are_whole_or_refused() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "1.00", 100).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 1)]).await;
    let replies = futures::future::join_all((0..6).map(|_| add(&alice, &id, "mug", 1))).await;
    let applied = replies.iter().filter(|reply| reply.status == StatusCode::OK).count() as u64;
    assert!(
        replies
            .iter()
            .all(|reply| reply.status == StatusCode::OK || reply.status == StatusCode::SERVICE_UNAVAILABLE),
        "{replies:?}"
    );
    let order = alice.order(&id).await.body;
    assert_eq!(
        order["items"][0]["quantity"].as_u64(),
        Some(1 + applied),
        "every applied edit counted once"
    );
    assert_eq!(
        counters(&admin.product("mug").await),
        (100, 99 - applied as i64, 1 + applied as i64)
    );

    // A payment of the total as read races an edit: exactly one of them lands on that version.
    let total = order["total"].as_str().unwrap().to_owned();
    let payments = Api::payments(&service);
    let (paid, edited) = tokio::join!(payments.confirm(&id, "pay-race", &total), add(&alice, &id, "mug", 1));
    let after = alice.order(&id).await.body;
    match after["status"].as_str() {
        Some("PAID") => {
            assert_eq!(paid.status, StatusCode::OK);
            assert_eq!(edited.code(), "ORDER_NOT_EDITABLE");
            assert_eq!(after["total"], total.as_str(), "paid exactly what it cost");
        }
        Some("PENDING_PAYMENT") => {
            assert_eq!(edited.status, StatusCode::OK);
            assert_eq!(paid.code(), "AMOUNT_MISMATCH", "the old total is refused, never taken");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_refused_for_a_price_change_says_the_old_and_new_price_in_the_shape_checkout_uses() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 1)]).await;
    admin.put_product("mug", "6.00", 10).await;

    // Adding units is refused by the domain; raising a quantity, by the write's price condition.
    for refused in [add(&alice, &id, "mug", 1).await, set(&alice, &id, "item-1", 3).await] {
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::CONFLICT, "PRICE_CHANGED"),
            "{refused:?}"
        );
        assert_eq!(
            refused.body["changes"],
            json!([{"product_id": "mug", "old_price": "5.00", "new_price": "6.00"}]),
            "{refused:?}"
        );
    }
    assert_eq!(alice.order(&id).await.body["items"][0]["quantity"], 1, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_changes_nothing_writes_nothing_and_an_order_takes_at_most_a_hundred_edits() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 1)]).await;
    let before = alice.order(&id).await.body;
    for _ in 0..5 {
        let same = set(&alice, &id, "item-1", 1).await;
        assert_eq!(same.status, StatusCode::OK, "{same:?}");
    }
    let after = alice.order(&id).await.body;
    assert_eq!(after["version"], before["version"], "an edit that changes nothing writes nothing");
    assert_eq!(timeline(&after).len(), timeline(&before).len());

    for n in 0..100 {
        let edited = set(&alice, &id, "item-1", 2 + n % 2).await;
        assert_eq!(edited.status, StatusCode::OK, "edit {n}: {edited:?}");
    }
    let refused = set(&alice, &id, "item-1", 2).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "EDIT_LIMIT_REACHED"),
        "{refused:?}"
    );
    assert_eq!(refused.body["max_edits"], 100);
    // The order still settles: the customer can cancel it and its units come back.
    assert_eq!(alice.cancel(&id).await.status, StatusCode::OK);
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_stored_with_a_timeline_near_the_item_limit_is_still_expired_by_the_sweeper_and_its_stock_returns() {
    let clock = orders_shared::ports::ManualClock::new(chrono::Utc::now());
    let service = service(Setup {
        clock: Some(std::sync::Arc::new(clock.clone())),
        poll_queues: false,
        ..Setup::default()
    })
    .await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 2)]).await;

    // As an order edited thousands of times before edits were bounded is stored: about 390 KB.
    let table = &service.deployment.tables["OrdersTable"];
    let key = std::collections::HashMap::from([
        ("pk".to_owned(), AttributeValue::S(format!("ORDER#{id}"))),
        ("sk".to_owned(), AttributeValue::S("ORDER".to_owned())),
    ]);
    let dynamodb = &service.clients.dynamodb;
    let item = dynamodb
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let AttributeValue::L(mut history) = item["status_history"].clone() else {
        panic!("a list")
    };
    let entry = |n: usize| {
        AttributeValue::M(std::collections::HashMap::from([
            ("status".to_owned(), AttributeValue::S("PENDING_PAYMENT".to_owned())),
            (
                "timestamp".to_owned(),
                AttributeValue::S(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            ),
            ("actor".to_owned(), AttributeValue::S("customer:alice".to_owned())),
            (
                "note".to_owned(),
                AttributeValue::S(format!("EDITED: item-1 {} -> {}", 1 + n % 2, 2 - n % 2)),
            ),
        ]))
    };
    history.extend((0..3_000).map(entry));
    // Padded to the largest item DynamoDB takes, so the next entry would not fit.
    let padded = |padding: usize| {
        let mut history = history.clone();
        let AttributeValue::M(mut last) = entry(3_000) else {
            unreachable!()
        };
        last.insert(
            "note".to_owned(),
            AttributeValue::S(format!("EDITED: item-1 1 -> 2 {}", "x".repeat(padding))),
        );
        history.push(AttributeValue::M(last));
        let mut item = item.clone();
        item.insert("status_history".to_owned(), AttributeValue::L(history));
        item
    };
    let (mut fits, mut too_big) = (0, 120_000);
    while too_big - fits > 1 {
        let middle = (fits + too_big) / 2;
        match dynamodb.put_item().table_name(table).set_item(Some(padded(middle))).send().await {
            Ok(_) => fits = middle,
            Err(_) => too_big = middle,
        }
    }
    assert!(fits > 0 && too_big < 120_000, "the item limit was found: {fits}");
    dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(padded(fits)))
        .send()
        .await
        .unwrap();
    let stored = alice.order(&id).await.body;
    assert!(timeline(&stored).len() > 3_000, "the oversized order reads");

    clock.advance(chrono::Duration::hours(2));
    let report = sweep(&service.app).await.unwrap();
    assert_eq!((report.expired, report.failures), (1, 0), "{report:?}");
    let expired = alice.order(&id).await.body;
    assert_eq!(expired["status"], "CANCELLED");
    assert!(timeline(&expired).len() <= 400, "the timeline is bounded again");
    assert!(expired["history_trimmed"].as_u64().unwrap() > 2_500);
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0), "its stock is back");
}
