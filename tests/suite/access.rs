use orders_tests::{service, Api, Setup};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_see_only_their_own_orders_and_admins_see_all() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let bob = Api::customer(&service, "bob");
    let order = alice.place(&[("mug", 1)], None).await.body["id"].as_str().unwrap().to_owned();
    bob.place(&[("mug", 1)], None).await;

    let peek = bob.order(&order).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND);
    assert_eq!(peek.code(), "ORDER_NOT_FOUND");
    assert_eq!(admin.order(&order).await.status, StatusCode::OK);

    let bobs = bob.get("/api/v1/orders").await;
    assert_eq!(bobs.body["orders"].as_array().unwrap().len(), 1);
    assert_eq!(bobs.body["orders"][0]["user_id"], "bob");
    assert_eq!(bob.get("/api/v1/orders?user_id=alice").await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.get("/api/v1/orders/user/alice").await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.get("/api/v1/orders?user_id=bob").await.status, StatusCode::OK);

    let everyone = admin.get("/api/v1/orders").await;
    assert_eq!(everyone.body["orders"].as_array().unwrap().len(), 2);
    let alices = admin.get("/api/v1/orders/user/alice").await;
    assert_eq!(alices.body["orders"].as_array().unwrap().len(), 1);
    assert_eq!(
        admin.get("/api/v1/orders?user_id=alice").await.body["orders"][0]["id"],
        order.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_is_for_admins_and_every_route_needs_a_valid_token() {
    let service = service(Setup::default()).await;
    let alice = Api::customer(&service, "alice");
    assert_eq!(alice.put_product("mug", "5.00", 10).await.status, StatusCode::FORBIDDEN);
    assert_eq!(alice.get("/api/v1/inventory/mug").await.status, StatusCode::FORBIDDEN);

    let anonymous = Api::anonymous(&service);
    for path in ["/api/v1/orders", "/api/v1/inventory/mug", "/api/v1/orders/user/alice"] {
        assert_eq!(anonymous.get(path).await.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let forged = orders_local::token::mint("not-the-secret", "alice", &["admin"], 60).unwrap();
    let reply = reqwest::Client::new()
        .get(format!("{}/api/v1/orders", service.base_url()))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    let expired = orders_local::token::mint(orders_local::token::DEFAULT_SECRET, "alice", &[], -10).unwrap();
    let reply = reqwest::Client::new()
        .get(format!("{}/api/v1/orders", service.base_url()))
        .bearer_auth(expired)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);

    let health = reqwest::get(format!("{}/health", service.base_url())).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(anonymous.get("/api/v1/nowhere").await.status, StatusCode::NOT_FOUND);
}
