//! Test support: one pair of emulators per test process, one freshly provisioned service per
//! test (its own tables and queues), and a small HTTP client for the API.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use orders_local::emulators::{Emulators, Ports};
use orders_local::{start, RunningService, ServiceOptions};
use orders_shared::adapters::faults::FaultPlan;
use orders_shared::domain::contact::Email;
use orders_shared::domain::seller::SellerUpdate;
use orders_shared::domain::SellerId;
use orders_shared::http::webhook::WebhookSecret;
use orders_shared::ports::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

static EMULATORS: OnceLock<Emulators> = OnceLock::new();

/// The emulators every test of this process shares; they stop when the process ends.
pub fn emulators() -> &'static Emulators {
    EMULATORS.get_or_init(|| match Emulators::start(Ports::default()) {
        Ok(emulators) => emulators,
        Err(err) => panic!("cannot start the emulators (run `make deps` first): {err}"),
    })
}

pub struct Setup {
    pub environment: Vec<(String, String)>,
    pub faults: Option<FaultPlan>,
    pub clock: Option<Arc<dyn Clock>>,
    pub poll_queues: bool,
    /// Template parameters the runner reads itself (the API's throttling).
    pub parameters: Vec<(String, String)>,
}

impl Setup {
    /// The default service with this fault plan, its queues polled by the runner or, with
    /// `poll_queues` false, by the test.
    pub fn with_faults(plan: &FaultPlan, poll_queues: bool) -> Self {
        Self {
            faults: Some(plan.clone()),
            poll_queues,
            ..Self::default()
        }
    }
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            // DynamoDB Local on two cores answers a burst far slower than DynamoDB: the
            // deployed timeouts (2 s an attempt, 3 s a call) would turn its queueing into errors.
            environment: vec![
                ("STORAGE_ATTEMPTS".into(), "4".into()),
                ("STORAGE_ATTEMPT_TIMEOUT_MS".into(), "10000".into()),
                ("STORAGE_OPERATION_TIMEOUT_MS".into(), "30000".into()),
            ],
            faults: None,
            clock: None,
            poll_queues: true,
            parameters: Vec::new(),
        }
    }
}

impl Setup {
    /// No pollers: the test drives the outbox and the queues by hand.
    pub fn driven_by_hand() -> Self {
        Self {
            poll_queues: false,
            ..Self::default()
        }
    }
}

/// One run of the sweeper as its scheduled function runs it, so its calls count as the
/// sweeper's in the IAM parity check.
pub async fn sweep(
    app: &orders_shared::service::App,
) -> Result<orders_shared::service::sweeper::SweepReport, orders_shared::ports::StoreError> {
    let name = orders_shared::handlers::ScheduleFunction::Sweeper.name();
    orders_shared::calls::as_function(name, orders_shared::service::sweeper::sweep(app.sweeping())).await
}

/// Where this test process records each function's AWS calls, for the IAM parity check
/// (`tests/iam.rs`).
pub fn call_log() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/iam-calls")
        .join(format!("suite-{}.jsonl", std::process::id()))
}

/// A freshly provisioned service on its own tables and queues.
pub async fn service(setup: Setup) -> RunningService {
    let emulators = tokio::task::spawn_blocking(emulators).await.expect("emulators");
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut options = ServiceOptions::new(
        emulators.dynamodb.endpoint(),
        emulators.moto.endpoint(),
        emulators.stripe.endpoint(),
        prefix,
    );
    options.environment = setup.environment;
    options
        .environment
        .push(("ORDERS_CALL_LOG".into(), call_log().display().to_string()));
    options.faults = setup.faults;
    options.poll_queues = setup.poll_queues;
    options.parameters = setup.parameters;
    if let Some(clock) = setup.clock {
        options.clock = clock;
    }
    let service = start(options).await.expect("the local service starts");
    register_sellers(&service).await;
    service
}

