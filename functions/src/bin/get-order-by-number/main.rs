//! `GET /api/v1/orders/by-number/{orderNumber}`: an order by the number people read.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::GetOrderByNumber).await
}
