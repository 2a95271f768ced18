//! The template, the binaries, the handlers and `events/` agree; every sample event runs
//! through its function as Lambda would hand it over.

use std::collections::BTreeSet;
use std::path::PathBuf;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::request::LambdaRequest;
use orders_local::template::Template;
use orders_shared::config::Config;
use orders_shared::handlers::{HttpFunction, QueueFunction, ScheduleFunction, StreamFunction};
use orders_tests::{counters, service, Api, Setup};
use serde_json::Value;

fn repo() -> PathBuf {
    orders_local::emulators::repo_root()
}

fn event(name: &str) -> Value {
    let path = repo().join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_function_of_the_template_has_a_handler_a_binary_and_a_sample_event() {
    let template = Template::load(&orders_local::template_path()).unwrap();
    let routed: BTreeSet<&str> = template.routes.iter().map(|r| r.binary.as_str()).collect();
    let handled: BTreeSet<&str> = HttpFunction::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(routed, handled);
    let consumed: BTreeSet<&str> = template.consumers.iter().map(|c| c.binary.as_str()).collect();
    let consumers: BTreeSet<&str> = QueueFunction::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(consumed, consumers);
    assert!(template.consumers.iter().all(|c| c.reports_batch_failures));
    let scheduled: BTreeSet<&str> = template.schedules.iter().map(|s| s.binary.as_str()).collect();
    assert_eq!(scheduled, ScheduleFunction::ALL.iter().map(|f| f.name()).collect());
    assert!(template.schedules.iter().all(|s| s.expression == "rate(1 minute)"));
    let streamed: BTreeSet<&str> = template.streams.iter().map(|s| s.binary.as_str()).collect();
    assert_eq!(streamed, StreamFunction::ALL.iter().map(|f| f.name()).collect());
    assert!(template.streams.iter().all(|s| s.reports_batch_failures));

    // Cargo finds each binary by its convention: `functions/src/bin/<name>/main.rs`.
    let binaries = repo().join("functions/src/bin");
    let built: BTreeSet<String> = std::fs::read_dir(&binaries)
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().join("main.rs").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let deployed: BTreeSet<String> = routed
        .iter()
        .chain(&consumed)
        .chain(&scheduled)
        .chain(&streamed)
        .map(|name| name.to_string())
        .collect();
    assert_eq!(
        built, deployed,
        "functions/src/bin holds exactly one binary per function of the template"
    );
    for name in &deployed {
        assert!(
            repo().join("events").join(format!("{name}.json")).is_file(),
            "events/{name}.json is missing"
        );
    }
}

#[test]
fn the_openapi_document_describes_exactly_the_routes_the_template_serves() {
    let template = Template::load(&orders_local::template_path()).unwrap();
    let served: BTreeSet<(String, String)> = template.routes.iter().map(|r| (r.method.to_uppercase(), r.path.clone())).collect();
    let text = std::fs::read_to_string(repo().join("openapi.yaml")).unwrap();
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut described = BTreeSet::new();
    for (path, operations) in spec["paths"].as_mapping().unwrap() {
        for (method, _) in operations.as_mapping().unwrap() {
            described.insert((method.as_str().unwrap().to_uppercase(), path.as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(described, served);
}

#[test]
fn no_user_can_write_which_seller_they_are_and_the_pages_client_reads_whether_an_email_is_verified() {
    let text = std::fs::read_to_string(orders_local::template_path()).unwrap();
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let resources = spec["Resources"].as_mapping().unwrap();
    let clients: Vec<&serde_yaml_ng::Value> = resources
        .values()
        .filter(|resource| resource["Type"] == "AWS::Cognito::UserPoolClient")
        .collect();
    assert!(!clients.is_empty());
    let names = |value: &serde_yaml_ng::Value| -> BTreeSet<String> {
        value
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|name| name.as_str().map(str::to_owned))
            .collect()
    };
    for client in clients {
        let properties = &client["Properties"];
        // Without WriteAttributes a client may write every writable attribute, custom ones too.
        let writable = names(&properties["WriteAttributes"]);
        assert!(!writable.is_empty(), "an app client must list what users may write");
        assert!(
            writable.iter().all(|name| !name.starts_with("custom:")),
            "users write no custom attribute: {writable:?}"
        );
        assert!(names(&properties["ReadAttributes"]).contains("email_verified"));
    }
}

#[test]
fn mail_may_be_sent_only_as_the_shops_own_sender() {
    let text = std::fs::read_to_string(orders_local::template_path()).unwrap();
    let grants: Vec<&str> = text
        .split("Action: [ses:SendEmail]")
        .skip(1)
        .map(|after| after.lines().find(|line| line.contains("Resource:")).unwrap_or_default())
        .collect();
    assert!(!grants.is_empty(), "the notifications function sends mail");
    for resource in grants {
        assert!(resource.trim_end().ends_with(":identity/${NotificationSender}\""), "{resource}");
    }
}

#[test]
fn stripes_secrets_are_read_from_secrets_manager_each_only_by_the_functions_that_use_it() {
    let text = std::fs::read_to_string(orders_local::template_path()).unwrap();
    assert!(
        !text.contains("{{resolve:"),
        "a resolved secret is plain text in the function's configuration"
    );
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut readers = Vec::new();
    for (name, resource) in spec["Resources"].as_mapping().unwrap() {
        let statements = resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|policy| policy["Statement"].as_sequence().into_iter().flatten());
        for statement in statements {
            let actions = serde_yaml_ng::to_string(&statement["Action"]).unwrap();
            if actions.contains("secretsmanager:") {
                assert_eq!(actions.trim(), "- secretsmanager:GetSecretValue", "{name:?} only reads");
                let resources = match &statement["Resource"] {
                    serde_yaml_ng::Value::Sequence(many) => many.clone(),
                    one => vec![one.clone()],
                };
                for resource in resources {
                    let resource = serde_yaml_ng::to_string(&resource).unwrap();
                    readers.push((name.as_str().unwrap().to_owned(), resource.trim().to_owned()));
                }
            }
        }
    }
    readers.sort();
    let key = ("!Ref StripeSecretKey", "STRIPE_SECRET_KEY_ARN");
    // Taking payments, paying back, and cancelling an unpaid order whose payment started.
    let expected = [
        ("CancelOrderFunction", key.0, key.1),
        ("PaymentFailedFunction", key.0, key.1),
        // Disputes name only the payment: the webhook asks Stripe which order it is for.
        ("PaymentWebhookFunction", key.0, key.1),
        ("PaymentWebhookFunction", "!Ref StripeWebhookSecret", "STRIPE_WEBHOOK_SECRET_ARN"),
        ("ProcessBatchFunction", key.0, key.1),
        // A reservation TTL deleted: its order's payment is stopped before the order lapses.
        ("ReservationExpiryFunction", key.0, key.1),
        ("SetOrderStatusFunction", key.0, key.1),
        ("SettleRefundsFunction", key.0, key.1),
        ("StartPaymentFunction", key.0, key.1),
        ("SweeperFunction", key.0, key.1),
    ];
    let read: Vec<(String, String)> = expected.iter().map(|(f, r, _)| ((*f).to_owned(), (*r).to_owned())).collect();
    assert_eq!(readers, read, "each function reads only the secret it uses");
    for (function, secret, variable) in expected {
        let variables = &spec["Resources"][function]["Properties"]["Environment"]["Variables"];
        assert_eq!(serde_yaml_ng::to_string(&variables[variable]).unwrap().trim(), secret, "{function}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_stripe_secret_fails_the_cold_start_naming_its_variable_and_never_telling_it() {
    let emulators = tokio::task::spawn_blocking(orders_tests::emulators).await.unwrap();
    for (secret, value, variable, says) in [
        (
            orders_local::WEBHOOK_SECRET_RESOURCE,
            "short",
            "STRIPE_WEBHOOK_SECRET_ARN",
            "at least 16",
        ),
        (
            orders_local::STRIPE_KEY_RESOURCE,
            "pk_test_publishable_not_secret",
            "STRIPE_SECRET_KEY_ARN",
            "sk_",
        ),
    ] {
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut options = orders_local::ServiceOptions::new(
            emulators.dynamodb.endpoint(),
            emulators.moto.endpoint(),
            emulators.stripe.endpoint(),
            prefix,
        );
        options.secrets.insert(secret.to_owned(), value.to_owned());
        let Err(err) = orders_local::start(options).await else {
            panic!("{value} must not start");
        };
        let message = err.to_string();
        assert!(message.contains(variable) && message.contains(says), "{message}");
        assert!(!message.contains(value), "the secret itself is never told: {message}");
    }
}

#[test]
fn every_value_the_templates_parameters_allow_is_one_the_functions_accept_at_cold_start() {
    let template = Template::load(&orders_local::template_path()).unwrap();
    let text = std::fs::read_to_string(orders_local::template_path()).unwrap();
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let base = [
        ("ORDERS_TABLE", "o"),
        ("INVENTORY_TABLE", "i"),
        ("RESERVE_STOCK_QUEUE_URL", "http://q"),
        ("EVENT_BUS_NAME", "orders"),
        ("BATCH_QUEUE_URL", "http://b"),
        ("REFUND_QUEUE_URL", "http://r"),
        ("SHOP_ID", "orders-prod"),
        // The pages' URL comes with the sign-in's address and app client in the template.
        ("SIGN_IN_URL", "https://shop.auth.eu-west-1.amazoncognito.com"),
        ("USER_POOL_CLIENT_ID", "4k2example"),
    ];
    let candidates = [
        "0",
        "1",
        "-1",
        "2",
        "0.08",
        "0.999",
        "0.5000",
        "1.0",
        "1.5",
        "abc",
        "",
        " 1",
        "1e3",
        "USD",
        "usd",
        "US",
        "EURO",
        "900",
        "604800",
        "604801",
        "86400",
        "0900",
        "12.50",
        "12.505",
        "999999999.99",
        "1000000000",
        "1000000000.01",
        "99999",
        "365",
        "3650",
        "3651",
        "orders@shop.example",
        "a@b.co",
        "x@localhost",
        "a b@c.de",
        "@c.de",
        "pk_test_51Abcdefgh",
        "pk_live_x",
        "sk_test_51Abcdefgh",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/",
        "https://shop.example:8443/orders/",
        "https://shop.example",
        "http://shop.example/",
        "https://shop.example/a b/",
        "https://shop.example/\"x/",
    ];
    let mut checked = 0;
    for (variable, value) in &template.environment {
        let Some(parameter) = orders_local::template::reference(value) else {
            continue;
        };
        let Some(declared) = spec["Parameters"].get(parameter.as_str()) else {
            continue;
        };
        assert_eq!(
            declared["Type"].as_str(),
            Some("String"),
            "{parameter}: Number parameters take decimals"
        );
        let pattern = declared["AllowedPattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{parameter} has no AllowedPattern"));
        let allowed = regex::Regex::new(pattern).unwrap();
        let default = declared["Default"].as_str().unwrap();
        for candidate in candidates.iter().chain([&default]) {
            let deployable = allowed.is_match(candidate);
            let lookup = |name: &str| {
                base.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, v)| (*v).to_owned())
                    .or_else(|| (name == variable).then(|| (*candidate).to_owned()))
            };
            let starts = Config::from_lookup(lookup).is_ok();
            assert!(
                !deployable || starts,
                "{parameter}={candidate:?} deploys, but {variable} refuses it at every cold start"
            );
            if *candidate == default {
                assert!(deployable && starts, "{parameter}'s default must work");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 9, "every parameter the functions read is checked");
}

#[test]
fn every_queue_has_a_dead_letter_queue_and_a_visibility_timeout_of_six_function_timeouts() {
    let template = Template::load(&orders_local::template_path()).unwrap();
    for consumer in &template.consumers {
        let queue = template.queues.iter().find(|q| q.logical_id == consumer.queue).unwrap();
        let (_, receives) = queue.dead_letter.as_ref().expect("a redrive policy");
        assert_eq!(*receives, 5);
        assert!(queue.visibility_timeout.unwrap_or(30) >= 60, "six times the 10 s function timeout");
    }
}

async fn http(service: &orders_local::RunningService, function: HttpFunction) -> (u16, Value) {
    let request: LambdaRequest = serde_json::from_value(event(function.name())).expect("a valid API Gateway v2 event");
    let response = function.handle(&service.app, request.into()).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_runs_through_its_function() {
    let service = service(Setup::default()).await;
    let (status, product) = http(&service, HttpFunction::PutInventory).await;
    assert_eq!(status, 200, "{product}");
    assert_eq!(counters(&product), (20, 20, 0));
    assert_eq!(http(&service, HttpFunction::GetInventory).await.0, 200);

    let (status, order) = http(&service, HttpFunction::CreateOrder).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["user_id"], "alice");
    let (replayed, again) = http(&service, HttpFunction::CreateOrder).await;
    assert_eq!(
        (replayed, &again["id"]),
        (201, &order["id"]),
        "the sample's Idempotency-Key replays"
    );
    assert_eq!(counters(&Api::admin(&service).product("sku-1").await), (20, 18, 2));

    let (status, adjusted) = http(&service, HttpFunction::AdjustInventory).await;
    assert_eq!((status, adjusted["on_hand"].as_i64()), (200, Some(25)), "{adjusted}");
    let (status, again) = http(&service, HttpFunction::AdjustInventory).await;
    assert_eq!(
        (status, again["on_hand"].as_i64()),
        (200, Some(25)),
        "the sample's Idempotency-Key replays"
    );
    assert_eq!(http(&service, HttpFunction::InventoryMovements).await.0, 200);
    for function in [StreamFunction::StockMovements, StreamFunction::PublishEvents] {
        let records: StreamEvent = serde_json::from_value(event(function.name())).expect("a valid stream event");
        let response = function.handle(&service.app, records).await;
        assert!(response.batch_item_failures.is_empty(), "{}", function.name());
    }

    let (status, accepted) = http(&service, HttpFunction::StartBatch).await;
    assert_eq!((status, accepted["total"].as_u64()), (202, Some(2)), "{accepted}");
    let (status, unknown) = http(&service, HttpFunction::BatchStatus).await;
    assert_eq!((status, unknown["code"].as_str()), (404, Some("BATCH_NOT_FOUND")));
    let delivered: SqsEvent = serde_json::from_value(event(QueueFunction::IssueInvoice.name())).expect("a valid SQS event");
    assert!(QueueFunction::IssueInvoice
        .handle(&service.app, delivered)
        .await
        .batch_item_failures
        .is_empty());
    let (status, none) = http(&service, HttpFunction::GetInvoice).await;
    assert_eq!((status, none["code"].as_str()), (404, Some("INVOICE_NOT_FOUND")));
    let step: SqsEvent = serde_json::from_value(event(QueueFunction::ProcessBatch.name())).expect("a valid SQS event");
    let response = QueueFunction::ProcessBatch.handle(&service.app, step).await;
    assert!(response.batch_item_failures.is_empty(), "an unknown order is a result, not a retry");

    let (status, missing) = http(&service, HttpFunction::GetOrder).await;
    assert_eq!((status, missing["code"].as_str()), (404, Some("ORDER_NOT_FOUND")));
    let (status, listed) = http(&service, HttpFunction::ListOrders).await;
    assert_eq!(status, 200);
    assert_eq!(listed["orders"][0]["id"], order["id"]);
    let (status, listed) = http(&service, HttpFunction::ListUserOrders).await;
    assert_eq!(status, 200);
    assert_eq!(listed["orders"].as_array().unwrap().len(), 1);

    let paid: SqsEvent = serde_json::from_value(event(QueueFunction::FulfilOrder.name())).expect("a valid SQS event");
    let response = QueueFunction::FulfilOrder.handle(&service.app, paid).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a step for an unknown order is logged and dropped"
    );
    let refunded: SqsEvent = serde_json::from_value(event(QueueFunction::SettleRefunds.name())).expect("a valid SQS event");
    let response = QueueFunction::SettleRefunds.handle(&service.app, refunded).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a refund step for an unknown order is logged and dropped"
    );
    let told: SqsEvent = serde_json::from_value(event(QueueFunction::SendNotifications.name())).expect("a valid SQS event");
    let response = QueueFunction::SendNotifications.handle(&service.app, told).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "an event of an unknown order is logged and dropped"
    );
    let (status, seller) = http(&service, HttpFunction::PutSeller).await;
    assert_eq!((status, seller["commission_rate"].as_str()), (200, Some("0.12")), "{seller}");
    let (status, seller) = http(&service, HttpFunction::GetSeller).await;
    assert_eq!((status, seller["name"].as_str()), (200, Some("Acme Mugs")), "{seller}");
    // The pool has no such user yet: nobody to bind, nobody to let go.
    let (status, problem) = http(&service, HttpFunction::BindSellerUser).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("USER_NOT_FOUND")), "{problem}");
    let (status, problem) = http(&service, HttpFunction::LetGoSellerUser).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("USER_NOT_BOUND")), "{problem}");
    let batch: SqsEvent = serde_json::from_value(event(QueueFunction::ReserveStock.name())).expect("a valid SQS event");
    let response = QueueFunction::ReserveStock.handle(&service.app, batch).await;
    // The step for an unknown order is done with; the unreadable message is returned for the DLQ.
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["b0d4e7c2-1f3a-4e5b-9c8d-7a6b5c4d3e21"]);

    // The sample webhook was signed when it was recorded: by now it is stale, and refused.
    let (status, problem) = http(&service, HttpFunction::PaymentWebhook).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("INVALID_SIGNATURE")), "{problem}");

    // The sample order does not exist here: payment, cancellation and shipping answer 404.
    for function in [
        HttpFunction::ConfirmPayment,
        HttpFunction::PaymentFailed,
        HttpFunction::CancelOrder,
        HttpFunction::ShipOrder,
        HttpFunction::SetOrderStatus,
        HttpFunction::RefundOrder,
        HttpFunction::RequestReturn,
        HttpFunction::ApproveReturn,
        HttpFunction::RejectReturn,
        HttpFunction::AddOrderItem,
        HttpFunction::SetOrderItem,
        HttpFunction::RemoveOrderItem,
    ] {
        let (status, problem) = http(&service, function).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (404, Some("ORDER_NOT_FOUND")),
            "{}",
            function.name()
        );
    }
    // Alice's cart: add, set, read, check out (the sample carries an address and a key), empty.
    let (status, cart) = http(&service, HttpFunction::AddCartItem).await;
    assert_eq!((status, cart["items"][0]["quantity"].as_u64()), (200, Some(2)), "{cart}");
    let (status, cart) = http(&service, HttpFunction::SetCartItem).await;
    assert_eq!((status, cart["items"][0]["quantity"].as_u64()), (200, Some(3)), "{cart}");
    assert_eq!(
        http(&service, HttpFunction::GetCart).await.1["items"].as_array().map(Vec::len),
        Some(1)
    );
    let (status, placed) = http(&service, HttpFunction::CheckoutCart).await;
    assert_eq!((status, placed["status"].as_str()), (201, Some("PENDING_PAYMENT")), "{placed}");
    assert_eq!(placed["shipping_address"]["country"], "US");
    assert_eq!(
        http(&service, HttpFunction::GetCart).await.1["items"],
        serde_json::json!([]),
        "checked out"
    );
    assert_eq!(http(&service, HttpFunction::RemoveCartItem).await.0, 200);
    assert_eq!(http(&service, HttpFunction::ClearCart).await.0, 200);
    let (status, erased) = http(&service, HttpFunction::EraseCustomer).await;
    assert_eq!((status, &erased["complete"]), (200, &serde_json::json!(true)), "{erased}");
    let scheduled: EventBridgeEvent = serde_json::from_value(event(ScheduleFunction::Sweeper.name())).expect("a valid scheduled event");
    let report = ScheduleFunction::Sweeper
        .handle(&service.app, scheduled)
        .await
        .expect("the sweeper runs");
    assert_eq!(report["expired"], 0);
    let records: StreamEvent = serde_json::from_value(event(StreamFunction::ReservationExpiry.name())).expect("a valid stream event");
    let response = StreamFunction::ReservationExpiry.handle(&service.app, records).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a reservation of an unknown order is logged, not retried forever"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_record_whose_image_does_not_decode_is_reported_and_never_skipped() {
    let service = service(Setup::default()).await;
    // An order, a reservation and a stock counter whose keys say what they are and whose
    // contents do not decode as one: each stays in the stream (reported, so it is retried and
    // then kept by the failure destination) instead of passing unseen.
    for (function, image) in [
        (StreamFunction::PublishEvents, "NewImage"),
        (StreamFunction::ReservationExpiry, "OldImage"),
        (StreamFunction::StockMovements, "NewImage"),
    ] {
        let mut records = event(function.name());
        let sequence = records["Records"][0]["dynamodb"]["SequenceNumber"].clone();
        let attributes = records["Records"][0]["dynamodb"][image].as_object_mut().expect("an image");
        let broken = ["items", "status", "on_hand", "lines"]
            .into_iter()
            .find(|name| attributes.contains_key(*name));
        attributes.insert(
            broken.expect("a field to break").to_owned(),
            serde_json::json!({"S": "not what it should be"}),
        );
        let records: StreamEvent = serde_json::from_value(records).expect("a valid stream event");
        let response = function.handle(&service.app, records).await;
        let reported: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.clone())
            .collect();
        assert_eq!(reported, vec![sequence.as_str().map(str::to_owned)], "{}", function.name());
    }
}

