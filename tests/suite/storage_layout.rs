//! The stored layout, pinned against `template.yaml`: every kind of item the service writes has
//! the key format it should, and lands in exactly the indexes meant for it (sparse indexes only
//! while it is in the state they serve), with each key attribute of the type the table declares,
//! and says what it is in its `entity` attribute.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use orders_local::template::TableSpec;
use orders_shared::adapters::dynamo::{prefix, ORDER_NUMBER_COUNTER_PREFIX};
use orders_shared::adapters::faults::{FaultPlan, FaultPoint};
use orders_tests::{service, Api, Setup};
use reqwest::StatusCode;

type Item = std::collections::HashMap<String, AttributeValue>;

/// The indexes of `table` that hold `item`: those whose every key attribute it carries.
fn indexes_holding(table: &TableSpec, item: &Item) -> BTreeSet<String> {
    table
        .indexes
        .iter()
        .filter(|index| index.keys.iter().all(|key| item.contains_key(&key.name)))
        .map(|index| index.name.clone())
        .collect()
}

/// Every attribute the table declares (keys of the table or an index) has its declared type.
fn assert_key_types(table: &TableSpec, item: &Item) {
    for (name, kind) in &table.attributes {
        let Some(value) = item.get(name) else { continue };
        let fits = match kind.as_str() {
            "S" => value.is_s(),
            "N" => value.is_n(),
            "B" => value.is_b(),
            _ => false,
        };
        assert!(fits, "{name} should be {kind} in {item:?}");
    }
}

async fn scan(service: &orders_local::RunningService, logical_id: &str) -> Vec<Item> {
    let mut items = service
        .clients
        .dynamodb
        .scan()
        .table_name(&service.deployment.tables[logical_id])
        .into_paginator()
        .items()
        .send();
    let mut found = Vec::new();
    while let Some(item) = items.try_next().await.expect("the table reads") {
        found.push(item);
    }
    found
}

fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stored_item_has_its_key_format_and_lands_only_in_the_indexes_meant_for_it() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (awaiting, _) = alice.reserved_order(&[("mug", 1)]).await;
    let (paid, total) = alice.reserved_order(&[("mug", 2)]).await;
    assert_eq!(Api::payments(&service).confirm(&paid, "pay-1", &total).await.status, StatusCode::OK);
    let keyed = alice.place(&[("mug", 1)], Some("key-1")).await;
    assert_eq!(keyed.status, StatusCode::CREATED);
    let (cancelled, cancelled_total) = alice.reserved_order(&[("mug", 1)]).await;
    assert_eq!(alice.cancel(&cancelled).await.status, StatusCode::OK);
    assert_eq!(
        alice.pay(&cancelled, "pi_late", &cancelled_total).await.body["outcome"],
        "refund_due"
    );
    // A user of the pool acting for seller-1: listed on the seller, with the seller's claim.
    let pool_id = &service.deployment.user_pools["UserPool"];
    let user = serde_json::json!({"UserPoolId": pool_id, "Username": "sam@example.com", "MessageAction": "SUPPRESS",
        "UserAttributes": [{"Name": "email", "Value": "sam@example.com"}, {"Name": "email_verified", "Value": "true"}]});
    service.clients.cognito.expect_ok("AdminCreateUser", user).await.unwrap();
    let bound = admin
        .send(
            reqwest::Method::POST,
            "/api/v1/sellers/seller-1/users",
            Some(serde_json::json!({"email": "sam@example.com"})),
            &[],
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    let sam = bound.body["users"][0]["user_id"].as_str().unwrap().to_owned();
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
    let parked = alice.place(&[("mug", 1)], None).await;
    assert_eq!(parked.status, StatusCode::ACCEPTED);
    let parked = parked.body["id"].as_str().unwrap().to_owned();

    let tables: BTreeMap<&str, &TableSpec> = service.template.tables.iter().map(|t| (t.logical_id.as_str(), t)).collect();
    let all_orders: BTreeSet<String> = [
        "by_user_created",
        "by_user_total",
        "by_shard_created",
        "by_shard_total",
        "by_status_created",
        "by_status_total",
        "by_number",
    ]
    .map(String::from)
    .into();
    let none = BTreeSet::new();

    let orders_table = tables["OrdersTable"];
    let mut seen = BTreeMap::<&str, usize>::new();
    for item in scan(&service, "OrdersTable").await {
        assert_key_types(orders_table, &item);
        let (pk, sk) = (text(&item, "pk"), text(&item, "sk"));
        let held_by = indexes_holding(orders_table, &item);
        if let (Some(id), Some(reference)) = (pk.strip_prefix(prefix::ORDER), sk.strip_prefix("PAYMENT#")) {
            *seen.entry("late payment").or_default() += 1;
            assert_eq!(text(&item, "entity"), "LATE_PAYMENT");
            assert_eq!((id, reference), (cancelled.as_str(), "pi_late"));
            assert!(!item.contains_key("ttl"), "money owed back is kept");
            let owed = BTreeSet::from(["by_refund_due".to_owned()]);
            assert_eq!(
                held_by, owed,
                "a payment owed back is only in the index of refunds to drive: {item:?}"
            );
        } else if let Some(id) = pk.strip_prefix(prefix::ORDER) {
            *seen.entry("order").or_default() += 1;
            assert_eq!(text(&item, "entity"), "ORDER");
            assert_eq!(sk, "ORDER");
            assert!(!item.contains_key("ttl"), "orders are kept: {item:?}");
            let mut expected = all_orders.clone();
            if id == parked {
                expected.insert("by_reserving".into());
            }
            // Every order here holds its customer's name and email: it is found by them, and a
            // closed one waits in the index of personal data to erase at the end of the
            // retention period.
            expected.insert("by_customer_email".into());
            expected.insert("by_customer_name".into());
            let status: orders_shared::domain::OrderStatus = text(&item, "status").parse().unwrap();
            if !status.may_ship() {
                expected.insert("by_personal_data".into());
            }
            assert_eq!(held_by, expected, "order {id} in {}", text(&item, "status"));
        } else if let Some(rest) = pk.strip_prefix(ORDER_NUMBER_COUNTER_PREFIX) {
            *seen.entry("order number counter").or_default() += 1;
            assert_eq!(text(&item, "entity"), "COUNTER");
            let today = chrono::Utc::now().format("%Y%m%d").to_string();
            assert!(rest.starts_with(&format!("{today}#")), "a counter per day and shard: {rest}");
            assert_eq!(sk, "COUNTER");
            assert!(
                item.get("ttl").is_some_and(AttributeValue::is_n),
                "past days' counters expire: {item:?}"
            );
            assert_eq!(held_by, none, "a counter is in no index: {item:?}");
        } else if let Some(event) = pk.strip_prefix(prefix::PROVIDER_EVENT) {
            *seen.entry("provider event").or_default() += 1;
            assert_eq!(text(&item, "entity"), "PROVIDER_EVENT");
            assert!(event.starts_with("evt_"), "{item:?}");
            assert_eq!((sk, text(&item, "kind")), ("EVENT", "payment_intent.succeeded"));
            assert!(
                item.get("ttl").is_some_and(AttributeValue::is_n),
                "applied events are forgotten after Stripe's retries: {item:?}"
            );
            assert_eq!(held_by, none, "an applied event is in no index: {item:?}");
        } else if let Some(rest) = pk.strip_prefix(prefix::IDEMPOTENCY) {
            *seen.entry("idempotency").or_default() += 1;
            assert_eq!(text(&item, "entity"), "IDEMPOTENCY");
            assert_eq!(rest, "alice#key-1");
            assert_eq!(sk, "IDEMPOTENCY");
            assert!(
                item.get("ttl").is_some_and(AttributeValue::is_n),
                "idempotency records expire: {item:?}"
            );
            assert_eq!(held_by, none, "an idempotency record is in no index: {item:?}");
        } else {
            panic!("an item the layout does not know: {item:?}");
        }
    }
    // One instance placed every order: one block of numbers, from one counter.
    assert_eq!(
        seen,
        BTreeMap::from([
            ("idempotency", 1),
            ("late payment", 1),
            ("order", 5),
            ("order number counter", 1),
            ("provider event", 1)
        ])
    );

    let inventory_table = tables["InventoryTable"];
    let mut seen = BTreeMap::<String, usize>::new();
    for item in scan(&service, "InventoryTable").await {
        assert_key_types(inventory_table, &item);
        let (pk, sk) = (text(&item, "pk"), text(&item, "sk"));
        let held_by = indexes_holding(inventory_table, &item);
        if let Some(sku) = pk.strip_prefix(prefix::PRODUCT) {
            *seen.entry("product".into()).or_default() += 1;
            assert_eq!(text(&item, "entity"), "PRODUCT");
            assert_eq!((sku, sk), ("mug", "STOCK"));
            assert!(!item.contains_key("ttl"));
            // Only a product's own item carries the catalogue's keys (its stock shards do not).
            let catalogue = BTreeSet::from(["by_catalogue".to_owned(), "by_seller_catalogue".to_owned()]);
            assert_eq!(held_by, catalogue, "a product is in the catalogue's indexes only: {item:?}");
        } else if let Some(id) = pk.strip_prefix(prefix::SELLER) {
            *seen.entry("seller".into()).or_default() += 1;
            assert_eq!(text(&item, "entity"), "SELLER");
            assert!(["seller-1", "seller-2"].contains(&id), "{id}");
            assert_eq!(sk, "SELLER");
            let listed = BTreeSet::from(["by_seller_list".to_owned()]);
            assert_eq!(held_by, listed, "a seller is in the sellers' index only: {item:?}");
        } else if let Some(id) = pk.strip_prefix(prefix::RESERVATION) {
            let status = text(&item, "status").to_owned();
            *seen.entry(format!("reservation {status}")).or_default() += 1;
            assert_eq!(text(&item, "entity"), "RESERVATION");
            assert_eq!(sk, "RESERVATION");
            assert!(
                item.get("ttl").is_some_and(AttributeValue::is_n),
                "every reservation has a TTL: {item:?}"
            );
            let expected: BTreeSet<String> = if status == "ACTIVE" {
                BTreeSet::from(["by_expiry".to_owned()])
            } else {
                BTreeSet::new()
            };
            assert_eq!(held_by, expected, "reservation of {id} ({status})");
        } else if let Some(user) = pk.strip_prefix(prefix::USER_SELLER) {
            *seen.entry("user's seller".into()).or_default() += 1;
            assert_eq!(text(&item, "entity"), "USER_SELLER");
            assert_eq!((user, sk, text(&item, "seller_id")), (sam.as_str(), "SELLER", "seller-1"));
            assert!(!item.contains_key("ttl"), "a claim lasts until the user is let go: {item:?}");
            assert_eq!(held_by, none, "a claim is in no index: {item:?}");
        } else {
            panic!("an item the layout does not know: {item:?}");
        }
    }
    let expected: BTreeMap<String, usize> = [
        ("product", 1),
        ("seller", 2),
        ("reservation ACTIVE", 2),
        ("reservation CONVERTED", 1),
        ("reservation RELEASED", 1),
        ("user's seller", 1),
    ]
    .map(|(kind, n)| (kind.to_owned(), n))
    .into();
    assert_eq!(seen, expected);
    assert!(!awaiting.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_written_before_an_index_existed_are_found_after_one_backfill_which_a_second_run_leaves_alone() {
    use orders_shared::adapters::dynamo::DynamoStore;
    use orders_shared::retry::RetryPolicy;

    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("kettle", "40.00", 5).await;
    let (order, _) = Api::customer(&service, "kim.lee").reserved_order(&[("kettle", 1)]).await;
    let found_by_email = |admin: &Api| {
        let admin = admin.clone();
        async move { orders_tests::order_ids(&admin.get("/api/v1/orders?q=kim.lee@example").await.body) }
    };
    // Whether an admin's listing (`path`, its list under `field`) holds the item `id` names.
    let listed = |admin: &Api, path: &'static str, field: &'static str, id: (&'static str, &'static str)| {
        let admin = admin.clone();
        async move {
            let page = admin.get(path).await.body;
            page[field].as_array().unwrap().iter().any(|item| item[id.0] == id.1)
        }
    };
    let catalogue = |admin: &Api| listed(admin, "/api/v1/inventory", "products", ("product_id", "kettle"));
    let sellers = |admin: &Api| listed(admin, "/api/v1/sellers", "sellers", ("seller_id", "seller-2"));
    assert_eq!(found_by_email(&admin).await, std::slice::from_ref(&order));
    assert!(catalogue(&admin).await && sellers(&admin).await);

    // As if written before those indexes: the attributes they read taken away.
    let db = &service.clients.dynamodb;
    for (table, pk, sk, attributes) in [
        (
            &service.config.orders_table,
            format!("{}{order}", prefix::ORDER),
            "ORDER",
            "email_shard, email_key, name_shard, name_key",
        ),
        (
            &service.config.inventory_table,
            format!("{}kettle", prefix::PRODUCT),
            "STOCK",
            "catalogue, catalogue_seller",
        ),
        (
            &service.config.inventory_table,
            format!("{}seller-2", prefix::SELLER),
            "SELLER",
            "seller_list",
        ),
    ] {
        db.update_item()
            .table_name(table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .update_expression(format!("REMOVE {attributes}"))
            .send()
            .await
            .expect("the attributes are removed");
    }
    assert!(found_by_email(&admin).await.is_empty());
    assert!(!catalogue(&admin).await && !sellers(&admin).await);

    let store = DynamoStore::new(
        db.clone(),
        &service.config.orders_table,
        &service.config.inventory_table,
        RetryPolicy::IMMEDIATE,
    );
    let done = store.backfill_indexes().await.expect("a backfill");
    assert_eq!(
        (done.orders, done.products, done.sellers, done.changed_meanwhile),
        (1, 1, 1, 0),
        "{done:?}"
    );
    assert_eq!(done.product_words, 1, "{done:?}");
    assert_eq!(found_by_email(&admin).await, [order]);
    assert!(catalogue(&admin).await && sellers(&admin).await);
    let again = store.backfill_indexes().await.expect("a second backfill");
    assert_eq!((again.orders, again.products, again.sellers), (0, 0, 0), "{again:?}");
}
