//! One handler per function. `HttpFunction` and `QueueFunction` name every function the
//! template deploys, so the Lambda binaries and the local runner dispatch through one table.

pub mod analytics;
pub mod batch;
pub mod cart;
pub mod edits;
pub mod expiry_stream;
pub mod fulfilment;
pub mod inventory;
pub mod invoices;
pub mod notifications;
pub mod orders;
pub mod pages;
pub mod payments;
pub mod publish_events;
pub mod refunds;
pub mod reserve_stock;
pub mod sellers;
pub mod stock_movements;
pub mod sweeper;

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use crate::app::App;
use crate::auth::Identity;
use crate::breaker::{Admission, Outcome};
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::timing::Tally;

/// Declares a family of functions: the enum, `ALL`, and each one's binary name as in
/// `Metadata.BuildProperties.Binary` of the template. Each variant is listed once.
macro_rules! functions {
    ($(#[$doc:meta])* $family:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $family {
            $($variant),+
        }

        impl $family {
            pub const ALL: &'static [$family] = &[$(Self::$variant),+];

            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|function| function.name() == name)
            }
        }
    };
}

functions!(
    /// Functions behind an HttpApi route.
    HttpFunction {
        PutInventory => "put-inventory",
        GetInventory => "get-inventory",
        CreateOrder => "create-order",
        GetOrder => "get-order",
        ListOrders => "list-orders",
        ListUserOrders => "list-user-orders",
        ConfirmPayment => "confirm-payment",
        PaymentFailed => "payment-failed",
        CancelOrder => "cancel-order",
        PaymentWebhook => "payment-webhook",
        AdjustInventory => "adjust-inventory",
        InventoryMovements => "inventory-movements",
        ShipOrder => "ship-order",
        SetOrderStatus => "set-order-status",
        StartBatch => "start-batch",
        BatchStatus => "batch-status",
        GetInvoice => "get-invoice",
        RefundOrder => "refund-order",
        RequestReturn => "request-return",
        ApproveReturn => "approve-return",
        RejectReturn => "reject-return",
        PutSeller => "put-seller",
        GetSeller => "get-seller",
        GetCart => "get-cart",
        AddCartItem => "add-cart-item",
        SetCartItem => "set-cart-item",
        RemoveCartItem => "remove-cart-item",
        ClearCart => "clear-cart",
        CheckoutCart => "checkout-cart",
        AddOrderItem => "add-order-item",
        SetOrderItem => "set-order-item",
        RemoveOrderItem => "remove-order-item",
        StartPayment => "start-payment",
        GetOrderByNumber => "get-order-by-number",
        ListSellerOrders => "list-seller-orders",
        DailyAnalytics => "daily-analytics",
        RevenueAnalytics => "revenue-analytics",
        TrendsAnalytics => "trends-analytics",
        SellerAnalytics => "seller-analytics",
        ExportOrders => "export-orders",
        ServePages => "serve-pages",
    }
);
functions!(
    /// Functions on an SQS queue.
    QueueFunction {
        ReserveStock => "reserve-stock",
        FulfilOrder => "fulfil-order",
        ProcessBatch => "process-batch",
        IssueInvoice => "issue-invoice",
        SettleRefunds => "settle-refunds",
        SendNotifications => "send-notifications",
        UpdateAnalytics => "update-analytics",
    }
);
functions!(
    /// Functions on a DynamoDB stream.
    StreamFunction {
        ReservationExpiry => "reservation-expiry",
        StockMovements => "stock-movements",
        PublishEvents => "publish-events",
    }
);
functions!(
    /// Functions on an EventBridge schedule.
    ScheduleFunction { Sweeper => "sweeper" }
);

