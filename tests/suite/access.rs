use orders_tests::{service, Api, Setup};
use reqwest::StatusCode;
use serde_json::json;

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

/// Who calls, in the access matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    NoToken,
    ExpiredToken,
    Owner,
    OtherCustomer,
    Seller,
    PaymentsService,
    Admin,
}

const CALLERS: [Caller; 7] = [
    Caller::NoToken,
    Caller::ExpiredToken,
    Caller::Owner,
    Caller::OtherCustomer,
    Caller::Seller,
    Caller::PaymentsService,
    Caller::Admin,
];

/// Who a route lets through, as README and openapi.yaml document it.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Admins only; anyone else signed in gets 403.
    Admin,
    /// Anyone signed in (each sees their own).
    SignedIn,
    /// The order's owner and admins; anyone else gets 404 (an order's existence is not disclosed).
    OwnerOrAdmin,
    /// The user named in the path and admins; anyone else gets 403.
    NamedUserOrAdmin,
    /// The payments service and admins; anyone else signed in gets 403.
    PaymentsOrAdmin,
    /// No JWT at all: Stripe's signature decides (none of these callers signs: 401).
    Signed,
    /// The seller whose part it is, and admins; anyone else signed in gets 403.
    SellerOrAdmin,
    /// Admins only, on an order (anyone else signed in gets 403).
    AdminOfOrder,
    /// Anyone, token or not (the web pages).
    Public,
    /// A document of the order that does not exist yet: 404 for everyone signed in.
    OwnerOrAdminNotYet,
    /// Admins only, on a part of the order that does not exist yet (a return): 404 for admins,
    /// 403 for anyone else signed in.
    AdminNotYet,
    /// The shop's staff for the order (admins, the sellers of its parts): its customer gets 403,
    /// anyone else 404 (the matrix's orders are unpaid: no seller has a part of one yet).
    StaffOfOrder,
}

/// The documented answer of every route of the template. A route missing here fails the test.
fn access(method: &str, path: &str) -> Option<Access> {
    Some(match (method, path) {
        ("PUT" | "GET", "/api/v1/inventory/{productId}")
        | ("POST", "/api/v1/inventory/{productId}/adjustments")
        | ("GET", "/api/v1/inventory/{productId}/movements")
        | ("GET", "/api/v1/audit/{subject}/{id}")
        | ("POST", "/api/v1/customers/{userId}/erasure") => Access::Admin,
        ("POST" | "GET", "/api/v1/orders") => Access::SignedIn,
        ("GET", "/api/v1/orders/{orderId}" | "/api/v1/orders/by-number/{orderNumber}") => Access::OwnerOrAdmin,
        ("POST", "/api/v1/orders/{orderId}/payment") => Access::OwnerOrAdmin,
        ("GET", "/api/v1/orders/user/{userId}") => Access::NamedUserOrAdmin,
        ("POST", "/api/v1/orders/{orderId}/confirm" | "/api/v1/orders/{orderId}/payment-failed") => Access::PaymentsOrAdmin,
        ("POST", "/api/v1/orders/{orderId}/cancel") | ("DELETE", "/api/v1/orders/{orderId}") => Access::OwnerOrAdmin,
        ("POST", "/api/v1/payments/webhook") => Access::Signed,
        ("PATCH", "/api/v1/orders/{orderId}/shipping") => Access::SellerOrAdmin,
        ("PUT" | "PATCH", "/api/v1/orders/{orderId}/status") => Access::AdminOfOrder,
        // The fresh order is not delivered: its owner and admins learn there is no invoice yet,
        // everyone else gets the same 404 (the invoice's existence is not disclosed).
        ("GET", "/api/v1/orders/{orderId}/invoice") => Access::OwnerOrAdminNotYet,
        ("POST", "/api/v1/orders/batch-process") | ("GET", "/api/v1/orders/batch-process/{batchId}") => Access::Admin,
        ("POST", "/api/v1/orders/{orderId}/refund") => Access::AdminOfOrder,
        ("PUT" | "GET", "/api/v1/sellers/{sellerId}") => Access::Admin,
        ("GET", "/api/v1/sellers/{sellerId}/orders" | "/api/v1/orders/analytics/sellers/{sellerId}") => Access::SellerOrAdmin,
        ("GET", "/api/v1/orders/analytics/daily" | "/api/v1/orders/analytics/revenue" | "/api/v1/orders/analytics/trends") => Access::Admin,
        ("GET", "/api/v1/orders/export") => Access::Admin,
        ("GET", "/" | "/assets/{asset}" | "/config.json" | "/api/v1/products" | "/api/v1/products/{productId}") => Access::Public,
        ("GET", "/api/v1/inventory" | "/api/v1/sellers" | "/api/v1/customers/{userId}/stats") => Access::Admin,
        ("GET" | "POST", "/api/v1/orders/{orderId}/notes") => Access::StaffOfOrder,
        ("POST", "/api/v1/orders/{orderId}/items") | ("PUT" | "DELETE", "/api/v1/orders/{orderId}/items/{itemId}") => Access::OwnerOrAdmin,
        ("GET" | "DELETE", "/api/v1/cart")
        | ("POST", "/api/v1/cart/items" | "/api/v1/cart/checkout")
        | ("PUT" | "DELETE", "/api/v1/cart/items/{productId}") => Access::SignedIn,
        ("POST", "/api/v1/orders/{orderId}/returns") => Access::OwnerOrAdmin,
        ("POST", "/api/v1/orders/{orderId}/returns/{returnId}/approve" | "/api/v1/orders/{orderId}/returns/{returnId}/reject") => {
            Access::AdminNotYet
        }
        // The matrix's user is not in the pool: nobody to bind or let go.
        ("POST", "/api/v1/sellers/{sellerId}/users") | ("DELETE", "/api/v1/sellers/{sellerId}/users/{email}") => Access::AdminNotYet,
        _ => return None,
    })
}