#[test]
fn every_functions_timeout_holds_three_storage_calls_at_their_longest_with_a_second_to_answer() {
    let text = std::fs::read_to_string(orders_local::template_path()).unwrap();
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let variables = &spec["Globals"]["Function"]["Environment"]["Variables"];
    // The timeouts as the template sets them; the resources as any deployment names them.
    let config = Config::from_lookup(|name| match name {
        _ if name.starts_with("STORAGE_") => variables[name].as_str().map(str::to_owned),
        _ if name.ends_with("_TABLE") || name.ends_with("_QUEUE_URL") || name == "EVENT_BUS_NAME" || name == "SHOP_ID" => {
            Some("x".to_owned())
        }
        _ => None,
    })
    .unwrap();
    let operation = config.storage_timeouts.operation;
    assert!(config.storage_timeouts.attempt <= operation);
    let global = spec["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    let mut checked = 0;
    for (name, resource) in spec["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let timeout = std::time::Duration::from_secs(resource["Properties"]["Timeout"].as_u64().unwrap_or(global));
        assert!(
            operation * 3 + std::time::Duration::from_secs(1) <= timeout,
            "{name:?}: a {timeout:?} timeout cannot hold three {operation:?} storage calls and an answer"
        );
        checked += 1;
    }
    assert!(checked > 40, "{checked}");
}

#[test]
fn every_http_function_has_an_alarm_on_its_5xx_rate_and_one_on_its_p99_latency() {
    let template = Template::load(&orders_local::template_path()).unwrap();
    let text = std::fs::read_to_string(orders_local::template_path()).unwrap();
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let alarms: Vec<String> = spec["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|resource| resource["Type"] == "AWS::CloudWatch::Alarm")
        .map(|alarm| serde_yaml_ng::to_string(&alarm["Properties"]).unwrap())
        .collect();
    let binaries: BTreeSet<&str> = template.routes.iter().map(|route| route.binary.as_str()).collect();
    for binary in binaries {
        let on = |metric: &str| {
            alarms
                .iter()
                .any(|alarm| alarm.contains(&format!("MetricName: {metric}")) && alarm.contains(&format!("Value: {binary}\n")))
        };
        assert!(on("ServerErrors"), "{binary} has no 5xx alarm");
        assert!(on("Latency"), "{binary} has no latency alarm");
    }
}
