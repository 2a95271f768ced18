//! What the back office reads besides the orders: staff notes on an order (admins and the
//! sellers of its parts, never its customer) and each customer's figures, kept as counters as
//! their orders change.

use std::time::Duration;

use orders_tests::{eventually, pay_by_card, service, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_notes_carry_their_author_newest_first_and_only_the_shops_people_read_or_write_them() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "10.00", 10).await;
    let customer = Api::customer(&service, "nora");
    let (id, total) = customer.reserved_order(&[("mug", 1)]).await;
    pay_by_card(&service, &id, &total).await;
    let notes = format!("/api/v1/orders/{id}/notes");

    let first = admin
        .send(Method::POST, &notes, Some(json!({"note": "customer called: ship Friday"})), &[])
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert_eq!(first.body["author"], "admin:shop-admin");
    // The seller of a part (the paid order went to its seller) writes one too; another seller
    // is not told the order exists, and its customer may not read what staff say.
    eventually(Duration::from_secs(20), || async {
        (admin.get(&format!("/api/v1/orders/{id}")).await.body["status"] == "PROCESSING").then_some(())
    })
    .await;
    let seller = Api::seller(&service, "seller-1");
    let second = seller
        .send(Method::POST, &notes, Some(json!({"note": "packed, waiting for the carrier"})), &[])
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{second:?}");
    assert_eq!(second.body["author"], "seller:seller-1");
    assert_eq!(Api::seller(&service, "seller-2").get(&notes).await.status, StatusCode::NOT_FOUND);
    assert_eq!(customer.get(&notes).await.status, StatusCode::FORBIDDEN);
    let by_customer = customer.send(Method::POST, &notes, Some(json!({"note": "hello"})), &[]).await;
    assert_eq!(by_customer.status, StatusCode::FORBIDDEN);
    assert_eq!(Api::customer(&service, "stranger").get(&notes).await.status, StatusCode::NOT_FOUND);

    let listed = admin.get(&notes).await;
    assert_eq!(listed.status, StatusCode::OK);
    let texts: Vec<&str> = listed.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["note"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["packed, waiting for the carrier", "customer called: ship Friday"]);
    // A page at a time.
    let page = admin.get(&format!("{notes}?limit=1")).await;
    assert_eq!(page.body["notes"].as_array().unwrap().len(), 1);
    let cursor = page.body["next_cursor"].as_str().expect("a next page");
    let rest = admin.get(&format!("{notes}?limit=1&cursor={cursor}")).await;
    assert_eq!(rest.body["notes"][0]["note"], "customer called: ship Friday");
    // Notes stay out of the order the customer reads.
    let order = customer.get(&format!("/api/v1/orders/{id}")).await.body;
    assert!(!order.to_string().contains("ship Friday"), "{order}");

    for bad in [
        json!({}),
        json!({"note": ""}),
        json!({"note": "x".repeat(1001)}),
        json!({"note": "ok", "pin": 1}),
        json!({"note": 5}),
    ] {
        let refused = admin.send(Method::POST, &notes, Some(bad.clone()), &[]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {refused:?}");
    }
    let missing = format!("/api/v1/orders/{}/notes", uuid::Uuid::now_v7());
    assert_eq!(
        admin.send(Method::POST, &missing, Some(json!({"note": "x"})), &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(admin.get(&format!("{notes}?cursor=nonsense")).await.status, StatusCode::BAD_REQUEST);

    // On an order of two sellers, each reads the shop's notes and their own, not the other's.
    let vase = json!({"name": "Vase", "seller_id": "seller-2", "price": "7.00", "on_hand": 10});
    assert!(admin
        .send(Method::PUT, "/api/v1/inventory/vase", Some(vase), &[])
        .await
        .status
        .is_success());
    let (shared, total) = customer.reserved_order(&[("mug", 1), ("vase", 1)]).await;
    pay_by_card(&service, &shared, &total).await;
    eventually(Duration::from_secs(20), || async {
        (admin.get(&format!("/api/v1/orders/{shared}")).await.body["status"] == "PROCESSING").then_some(())
    })
    .await;
    let shared_notes = format!("/api/v1/orders/{shared}/notes");
    for (writer, text) in [(&admin, "gift wrap both"), (&seller, "mug packed")] {
        let written = writer.send(Method::POST, &shared_notes, Some(json!({"note": text})), &[]).await;
        assert_eq!(written.status, StatusCode::CREATED);
    }
    let seller_two = Api::seller(&service, "seller-2");
    let read: Vec<String> = seller_two.get(&shared_notes).await.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["note"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(read, ["gift wrap both"], "seller-2 does not read seller-1's note");

    // The notes go with the order's personal data: erased, they are deleted too.
    let (unpaid, _) = customer.reserved_order(&[("mug", 1)]).await;
    let unpaid_notes = format!("/api/v1/orders/{unpaid}/notes");
    let noted = admin
        .send(
            Method::POST,
            &unpaid_notes,
            Some(json!({"note": "Nora called from +33 6 12 34 56 78"})),
            &[],
        )
        .await;
    assert_eq!(noted.status, StatusCode::CREATED);
    let cancelled = customer
        .send(Method::POST, &format!("/api/v1/orders/{unpaid}/cancel"), None, &[])
        .await;
    assert!(cancelled.status.is_success(), "{cancelled:?}");
    let erased = admin.send(Method::POST, "/api/v1/customers/nora/erasure", None, &[]).await;
    assert!(erased.status.is_success(), "{erased:?}");
    eventually(Duration::from_secs(30), || async {
        admin.get(&unpaid_notes).await.body["notes"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_figures_count_their_orders_what_they_spent_and_got_back_and_their_last_order() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("lamp", "30.00", 10).await;
    let customer = Api::customer(&service, "olga");
    let (first, total) = customer.reserved_order(&[("lamp", 1)]).await;
    pay_by_card(&service, &first, &total).await;
    let (second, total) = customer.reserved_order(&[("lamp", 2)]).await;
    pay_by_card(&service, &second, &total).await;
    let (_unpaid, _) = customer.reserved_order(&[("lamp", 1)]).await;
    let refund = admin
        .send(
            Method::POST,
            &format!("/api/v1/orders/{second}/refund"),
            Some(json!({"amount": "5.00", "reason": "late"})),
            &[("idempotency-key", "olga-late")],
        )
        .await;
    assert!(refund.status.is_success(), "{refund:?}");
    let latest = customer.get("/api/v1/orders?limit=1").await.body["orders"][0]["created_at"].clone();

    let stats_path = "/api/v1/customers/olga/stats";
    let stats: Value = eventually(Duration::from_secs(30), || async {
        let stats = admin.get(stats_path).await.body;
        (stats["paid_orders"] == 2 && stats["orders"] == 3 && stats["refunded"] == "5.00").then_some(stats)
    })
    .await;
    assert_eq!(stats["spent"], "90.00", "{stats}");
    assert_eq!(stats["net"], "85.00");
    assert_eq!(stats["average_order"], "45.00");
    assert_eq!(stats["currency"], "USD");
    let last = chrono::DateTime::parse_from_rfc3339(stats["last_order_at"].as_str().unwrap()).unwrap();
    let placed = chrono::DateTime::parse_from_rfc3339(latest.as_str().unwrap()).unwrap();
    assert!((last - placed).num_seconds().abs() <= 1, "{last} is the last order's {placed}");

    assert_eq!(customer.get(stats_path).await.status, StatusCode::FORBIDDEN);
    let nobody = admin.get("/api/v1/customers/nobody/stats").await;
    assert_eq!(nobody.body["orders"], 0, "{nobody:?}");
    assert_eq!(nobody.body["average_order"], "0.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_seller_is_listed_once_by_id_a_page_at_a_time() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    for (id, name) in [("seller-0", "Zero"), ("seller-9", "Nine")] {
        let seller = json!({"name": name, "email": format!("{id}@sellers.example"), "active": id != "seller-9"});
        let put = admin.send(Method::PUT, &format!("/api/v1/sellers/{id}"), Some(seller), &[]).await;
        assert_eq!(put.status, StatusCode::OK, "{put:?}");
    }
    // Setup registers seller-1 and seller-2; two at a time, in id order, each once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/sellers?limit=2&cursor={cursor}"),
            None => "/api/v1/sellers?limit=2".to_owned(),
        };
        let page = admin.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        for seller in page.body["sellers"].as_array().unwrap() {
            seen.push((
                seller["seller_id"].as_str().unwrap().to_owned(),
                seller["active"].as_bool().unwrap(),
            ));
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<(String, bool)> = [("seller-0", true), ("seller-1", true), ("seller-2", true), ("seller-9", false)]
        .into_iter()
        .map(|(id, active)| (id.to_owned(), active))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(
        Api::customer(&service, "nosy").get("/api/v1/sellers").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(admin.get("/api/v1/sellers?cursor=!!").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get("/api/v1/sellers?limit=0").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_finds_orders_by_the_beginning_of_a_customers_email_or_name_whatever_its_case() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("cup", "3.00", 50).await;
    // Local tokens name each user as their id, at <id>@example.com.
    let mut placed = std::collections::BTreeMap::new();
    for user in ["dora.diaz", "doris", "bob"] {
        let (id, _) = Api::customer(&service, user).reserved_order(&[("cup", 1)]).await;
        placed.insert(user, id);
    }
    let found = |q: &str| {
        let admin = Api::admin(&service);
        let q = q.to_owned();
        async move {
            let reply = admin.get(&format!("/api/v1/orders?q={q}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{q}: {reply:?}");
            reply.body["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|order| order["user_id"].as_str().unwrap().to_owned())
                .collect::<Vec<String>>()
        }
    };
    // A name by its beginning, any case; each customer's newest first, names from z to a.
    assert_eq!(found("DOR").await, ["doris", "dora.diaz"]);
    assert_eq!(found("dora").await, ["dora.diaz"]);
    // An email by its beginning: a text with @.
    assert_eq!(found("Dora.Diaz%40EXAMPLE").await, ["dora.diaz"]);
    assert_eq!(found("b%40").await, Vec::<String>::new(), "bob@ does not begin with b@");
    assert_eq!(found("bob%40").await, ["bob"]);
    // A customer id with orders still lists that customer's orders.
    assert_eq!(found("bob").await, ["bob"]);
    // A page at a time, the cursor carrying on in the same search.
    let first = admin.get("/api/v1/orders?q=do&limit=1").await.body;
    assert_eq!(first["orders"][0]["user_id"], "doris");
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    assert!(cursor.starts_with('~'), "{cursor}");
    let second = admin.get(&format!("/api/v1/orders?q=do&limit=1&cursor={cursor}")).await.body;
    assert_eq!(second["orders"][0]["user_id"], "dora.diaz");
    // One character is not enough; a customer sees no search at all.
    assert_eq!(admin.get("/api/v1/orders?q=d").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        admin.get("/api/v1/orders?q=do&cursor=~nonsense").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        Api::customer(&service, "bob").get("/api/v1/orders?q=dor").await.status,
        StatusCode::FORBIDDEN
    );
    // Once a customer's personal data is erased, their orders are not found by it.
    let cancel = Api::customer(&service, "doris")
        .send(Method::POST, &format!("/api/v1/orders/{}/cancel", placed["doris"]), None, &[])
        .await;
    assert!(cancel.status.is_success(), "{cancel:?}");
    let erased = admin.send(Method::POST, "/api/v1/customers/doris/erasure", None, &[]).await;
    assert!(erased.status.is_success(), "{erased:?}");
    assert_eq!(found("dor").await, ["dora.diaz"]);
}
