//! A caller of the orders API that records every answer under its route.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use orders_shared::http::webhook::{WebhookSecret, SIGNATURE_HEADER};

use crate::stats::{Recorder, ServerTiming};

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn id(&self) -> Option<String> {
        self.body["id"]
            .as_str()
            .or_else(|| self.body["order_id"].as_str())
            .map(str::to_owned)
    }
}

/// The seller the load generator registers a product under.
pub fn seller_of(sku: &str) -> String {
    format!("seller-{}", sku.len() % 3)
}

#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    recorder: Arc<Recorder>,
}

/// How many times a 503 is retried (with the same Idempotency-Key), as the problem asks.
const UNAVAILABLE_RETRIES: u32 = 5;
/// Tries after a 429: a client of a throttled API backs off and comes back.
const THROTTLED_RETRIES: u32 = 60;

impl Api {
    pub fn new(base: &str, recorder: Arc<Recorder>) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            recorder,
        }
    }

    /// The same API with its own recorder: for warm-up calls that must not count.
    pub fn unrecorded(&self) -> Self {
        self.recording_to(Arc::new(Recorder::default()))
    }

    /// The same API recording to `recorder`: for figures of one phase of a run.
    pub fn recording_to(&self, recorder: Arc<Recorder>) -> Self {
        Self {
            base: self.base.clone(),
            http: self.http.clone(),
            recorder,
        }
    }

    async fn call(&self, route: &str, method: Method, path: &str, token: &str, body: Option<Value>, key: Option<&str>) -> Reply {
        let headers: Vec<(&str, String)> = key.map(|key| vec![("idempotency-key", key.to_owned())]).unwrap_or_default();
        self.send(route, method, path, Some(token), body, &headers).await
    }

    async fn send(
        &self,
        route: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> Reply {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.header("content-type", "application/json").body(body.to_string());
            }
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            let started = Instant::now();
            let (reply, timing) = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let timing = response
                        .headers()
                        .get("server-timing")
                        .and_then(|value| value.to_str().ok())
                        .and_then(ServerTiming::parse);
                    let body = response.json::<Value>().await.unwrap_or(Value::Null);
                    (Reply { status, body }, timing)
                }
                Err(_) => (
                    Reply {
                        status: 599,
                        body: json!({"code": "CONNECTION_FAILED"}),
                    },
                    None,
                ),
            };
            self.recorder
                .record(route, reply.status, reply.body["code"].as_str(), started.elapsed(), timing);
            // 503 and a gateway-level failure (a crashed function) are retried; the key makes it
            // safe. So is 429, the gateway shedding load, with a growing, jittered pause.
            let retry = match reply.status {
                502 | 503 => attempt <= UNAVAILABLE_RETRIES,
                429 => attempt <= THROTTLED_RETRIES,
                _ => false,
            };
            if !retry {
                return reply;
            }
            let pause = 50 * u64::from(attempt.min(10)) + rand::random_range(0..50);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    /// Stocks a product, registering its seller first (a product names a registered seller).
    pub async fn put_product(&self, admin: &str, sku: &str, price: &str, on_hand: i64) -> Reply {
        self.put_sharded_product(admin, sku, price, on_hand, 1).await
    }

    /// Stocks a product spread over `stock_shards` items.
    pub async fn put_sharded_product(&self, admin: &str, sku: &str, price: &str, on_hand: i64, stock_shards: u8) -> Reply {
        let seller = seller_of(sku);
        let registration = json!({"name": format!("Seller {seller}"), "email": format!("{seller}@sellers.example")});
        let registered = self
            .call(
                "PUT /sellers/{id}",
                Method::PUT,
                &format!("/api/v1/sellers/{seller}"),
                admin,
                Some(registration),
                None,
            )
            .await;
        if registered.status != 200 {
            return registered;
        }
        let body = json!({"name": format!("Product {sku}"), "seller_id": seller, "price": price, "on_hand": on_hand, "stock_shards": stock_shards});
        self.call(
            "PUT /inventory/{id}",
            Method::PUT,
            &format!("/api/v1/inventory/{sku}"),
            admin,
            Some(body),
            None,
        )
        .await
    }

    pub async fn product(&self, admin: &str, sku: &str) -> Reply {
        self.call(
            "GET /inventory/{id}",
            Method::GET,
            &format!("/api/v1/inventory/{sku}"),
            admin,
            None,
            None,
        )
        .await
    }

    pub async fn place(&self, token: &str, lines: &[(String, u32)], key: &str) -> Reply {
        let items: Vec<Value> = lines.iter().map(|(sku, qty)| json!({"product_id": sku, "quantity": qty})).collect();
        self.call(
            "POST /orders",
            Method::POST,
            "/api/v1/orders",
            token,
            Some(json!({ "items": items })),
            Some(key),
        )
        .await
    }

    pub async fn order(&self, token: &str, id: &str) -> Reply {
        self.call("GET /orders/{id}", Method::GET, &format!("/api/v1/orders/{id}"), token, None, None)
            .await
    }

    pub async fn list(&self, token: &str, query: &str) -> Reply {
        self.call("GET /orders", Method::GET, &format!("/api/v1/orders?{query}"), token, None, None)
            .await
    }

    /// Pays for an order as Stripe reports a payment: a signed `payment_intent.succeeded`
    /// event about the order of `shop`, no JWT.
    pub async fn pay(&self, webhook: &WebhookSecret, shop: &str, id: &str, total: &str, currency: &str) -> Reply {
        let payment = format!("pi_load_{}", id.replace('-', ""));
        let body =
            orders_local::stripe_cards::intent_event("payment_intent.succeeded", shop, id, &payment, total, currency).unwrap_or_default();
        let signature = webhook.sign(chrono::Utc::now().timestamp(), body.to_string().as_bytes());
        self.send(
            "POST /payments/webhook",
            Method::POST,
            "/api/v1/payments/webhook",
            None,
            Some(body),
            &[(SIGNATURE_HEADER, signature)],
        )
        .await
    }

    /// An admin moves an order along its lifecycle.
    pub async fn set_status(&self, token: &str, id: &str, status: &str) -> Reply {
        let path = format!("/api/v1/orders/{id}/status");
        let body = json!({ "status": status });
        self.call("PUT /orders/{id}/status", Method::PUT, &path, token, Some(body), None)
            .await
    }

    /// The seller's part of an order shipped (as its seller, or an admin).
    pub async fn ship(&self, token: &str, id: &str, seller: &str) -> Reply {
        let path = format!("/api/v1/orders/{id}/shipping");
        let body = json!({"seller_id": seller, "status": "SHIPPED", "carrier": "DHL", "tracking_number": format!("T-{id}")});
        self.call("PATCH /orders/{id}/shipping", Method::PATCH, &path, token, Some(body), None)
            .await
    }

    /// Pays `amount` of an order back (an admin), once for `key`.
    pub async fn refund(&self, token: &str, id: &str, amount: &str, key: &str) -> Reply {
        let path = format!("/api/v1/orders/{id}/refund");
        let body = json!({"amount": amount, "reason": "goodwill"});
        self.call("POST /orders/{id}/refund", Method::POST, &path, token, Some(body), Some(key))
            .await
    }

    /// Adds units of a product to an order still waiting for payment (its owner).
    pub async fn add_order_item(&self, token: &str, id: &str, sku: &str, quantity: u32) -> Reply {
        let path = format!("/api/v1/orders/{id}/items");
        let body = json!({"product_id": sku, "quantity": quantity});
        self.call("POST /orders/{id}/items", Method::POST, &path, token, Some(body), None)
            .await
    }

    pub async fn add_to_cart(&self, token: &str, sku: &str, quantity: u32) -> Reply {
        let body = json!({"product_id": sku, "quantity": quantity});
        self.call("POST /cart/items", Method::POST, "/api/v1/cart/items", token, Some(body), None)
            .await
    }

    /// Places the cart as an order, with a shipping address.
    pub async fn checkout(&self, token: &str, key: &str) -> Reply {
        let address = json!({"contact_name": "Load Test", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"});
        let body = json!({ "shipping_address": address });
        self.call(
            "POST /cart/checkout",
            Method::POST,
            "/api/v1/cart/checkout",
            token,
            Some(body),
            Some(key),
        )
        .await
    }

    pub async fn cancel(&self, token: &str, id: &str) -> Reply {
        self.call(
            "POST /orders/{id}/cancel",
            Method::POST,
            &format!("/api/v1/orders/{id}/cancel"),
            token,
            None,
            None,
        )
        .await
    }
}