impl HttpFunction {
    /// Handles one request; every failure becomes a problem response, never a panic or a 502.
    pub async fn handle(self, app: &App, request: Request) -> Response<Body> {
        let span = tracing::info_span!(
            "request",
            function = self.name(),
            request_id = %request_id(&request),
            user_id = tracing::field::Empty,
            order_id = tracing::field::Empty,
        );
        async move {
            let admitted = std::time::Instant::now();
            // The pages never touch storage: served whatever the breaker says, and proof of nothing.
            let uses_storage = self != Self::ServePages;
            if let (true, Admission::Refused { retry_after }) = (uses_storage, app.breaker.admit(admitted)) {
                let retry_after_secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                return timed(
                    ApiError::StorageBreakerOpen { retry_after_secs }.into_response(),
                    &Tally::default(),
                    admitted,
                );
            }
            // Boxed: every handler's state machine in one future is too big for a thread's stack.
            let (result, tally) = crate::timing::tallied(Box::pin(async {
                match self {
                    Self::PutInventory => inventory::put_product(app, request).await,
                    Self::GetInventory => inventory::get_product(app, request).await,
                    Self::CreateOrder => orders::create_order(app, request).await,
                    Self::GetOrder => orders::get_order(app, request).await,
                    Self::ListOrders => orders::list_orders(app, request).await,
                    Self::ListUserOrders => orders::list_user_orders(app, request).await,
                    Self::ConfirmPayment => payments::confirm_payment(app, request).await,
                    Self::PaymentFailed => payments::payment_failed(app, request).await,
                    Self::CancelOrder => payments::cancel_order(app, request).await,
                    Self::PaymentWebhook => payments::payment_webhook(app, request).await,
                    Self::AdjustInventory => inventory::adjust_product(app, request).await,
                    Self::InventoryMovements => inventory::product_movements(app, request).await,
                    Self::ShipOrder => fulfilment::ship_order(app, request).await,
                    Self::SetOrderStatus => fulfilment::set_order_status(app, request).await,
                    Self::StartBatch => batch::start(app, request).await,
                    Self::BatchStatus => batch::status(app, request).await,
                    Self::GetInvoice => invoices::get(app, request).await,
                    Self::RefundOrder => refunds::refund(app, request).await,
                    Self::RequestReturn => refunds::request_return(app, request).await,
                    Self::ApproveReturn => refunds::approve_return(app, request).await,
                    Self::RejectReturn => refunds::reject_return(app, request).await,
                    Self::PutSeller => sellers::put_seller(app, request).await,
                    Self::GetSeller => sellers::get_seller(app, request).await,
                    Self::GetCart => cart::get(app, request).await,
                    Self::AddCartItem => cart::add_item(app, request).await,
                    Self::SetCartItem => cart::set_item(app, request).await,
                    Self::RemoveCartItem => cart::remove_item(app, request).await,
                    Self::ClearCart => cart::clear(app, request).await,
                    Self::CheckoutCart => cart::checkout(app, request).await,
                    Self::AddOrderItem => edits::add_item(app, request).await,
                    Self::SetOrderItem => edits::set_item(app, request).await,
                    Self::RemoveOrderItem => edits::remove_item(app, request).await,
                    Self::StartPayment => payments::start_payment(app, request).await,
                    Self::GetOrderByNumber => orders::get_order_by_number(app, request).await,
                    Self::ListSellerOrders => sellers::list_seller_orders(app, request).await,
                    Self::DailyAnalytics => analytics::daily(app, request).await,
                    Self::RevenueAnalytics => analytics::revenue(app, request).await,
                    Self::TrendsAnalytics => analytics::trends(app, request).await,
                    Self::SellerAnalytics => analytics::seller(app, request).await,
                    Self::ExportOrders => orders::export_orders(app, request).await,
                    Self::ServePages if request.uri().path() == "/" => pages::index(request).await,
                    Self::ServePages => pages::asset(request).await,
                }
            }))
            .await;
            let outcome = match &result {
                Err(ApiError::Unavailable(_)) => Outcome::Failed,
                Ok(_) | Err(ApiError::OrderNotFound | ApiError::ProductNotFound | ApiError::Refused { .. }) => Outcome::Answered,
                Err(_) => Outcome::Untested,
            };
            if uses_storage {
                app.breaker.record(outcome, std::time::Instant::now());
            }
            let response = timed(result.unwrap_or_else(ApiError::into_response), &tally, admitted);
            crate::metrics::request(self.name(), response.status().as_u16(), admitted.elapsed());
            tracing::info!(
                status = response.status().as_u16(),
                db_calls = tally.db_calls,
                db_ms = tally.db.as_secs_f64() * 1000.0,
                "request done"
            );
            response
        }
        .instrument(span)
        .await
    }
}