/// The status class each caller must get: `None` means "let through" (any answer but 401, 403
/// or 404).
fn expected(access: Access, caller: Caller) -> Option<u16> {
    use Caller::*;
    match (access, caller) {
        (Access::Public, _) => None,
        (_, NoToken | ExpiredToken) | (Access::Signed, _) => Some(401),
        (Access::OwnerOrAdminNotYet, _) | (Access::AdminNotYet, Admin) => Some(404),
        (_, Admin) => None,
        (Access::Admin | Access::AdminOfOrder | Access::AdminNotYet, _) => Some(403),
        (Access::SignedIn, _) => None,
        (Access::OwnerOrAdmin | Access::NamedUserOrAdmin, Owner) => None,
        (Access::OwnerOrAdmin, _) => Some(404),
        (Access::NamedUserOrAdmin, _) => Some(403),
        (Access::PaymentsOrAdmin, PaymentsService) => None,
        (Access::PaymentsOrAdmin, _) => Some(403),
        (Access::SellerOrAdmin, Seller) => None,
        (Access::SellerOrAdmin, _) => Some(403),
        (Access::StaffOfOrder, Owner) => Some(403),
        (Access::StaffOfOrder, _) => Some(404),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_kind_of_caller_as_documented() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 1000).await;
    let secret = orders_local::token::DEFAULT_SECRET;
    let caller_api = |caller: Caller| -> Api {
        match caller {
            Caller::NoToken => Api::anonymous(&service),
            Caller::ExpiredToken => Api::with_token(&service, &orders_local::token::mint(secret, "owner", &[], -10).unwrap()),
            Caller::Owner => Api::customer(&service, "owner"),
            Caller::OtherCustomer => Api::customer(&service, "stranger"),
            Caller::Seller => Api::with_token(
                &service,
                &orders_local::token::mint_seller(secret, "seller-1-staff", &["seller"], Some("seller-1"), 3600).unwrap(),
            ),
            Caller::PaymentsService => Api::payments(&service),
            Caller::Admin => Api::admin(&service),
        }
    };
    let seller = json!({"name": "Seller One", "email": "one@sellers.example"});
    admin
        .send(reqwest::Method::PUT, "/api/v1/sellers/seller-1", Some(seller), &[])
        .await;
    let owner = Api::customer(&service, "owner");
    let (for_batch, _) = owner.reserved_order(&[("mug", 1)]).await;
    let batch_body = json!({"items": [{"order_id": for_batch, "action": "cancel"}]});
    let batch = Api::admin(&service)
        .send(reqwest::Method::POST, "/api/v1/orders/batch-process", Some(batch_body.clone()), &[])
        .await;
    let batch_id = batch.body["batch_id"].as_str().unwrap().to_owned();
    let mut checked = 0;
    for route in &service.template.routes {
        let access = access(&route.method, &route.path)
            .unwrap_or_else(|| panic!("{} {} has no documented access: add it to this matrix", route.method, route.path));
        for caller in CALLERS {
            // A fresh order per call, so that one caller's cancel or payment does not change the next one's answer.
            let (order, total) = owner.reserved_order(&[("mug", 1)]).await;
            let number = if route.path.contains("{orderNumber}") {
                owner.order(&order).await.body["order_number"].as_str().unwrap().to_owned()
            } else {
                String::new()
            };
            let path = route
                .path
                .replace("{orderId}", &order)
                .replace("{orderNumber}", &number)
                .replace("{productId}", "mug")
                .replace("{userId}", "owner")
                .replace("{batchId}", &batch_id)
                .replace("{returnId}", "ret-1")
                .replace("{sellerId}", "seller-1")
                .replace("{itemId}", "item-1")
                .replace("{email}", "nobody@example.com")
                .replace("{asset}", "app.js")
                .replace("{subject}", "products")
                .replace("{id}", "mug");
            let body = match (route.method.as_str(), route.path.as_str()) {
                ("PUT" | "PATCH", "/api/v1/orders/{orderId}/status") => Some(json!({"status": "CANCELLED", "note": "matrix"})),
                ("PUT", "/api/v1/sellers/{sellerId}") => Some(json!({"name": "Seller One", "email": "one@sellers.example"})),
                ("POST", "/api/v1/sellers/{sellerId}/users") => Some(json!({"email": "nobody@example.com"})),
                ("PUT", "/api/v1/cart/items/{productId}") => Some(json!({"quantity": 1})),
                ("POST", "/api/v1/cart/items" | "/api/v1/orders/{orderId}/items") => Some(json!({"product_id": "mug", "quantity": 1})),
                ("PUT", "/api/v1/orders/{orderId}/items/{itemId}") => Some(json!({"quantity": 2})),
                ("PUT", _) => Some(json!({"name": "Mug", "seller_id": "seller-1", "price": "5.00", "on_hand": 1000})),
                ("POST", "/api/v1/orders") => Some(json!({"items": [{"product_id": "mug", "quantity": 1}]})),
                ("POST", "/api/v1/inventory/{productId}/adjustments") => Some(json!({"delta": 1, "reason": "count"})),
                ("POST", "/api/v1/orders/batch-process") => Some(batch_body.clone()),
                ("POST", "/api/v1/orders/{orderId}/payment") => Some(json!({"method": "online"})),
                ("POST", "/api/v1/orders/{orderId}/refund") => Some(json!({"amount": "1.00", "reason": "matrix"})),
                ("POST", "/api/v1/orders/{orderId}/returns") => {
                    Some(json!({"lines": [{"item_id": "item-1", "quantity": 1}], "reason": "matrix"}))
                }
                ("POST", path) if path.ends_with("/reject") || path.ends_with("/notes") => Some(json!({"note": "matrix"})),
                ("PATCH", _) => Some(json!({"seller_id": "seller-1", "status": "SHIPPED", "carrier": "DHL", "tracking_number": "1"})),
                ("POST", path) if path.ends_with("/confirm") => Some(json!({"payment_reference": format!("p-{order}"), "amount": total})),
                ("POST", "/api/v1/payments/webhook") => orders_local::stripe_cards::intent_event(
                    "payment_intent.succeeded",
                    &service.config.shop_id,
                    &order,
                    "pi_matrix",
                    &total,
                    "USD",
                ),
                _ => None,
            };
            let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
            let reply = caller_api(caller).send(method, &path, body, &[]).await;
            let status = reply.status.as_u16();
            match expected(access, caller) {
                Some(refused) => assert_eq!(status, refused, "{} {} as {caller:?}: {reply:?}", route.method, route.path),
                None => assert!(
                    ![401, 403, 404].contains(&status) && status < 500,
                    "{} {} as {caller:?} must be let through: {reply:?}",
                    route.method,
                    route.path
                ),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, service.template.routes.len() * CALLERS.len());
}
