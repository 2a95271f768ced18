//! The registry: every function the template deploys, by the binary name of its
//! `Metadata.BuildProperties.Binary`, and the handler each one runs. The Lambda binaries and the
//! local runner dispatch through these tables.

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_http::{Body, Request, Response};
use tracing::Instrument;

use super::{
    analytics, audit, batch, cart, catalogue, edits, expiry_stream, fulfilment, inventory, invoices, listing, notes, notifications, orders,
    pages, payments, privacy, publish_events, refunds, reserve_stock, sellers, stock_movements, sweeper,
};
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::service::App;

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
        GetCatalogueProduct => "get-catalogue-product",
        ListCatalogue => "list-catalogue",
        ListSellers => "list-sellers",
        CustomerStats => "customer-stats",
        ListOrderNotes => "list-order-notes",
        AddOrderNote => "add-order-note",
        ListProducts => "list-products",
        GetAuditTrail => "get-audit-trail",
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
        BindSellerUser => "bind-seller-user",
        LetGoSellerUser => "let-go-seller-user",
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
        EraseCustomer => "erase-customer",
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
    /// The route's handler, without the middleware around it (`handle`).
    pub(super) async fn route(self, app: &App, request: Request) -> Result<Response<Body>, ApiError> {
        match self {
            Self::PutInventory => inventory::put_product(app, request).await,
            Self::GetInventory => inventory::get_product(app, request).await,
            Self::CreateOrder => orders::create_order(app, request).await,
            Self::GetOrder => orders::get_order(app, request).await,
            Self::ListOrders => listing::list_orders(app, request).await,
            Self::ListUserOrders => listing::list_user_orders(app, request).await,
            Self::ConfirmPayment => payments::confirm_payment(app, request).await,
            Self::PaymentFailed => payments::payment_failed(app, request).await,
            Self::CancelOrder => payments::cancel_order(app, request).await,
            Self::PaymentWebhook => payments::payment_webhook(app, request).await,
            Self::AdjustInventory => inventory::adjust_product(app, request).await,
            Self::InventoryMovements => inventory::product_movements(app, request).await,
            Self::GetCatalogueProduct => catalogue::get_catalogue_product(app, request).await,
            Self::ListCatalogue => catalogue::list_catalogue(app, request).await,
            Self::ListSellers => sellers::list_sellers(app, request).await,
            Self::CustomerStats => analytics::customer(app, request).await,
            Self::ListOrderNotes => notes::list_notes(app, request).await,
            Self::AddOrderNote => notes::add_note(app, request).await,
            Self::ListProducts => inventory::list_products(app, request).await,
            Self::GetAuditTrail => audit::audit_trail(app, request).await,
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
            Self::BindSellerUser => sellers::bind_seller_user(app, request).await,
            Self::LetGoSellerUser => sellers::let_go_seller_user(app, request).await,
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
            Self::ExportOrders => listing::export_orders(app, request).await,
            Self::EraseCustomer => privacy::erase(app, request).await,
            Self::ServePages => pages::serve(app, request).await,
        }
    }
}

impl QueueFunction {
    pub async fn handle(self, app: &App, event: SqsEvent) -> SqsBatchResponse {
        let handled = async move {
            match self {
                Self::ReserveStock => reserve_stock::reserve_stock(app, event).await,
                Self::FulfilOrder => fulfilment::fulfil_order(app, event).await,
                Self::ProcessBatch => batch::process(app, event).await,
                Self::IssueInvoice => invoices::issue(app, event).await,
                Self::SettleRefunds => refunds::settle(app, event).await,
                Self::SendNotifications => notifications::send(app, event).await,
                Self::UpdateAnalytics => analytics::update(app, event).await,
            }
        };
        crate::calls::as_function(self.name(), Box::pin(handled)).await
    }
}

impl StreamFunction {
    pub async fn handle(self, app: &App, event: DynamoDbEvent) -> DynamoDbEventResponse {
        let handled = async move {
            match self {
                Self::ReservationExpiry => expiry_stream::reservation_expiry(app, event).await,
                Self::StockMovements => stock_movements::stock_movements(app, event).await,
                Self::PublishEvents => publish_events::publish_events(app, event).await,
            }
        };
        crate::calls::as_function(self.name(), Box::pin(handled)).await
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
        let scheduled = async move {
            match self {
                Self::Sweeper => sweeper::run_sweeper(app)
                    .await
                    .map(|report| serde_json::to_value(report).unwrap_or_default()),
            }
        }
        .instrument(span);
        crate::calls::as_function(self.name(), scheduled).await
    }
}