/// The sellers the tests' products name, registered as a shop registers its sellers before
/// their products (`seller-1` and `seller-2`, active, with the configured rates and fees).
async fn register_sellers(service: &RunningService) {
    for (id, name) in [("seller-1", "Seller One"), ("seller-2", "Seller Two")] {
        let update = SellerUpdate {
            seller_id: SellerId::parse(id).expect("a valid seller id"),
            name: name.to_owned(),
            email: Email::parse(&format!("{id}@sellers.example")).expect("a valid address"),
            active: true,
            commission_rate: None,
            shipping_fee: None,
        };
        service
            .app
            .sellers
            .put_seller(&update, &orders_shared::domain::Actor::system("test-setup"), chrono::Utc::now())
            .await
            .expect("the sellers are registered");
    }
}

/// Runs the invariant checker over the service's tables and fails the test on any violation.
/// Tests drive the outbox and the fulfilment queue by hand (or move the clock past what they
/// would have done), so a paid order waiting for fulfilment is not counted as stuck here.
pub async fn assert_invariants(service: &RunningService) {
    // The checker reads the two tables one after the other while the service's consumers (a
    // redelivered message, the streams) may still be settling the last change: what must hold
    // is that the stored state comes to rest clean, so a report is read again for a few seconds
    // before it fails the test, with the first report shown beside the last.
    let tables = &service.deployment.tables;
    let started = Instant::now();
    let mut first: Option<String> = None;
    loop {
        let report = orders_local::check::check(
            &service.clients.dynamodb,
            &tables["OrdersTable"],
            &tables["InventoryTable"],
            orders_local::check::Thresholds {
                awaiting_fulfilment: None,
                ..orders_local::check::Thresholds::default()
            },
            service.app.clock.now(),
        )
        .await
        .expect("the checker reads the tables");
        if report.is_clean() {
            if let Some(first) = first {
                eprintln!("the invariants held once the service settled; the first read said:\n{first}");
            }
            return;
        }
        let first = first.get_or_insert_with(|| report.to_string());
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the invariants do not hold:\n{report}\nfirst read:\n{first}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Checks that the bus carried exactly the status changes and refunds of every order of the
/// service, with what a subscriber (`subscribe`, before the first order) receives within a few
/// seconds (the outbox and the bus deliver late, never not at all).
pub async fn assert_events_match(service: &RunningService, subscriber: &str) {
    let orders = orders_local::check::stored_orders(&service.clients.dynamodb, &service.deployment.tables["OrdersTable"])
        .await
        .expect("the orders read");
    let mut received: Vec<orders_shared::domain::events::DomainEvent> = Vec::new();
    let started = Instant::now();
    loop {
        received.extend(
            drain(service, subscriber)
                .await
                .into_iter()
                .map(|event| serde_json::from_value(event["detail"].clone()).expect("a domain event")),
        );
        let violations = orders_local::check::judge_events(&orders, &received);
        if violations.is_empty() {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{violations:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn token(user: &str, groups: &[&str]) -> String {
    orders_local::token::mint(orders_local::token::DEFAULT_SECRET, user, groups, 3600).expect("token")
}

/// A caller of the API with one identity.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    /// The deployment's name in its Stripe payments' metadata.
    shop: String,
    /// The service's clock, which Stripe's signatures are dated by.
    clock: Arc<dyn Clock>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

impl Api {
    /// A caller `user` in `groups` (`admin`, `payments`, ...).
    pub fn new(service: &RunningService, user: &str, groups: &[&str]) -> Self {
        Self {
            base: service.base_url(),
            shop: service.config.shop_id.clone(),
            clock: Arc::clone(&service.app.clock),
            http: reqwest::Client::new(),
            token: Some(token(user, groups)),
        }
    }

    /// A caller presenting exactly this bearer token.
    pub fn with_token(service: &RunningService, token: &str) -> Self {
        Self {
            base: service.base_url(),
            shop: service.config.shop_id.clone(),
            clock: Arc::clone(&service.app.clock),
            http: reqwest::Client::new(),
            token: Some(token.to_owned()),
        }
    }

    pub fn anonymous(service: &RunningService) -> Self {
        Self {
            base: service.base_url(),
            shop: service.config.shop_id.clone(),
            clock: Arc::clone(&service.app.clock),
            http: reqwest::Client::new(),
            token: None,
        }
    }

    pub fn customer(service: &RunningService, user: &str) -> Self {
        Self::new(service, user, &[])
    }

    pub fn admin(service: &RunningService) -> Self {
        Self::new(service, "shop-admin", &["admin"])
    }

    /// The payments service: confirms payments and reports failed ones.
    /// Staff of a seller: the `seller` group and the seller's id in `custom:seller_id`.
    pub fn seller(service: &RunningService, seller_id: &str) -> Self {
        let token = orders_local::token::mint_seller(
            orders_local::token::DEFAULT_SECRET,
            &format!("{seller_id}-staff"),
            &["seller"],
            Some(seller_id),
            3600,
        )
        .expect("token");
        Self::with_token(service, &token)
    }

    pub fn payments(service: &RunningService) -> Self {
        Self::new(service, "payments-service", &["payments"])
    }

    /// Sends a request; `body` is sent as JSON text unless it is a string, which is sent raw.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let mut has_content_type = false;
        for (name, value) in headers {
            has_content_type |= name.eq_ignore_ascii_case("content-type");
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            if !has_content_type {
                request = request.header("content-type", "application/json");
            }
            request = match body {
                Value::String(raw) => request.body(raw),
                other => request.body(other.to_string()),
            };
        }
        let response = request.send().await.expect("the request reaches the service");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn put_product(&self, sku: &str, price: &str, on_hand: i64) -> Reply {
        let body = json!({"name": format!("Product {sku}"), "seller_id": "seller-1", "price": price, "on_hand": on_hand});
        self.send(Method::PUT, &format!("/api/v1/inventory/{sku}"), Some(body), &[]).await
    }

    pub async fn product(&self, sku: &str) -> Value {
        let reply = self.get(&format!("/api/v1/inventory/{sku}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.body
    }

    pub async fn place(&self, lines: &[(&str, u32)], key: Option<&str>) -> Reply {
        let items: Vec<Value> = lines.iter().map(|(sku, qty)| json!({"product_id": sku, "quantity": qty})).collect();
        let headers: Vec<(&str, &str)> = key.map(|key| vec![("idempotency-key", key)]).unwrap_or_default();
        self.send(Method::POST, "/api/v1/orders", Some(json!({ "items": items })), &headers)
            .await
    }

    pub async fn order(&self, id: &str) -> Reply {
        self.get(&format!("/api/v1/orders/{id}")).await
    }

    pub async fn confirm(&self, id: &str, reference: &str, amount: &str) -> Reply {
        let body = json!({"payment_reference": reference, "amount": amount});
        self.send(Method::POST, &format!("/api/v1/orders/{id}/confirm"), Some(body), &[])
            .await
    }

    /// Sends Stripe's webhook, signed with the local secret unless `signature` says otherwise.
    /// No bearer token: the route has no authorizer.
    pub async fn webhook(&self, body: &Value, signature: Option<&str>) -> Reply {
        let text = body.to_string();
        let signed = sign_webhook(&text, self.clock.now().timestamp());
        let signature = signature.unwrap_or(&signed);
        self.send(
            Method::POST,
            "/api/v1/payments/webhook",
            Some(Value::String(text)),
            &[("content-type", "application/json"), ("stripe-signature", signature)],
        )
        .await
    }

    /// Starts paying the order online: a Stripe intent, whose id it answers.
    pub async fn start_online_payment(&self, id: &str) -> String {
        let started = self
            .send(
                Method::POST,
                &format!("/api/v1/orders/{id}/payment"),
                Some(json!({"method": "online"})),
                &[],
            )
            .await;
        assert!(started.status.is_success(), "{started:?}");
        started.body["payment_id"].as_str().expect("a payment id").to_owned()
    }

    /// A Stripe event of `kind` about this deployment's order `id` and intent `reference` of
    /// `amount` in USD.
    pub fn stripe_event(&self, kind: &str, id: &str, reference: &str, amount: &str) -> Value {
        orders_local::stripe_cards::intent_event(kind, &self.shop, id, reference, amount, "USD").expect("an amount in USD")
    }

    /// Pays for an order as Stripe reports a payment: a signed `payment_intent.succeeded`.
    pub async fn pay(&self, id: &str, reference: &str, amount: &str) -> Reply {
        let event = self.stripe_event("payment_intent.succeeded", id, reference, amount);
        self.webhook(&event, None).await
    }

    /// Reports on a seller's part (`PATCH /orders/{id}/shipping`).
    pub async fn report(&self, id: &str, body: Value) -> Reply {
        self.send(Method::PATCH, &format!("/api/v1/orders/{id}/shipping"), Some(body), &[])
            .await
    }

    /// Asks to return one unit of the order's first line (`POST /orders/{id}/returns`); asserts
    /// it was taken.
    pub async fn return_first_line(&self, id: &str, reason: &str) -> Reply {
        let item = self.order(id).await.body["items"][0]["item_id"]
            .as_str()
            .expect("a line")
            .to_owned();
        let lines = json!({"lines": [{"item_id": item, "quantity": 1}], "reason": reason});
        let asked = self
            .send(Method::POST, &format!("/api/v1/orders/{id}/returns"), Some(lines), &[])
            .await;
        assert_eq!(asked.status, StatusCode::CREATED, "{asked:?}");
        asked
    }

    pub async fn cancel(&self, id: &str) -> Reply {
        self.send(Method::POST, &format!("/api/v1/orders/{id}/cancel"), None, &[]).await
    }

    /// Places an order of `lines` and returns its id and total, asserting it was reserved.
    pub async fn reserved_order(&self, lines: &[(&str, u32)]) -> (String, String) {
        let reply = self.place(lines, None).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        (
            reply.body["id"].as_str().unwrap_or_default().to_owned(),
            reply.body["total"].as_str().unwrap_or_default().to_owned(),
        )
    }
}

/// The `Payment-Signature` the provider would send for `body` at `timestamp`.
/// Takes an order of `lines` (seller-1's products) from placement to DELIVERED through the
/// API, and returns its id and total.
pub async fn delivered_order(service: &RunningService, customer: &Api, lines: &[(&str, u32)]) -> (String, String) {
    let (id, total) = customer.reserved_order(lines).await;
    deliver(service, &id, &total).await;
    (id, total)
}

/// Pays a reserved order by card at localstripe, as a customer does: the payment started
/// through the API, the card confirmed as Stripe.js would, and the signed
/// `payment_intent.succeeded` delivered (Stripe's own copy follows a second later and changes
/// nothing). Answers the Stripe payment id, which refunds are paid back on.
pub async fn pay_by_card(service: &RunningService, id: &str, total: &str) -> String {
    let payment = Api::admin(service).start_online_payment(id).await;
    let outcome = orders_local::stripe_cards::pay_with_card(&service.stripe, &payment, orders_local::stripe_cards::CARD_PAYS)
        .await
        .expect("localstripe takes the card");
    assert_eq!(outcome.status, "succeeded", "{outcome:?}");
    let paid = Api::anonymous(service).pay(id, &payment, total).await;
    assert_eq!(paid.body["outcome"], "paid", "{paid:?}");
    payment
}

/// A payment Stripe took for the order `id` of `amount` USD outside the order's own attempts
/// (a second tab, a stale checkout): an intent made and paid by card at localstripe. Answers
/// its id.
pub async fn charged_intent(service: &RunningService, id: &str, amount: &str) -> String {
    use orders_shared::ports::PaymentProvider;
    let stripe = orders_shared::adapters::stripe::StripeProvider::new(
        &service.stripe,
        orders_shared::adapters::stripe::StripeKey::parse(orders_local::stripe_cards::LOCAL_SECRET_KEY).expect("a key"),
        &service.config.shop_id,
    )
    .expect("a client");
    let key = uuid::Uuid::new_v4().to_string();
    let intent = stripe
        .create_intent(orders_shared::ports::IntentRequest {
            order: orders_shared::domain::OrderId::parse(id).expect("an order id"),
            order_number: None,
            method: orders_shared::domain::order::PaymentMethod::Online,
            amount: orders_shared::domain::Money::parse(amount).expect("an amount"),
            currency: "USD",
            idempotency_key: &key,
        })
        .await
        .expect("localstripe makes the intent");
    let payment = intent.payment_id.as_str().to_owned();
    let outcome = orders_local::stripe_cards::pay_with_card(&service.stripe, &payment, orders_local::stripe_cards::CARD_PAYS)
        .await
        .expect("localstripe takes the card");
    assert_eq!(outcome.status, "succeeded");
    payment
}

/// What localstripe (at `stripe`) holds at `path`.
pub async fn at_stripe(stripe: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{stripe}{path}"))
        .bearer_auth(orders_local::stripe_cards::LOCAL_SECRET_KEY)
        .send()
        .await
        .expect("localstripe answers")
        .json()
        .await
        .expect("a JSON answer")
}

/// A refund as localstripe holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeRefund {
    pub id: String,
    /// In minor units (cents).
    pub amount: i64,
    /// The key the service asked with (`metadata.refund_id`).
    pub key: String,
}

/// What localstripe paid back on the order's payment, oldest first; nothing for an order not
/// paid through Stripe.
pub async fn stripe_refunds(service: &RunningService, order: &Value) -> Vec<StripeRefund> {
    let Some(payment) = order["payment"]["reference"].as_str().filter(|id| id.starts_with("pi_")) else {
        return Vec::new();
    };
    let refunds = at_stripe(&service.stripe, &format!("/v1/refunds?payment_intent={payment}&limit=100")).await;
    let mut made: Vec<(i64, StripeRefund)> = refunds["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|refund| {
            (
                refund["created"].as_i64().unwrap_or_default(),
                StripeRefund {
                    id: refund["id"].as_str().unwrap_or_default().to_owned(),
                    amount: refund["amount"].as_i64().unwrap_or_default(),
                    key: refund["metadata"]["refund_id"].as_str().unwrap_or_default().to_owned(),
                },
            )
        })
        .collect();
    made.sort_by(|a, b| (a.0, &a.1.key).cmp(&(b.0, &b.1.key)));
    made.into_iter().map(|(_, refund)| refund).collect()
}

/// An amount in USD as Stripe counts it (cents).
pub fn cents(amount: &str) -> i64 {
    let units = orders_shared::domain::Money::parse(amount)
        .expect("an amount")
        .in_minor_units_of("USD");
    i64::try_from(units.expect("an amount in cents")).expect("small")
}

/// Takes a reserved order of seller-1's products through payment, fulfilment and delivery.
pub async fn deliver(service: &RunningService, id: &str, total: &str) {
    let admin = Api::admin(service);
    pay_by_card(service, id, total).await;
    let path = format!("/api/v1/orders/{id}/status");
    admin.send(Method::PUT, &path, Some(json!({"status": "PROCESSING"})), &[]).await;
    let shipped = json!({"seller_id": "seller-1", "status": "SHIPPED", "carrier": "DHL", "tracking_number": "T"});
    Api::seller(service, "seller-1").report(id, shipped).await;
    let done = admin.send(Method::PUT, &path, Some(json!({"status": "DELIVERED"})), &[]).await;
    assert_eq!(done.body["status"], "DELIVERED", "{done:?}");
}

pub fn sign_webhook(body: &str, timestamp: i64) -> String {
    let secret = WebhookSecret::parse(orders_local::DEFAULT_WEBHOOK_SECRET).expect("the local webhook secret is long enough");
    secret.sign(timestamp, body.as_bytes())
}

/// The statuses an order passed through, in order.
pub fn timeline(order: &Value) -> Vec<String> {
    order["status_history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|change| change["status"].as_str().map(str::to_owned))
        .collect()
}

/// Stock counters of a product as (on_hand, available, reserved).
pub fn counters(product: &Value) -> (i64, i64, i64) {
    let field = |name: &str| product[name].as_i64().unwrap_or(i64::MIN);
    (field("on_hand"), field("available"), field("reserved"))
}

/// Polls `check` until it returns `Some`, or fails the test after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < limit, "condition not reached within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A queue subscribed to every event of the service's bus, as a consumer would add one.
pub async fn subscribe(service: &RunningService) -> String {
    let sqs = &service.clients.sqs;
    let name = format!("subscriber-{}", uuid::Uuid::new_v4().simple());
    let url = sqs.create_queue().queue_name(&name).send().await.unwrap().queue_url.unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let bus = &service.deployment.buses["OrdersEventBus"];
    let events = &service.clients.eventbridge;
    events
        .put_rule()
        .name(&name)
        .event_bus_name(bus)
        .event_pattern(r#"{"source": ["orders"]}"#)
        .send()
        .await
        .unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder().id("1").arn(arn).build().unwrap();
    events
        .put_targets()
        .rule(&name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .unwrap();
    url
}

/// Everything the queue holds now.
pub async fn drain(service: &RunningService, url: &str) -> Vec<Value> {
    let sqs = &service.clients.sqs;
    let mut received = Vec::new();
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = batch.messages.unwrap_or_default();
        if messages.is_empty() {
            return received;
        }
        for message in messages {
            received.push(serde_json::from_str(message.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Stores `copies` more orders like `order` (new ids, created a millisecond apart, no number, no
/// reservation) straight through the store: a long history at a fraction of the load of placing
/// each.
pub async fn store_copies(service: &RunningService, order: &str, copies: usize) {
    use futures::StreamExt;
    let id = orders_shared::domain::OrderId::parse(order).expect("an order id");
    let stored = service.app.orders.get_order(id).await.unwrap().expect("the order is stored");
    let written: Vec<_> = futures::stream::iter(1..=copies)
        .map(|n| {
            let mut copy = stored.clone();
            copy.id = orders_shared::domain::OrderId::new();
            copy.order_number = None;
            copy.created_at += chrono::Duration::milliseconds(i64::try_from(n).unwrap_or(i64::MAX));
            let orders = &service.app.orders;
            async move { orders.create_order(&copy, None, None).await }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    assert!(written.iter().all(Result::is_ok), "every copy is stored");
}

/// The ids of a listing's orders, in its order.
pub fn order_ids(reply: &Value) -> Vec<String> {
    reply["orders"]
        .as_array()
        .expect("a listing")
        .iter()
        .map(|order| order["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Runs a browser test of the pages (`tests/ui/<script>`) with `args`, after the service's
/// address and before the folder its screenshots go to (`target/ui-artifacts/<folder>`), and
/// fails with what it printed unless every step was as it should be. Answers that folder.
pub async fn browser_test(service: &RunningService, script: &str, args: &[String], folder: &str) -> std::path::PathBuf {
    let repo = orders_local::emulators::repo_root();
    let artifacts = repo.join("target/ui-artifacts").join(folder);
    let output = tokio::process::Command::new("node")
        .arg(repo.join("tests/ui").join(script))
        .arg(service.base_url())
        .args(args)
        .arg(&artifacts)
        .output()
        .await
        .expect("node runs (make deps installs playwright-core, axe-core and Chromium)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    artifacts
}
