use std::collections::HashSet;

use orders_tests::{service, Api, Setup};
use reqwest::StatusCode;
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