/// The response with its `Server-Timing` header: storage, queues, and the rest since `started`.
fn timed(mut response: Response<Body>, tally: &Tally, started: std::time::Instant) -> Response<Body> {
    if let Ok(value) = http::HeaderValue::from_str(&crate::timing::server_timing(tally, started.elapsed())) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

impl QueueFunction {
    pub async fn handle(self, app: &App, event: SqsEvent) -> SqsBatchResponse {
        match self {
            Self::ReserveStock => reserve_stock::reserve_stock(app, event).await,
            Self::FulfilOrder => fulfilment::fulfil_order(app, event).await,
            Self::ProcessBatch => batch::process(app, event).await,
            Self::IssueInvoice => invoices::issue(app, event).await,
            Self::SettleRefunds => refunds::settle(app, event).await,
            Self::SendNotifications => notifications::send(app, event).await,
            Self::UpdateAnalytics => analytics::update(app, event).await,
        }
    }
}

impl StreamFunction {
    pub async fn handle(self, app: &App, event: DynamoDbEvent) -> DynamoDbEventResponse {
        match self {
            Self::ReservationExpiry => expiry_stream::reservation_expiry(app, event).await,
            Self::StockMovements => stock_movements::stock_movements(app, event).await,
            Self::PublishEvents => publish_events::publish_events(app, event).await,
        }
    }
}

impl ScheduleFunction {
    /// Runs once for a scheduled event; a failure is returned so that the invocation counts as
    /// failed (and raises the function's error alarm).
    pub async fn handle(self, app: &App, event: EventBridgeEvent) -> Result<serde_json::Value, StoreError> {
        let span = tracing::info_span!(
            "schedule",
            function = self.name(),
            event_id = event.id.as_deref().unwrap_or_default(),
            scheduled_for = ?event.time,
        );
        async move {
            match self {
                Self::Sweeper => sweeper::run_sweeper(app)
                    .await
                    .map(|report| serde_json::to_value(report).unwrap_or_default()),
            }
        }
        .instrument(span)
        .await
    }
}

/// Handles every message of a batch at once; those `handle` could not finish (`false`) are
/// reported as batch item failures, so only they come back.
pub(crate) async fn each_message<'a, F, Fut>(event: &'a SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(&'a SqsMessage) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let outcomes = futures::future::join_all(event.records.iter().map(handle)).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = event
        .records
        .iter()
        .zip(outcomes)
        .filter(|(_, done)| !done)
        .map(|(message, _)| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            failure
        })
        .collect();
    response
}

/// A step's failure, as far as its message is concerned: a step for an order that does not
/// exist is dropped; anything else comes back to be retried.
pub(crate) trait StepFailure: std::error::Error + 'static {
    fn is_missing_order(&self) -> bool;
}

impl StepFailure for crate::service::actions::ActionError {
    fn is_missing_order(&self) -> bool {
        matches!(self, Self::NotFound)
    }
}

/// One message whose body is an EventBridge event about an order (its `detail`, with the
/// detail's `order_id`): runs `step` for it and answers whether the message is done with. An
/// unreadable message comes back (and after `maxReceiveCount` lands in the DLQ, whose alarm
/// fires); a step for an order that does not exist is logged and dropped.
pub(crate) async fn order_event_step<F, Fut, E>(message: &SqsMessage, name: &'static str, step: F) -> bool
where
    F: FnOnce(crate::domain::OrderId, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<bool, E>>,
    E: StepFailure,
{
    let message_id = message.message_id.as_deref().unwrap_or_default();
    let span = tracing::info_span!("message", step = name, message_id, order_id = tracing::field::Empty);
    async {
        let detail = message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<serde_json::Value>(body).ok())
            .map(|mut event| event["detail"].take());
        let order_id = detail
            .as_ref()
            .and_then(|detail| detail["order_id"].as_str())
            .and_then(|id| crate::domain::OrderId::parse(id).ok());
        let (Some(order_id), Some(detail)) = (order_id, detail) else {
            tracing::error!("unreadable event message");
            return false;
        };
        tracing::Span::current().record("order_id", tracing::field::display(order_id));
        match step(order_id, detail).await {
            Ok(changed) => {
                tracing::info!(changed, "step done");
                true
            }
            Err(err) if err.is_missing_order() => {
                tracing::error!("step for an order that does not exist; dropping it");
                true
            }
            Err(err) => {
                tracing::warn!(error = %crate::error_chain(&err), "step failed; it will be retried");
                false
            }
        }
    }
    .instrument(span)
    .await
}

fn request_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// The authenticated caller, or 401.
pub(crate) fn caller(request: &Request) -> Result<Identity, ApiError> {
    let identity = Identity::from_request(request).ok_or(ApiError::Unauthenticated)?;
    tracing::Span::current().record("user_id", tracing::field::display(&identity.user));
    Ok(identity)
}

/// The authenticated caller if an admin, or 401/403.
pub(crate) fn admin(request: &Request) -> Result<Identity, ApiError> {
    let identity = caller(request)?;
    if identity.is_admin {
        Ok(identity)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The seller the path names (`sellerId`), if the caller is that seller (group `seller`, claim
/// `custom:seller_id`) or an admin; 403 otherwise.
pub(crate) fn seller_or_admin(request: &Request) -> Result<crate::domain::SellerId, ApiError> {
    let identity = caller(request)?;
    let seller_id = crate::http::path_param(request, "sellerId", crate::domain::SellerId::parse)?;
    if identity.is_admin || identity.seller_id.as_ref() == Some(&seller_id) {
        Ok(seller_id)
    } else {
        Err(ApiError::Forbidden)
    }
}

pub(crate) fn store_failure(err: StoreError) -> ApiError {
    if err.is_transient() {
        ApiError::Unavailable(Box::new(err))
    } else {
        ApiError::Internal(Box::new(err))
    }
}
