//! Bad input at every edge answers a 4xx problem with a stable code, never a 5xx, and writes nothing.

use orders_tests::{counters, service, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A named request body with its extra headers, and the status and problem code it must get.
type Case<'a> = (&'a str, Value, &'a [(&'a str, &'a str)], StatusCode, &'a str);

fn line(sku: &str, quantity: Value) -> Value {
    json!({"product_id": sku, "quantity": quantity})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_order_requests_are_refused_at_the_edge_and_create_nothing() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let fifty_one: Vec<Value> = (0..51).map(|n| line(&format!("p{n}"), json!(1))).collect();
    let huge_body = json!({"items": [line("mug", json!(1))], "pad": "x".repeat(70 * 1024)});

    let cases: Vec<Case> = vec![
        (
            "truncated JSON",
            json!("{\"items\": ["),
            &[],
            StatusCode::BAD_REQUEST,
            "MALFORMED_JSON",
        ),
        ("empty body", json!(""), &[], StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        (
            "not an object",
            json!([1, 2]),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "items missing",
            json!({}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "items not a list",
            json!({"items": "mug"}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "no lines",
            json!({"items": []}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "zero quantity",
            json!({"items": [line("mug", json!(0))]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "negative quantity",
            json!({"items": [line("mug", json!(-2))]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "huge quantity",
            json!({"items": [line("mug", json!(1e12))]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "fractional quantity",
            json!({"items": [line("mug", json!(1.5))]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "quantity as text",
            json!({"items": [line("mug", json!("2"))]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "product id missing",
            json!({"items": [{"quantity": 1}]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "product id not text",
            json!({"items": [{"product_id": 7, "quantity": 1}]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "bad product id",
            json!({"items": [line("../etc", json!(1))]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "51 lines",
            json!({ "items": fifty_one }),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "duplicate lines",
            json!({"items": [line("mug", json!(1)), line("mug", json!(2))]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "unknown field",
            json!({"items": [line("mug", json!(1))], "coupon": "FREE"}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "client-chosen price",
            json!({"items": [{"product_id": "mug", "quantity": 1, "unit_price": "0.01"}]}),
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            "body over 64 KiB",
            huge_body,
            &[],
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "form body",
            json!("items=mug"),
            &[("content-type", "application/x-www-form-urlencoded")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "bad idempotency key",
            json!({"items": [line("mug", json!(1))]}),
            &[("idempotency-key", "has space")],
            StatusCode::BAD_REQUEST,
            "INVALID_IDEMPOTENCY_KEY",
        ),
    ];
    for (name, body, headers, status, code) in cases {
        let body = match body {
            Value::String(raw) => Value::String(raw),
            other => Value::String(other.to_string()),
        };
        let reply = alice.send(Method::POST, "/api/v1/orders", Some(body), headers).await;
        assert_eq!(reply.status, status, "{name}: {reply:?}");
        assert_eq!(reply.code(), code, "{name}");
        assert_eq!(reply.headers["content-type"], "application/problem+json", "{name}");
    }
    let listed = alice.get("/api/v1/orders").await;
    assert_eq!(listed.body["orders"], json!([]), "no order was written");
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_problems_name_every_bad_field() {
    let service = service(Setup::default()).await;
    let alice = Api::customer(&service, "alice");
    let body = json!({"items": [line("mug", json!(0)), {"product_id": "tea"}], "extra": true});
    let reply = alice.send(Method::POST, "/api/v1/orders", Some(body), &[]).await;
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["extra", "items[0].quantity", "items[1].quantity"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paths_queries_and_cursors_are_refused_with_their_parameter_named() {
    let service = service(Setup::default()).await;
    let alice = Api::customer(&service, "alice");
    let cases = [
        ("/api/v1/orders/not-a-uuid", "INVALID_PATH_PARAMETER", "orderId"),
        ("/api/v1/orders?limit=0", "INVALID_QUERY_PARAMETER", "limit"),
        ("/api/v1/orders?limit=101", "INVALID_QUERY_PARAMETER", "limit"),
        ("/api/v1/orders?limit=ten", "INVALID_QUERY_PARAMETER", "limit"),
        ("/api/v1/orders?from=yesterday", "INVALID_QUERY_PARAMETER", "from"),
        ("/api/v1/orders?to=2026-13-01T00:00:00Z", "INVALID_QUERY_PARAMETER", "to"),
        (
            "/api/v1/orders?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "INVALID_QUERY_PARAMETER",
            "from",
        ),
        ("/api/v1/orders?status=SHIPPING", "INVALID_QUERY_PARAMETER", "status"),
        ("/api/v1/orders?sort=price", "INVALID_QUERY_PARAMETER", "sort"),
        ("/api/v1/orders?cursor=garbage!", "INVALID_CURSOR", "cursor"),
        ("/api/v1/orders?cursor=eyJ4IjoxfQ", "INVALID_CURSOR", "cursor"),
        ("/api/v1/orders?page=2", "UNKNOWN_PARAMETER", "page"),
        ("/api/v1/orders?limit=5&limit=6", "REPEATED_PARAMETER", "limit"),
        ("/api/v1/orders/user/bad%20user", "INVALID_PATH_PARAMETER", "userId"),
    ];
    for (path, code, parameter) in cases {
        let reply = alice.get(path).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {reply:?}");
        assert_eq!(reply.code(), code, "{path}");
        assert_eq!(reply.body["parameter"], parameter, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_inventory_updates_are_refused_and_change_nothing() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let bodies = [
        json!({"name": "Mug", "seller_id": "s1", "price": 5.0, "on_hand": 3}),
        json!({"name": "Mug", "seller_id": "s1", "price": "-1", "on_hand": 3}),
        json!({"name": "Mug", "seller_id": "s1", "price": "1.005", "on_hand": 3}),
        json!({"name": "Mug", "seller_id": "s1", "price": "5", "on_hand": -1}),
        json!({"name": "", "seller_id": "s1", "price": "5", "on_hand": 3}),
        json!({"name": "Mug", "price": "5", "on_hand": 3}),
        json!({"name": "Mug", "seller_id": "s1", "price": "5", "on_hand": 3, "reserved": 0}),
    ];
    for body in bodies {
        let reply = admin.send(Method::PUT, "/api/v1/inventory/mug", Some(body.clone()), &[]).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {reply:?}");
        assert_eq!(reply.code(), "VALIDATION_FAILED");
    }
    let bad_sku = admin.put_product("bad%20sku", "5.00", 1).await;
    assert_eq!(bad_sku.code(), "INVALID_PATH_PARAMETER");
    let product = admin.product("mug").await;
    assert_eq!(counters(&product), (10, 10, 0));
    assert_eq!(product["price"], "5.00");
}
