//! The storefront in a real browser (tests/ui/storefront.mjs), each journey at 375 px and at
//! 1280 px against one running service; screenshots land in target/ui-artifacts/storefront.
//! What the browser did is then read back from the service.

use orders_tests::{browser_test, delivered_order, service, token, Api, Setup};
use serde_json::Value;

/// The one order of a customer the browser signed in as.
async fn only_order(service: &orders_local::RunningService, user: &str) -> Value {
    let listed = Api::customer(service, user).get("/api/v1/orders").await.body;
    let orders = listed["orders"].as_array().expect("a listing").clone();
    assert_eq!(orders.len(), 1, "{user}: {orders:?}");
    orders.into_iter().next().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_buy_from_the_catalogue_by_card_see_price_and_stock_changes_cancel_and_return_on_a_phone_and_a_desktop() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("vase", "20.00", 10).await;
    let mut delivered = Vec::new();
    for width in [375, 1280] {
        let customer = Api::customer(&service, &format!("returns-{width}"));
        delivered.push(delivered_order(&service, &customer, &[("vase", 2)]).await.0);
    }
    let args = [token("shop-staff", &["admin"]), delivered[0].clone(), delivered[1].clone()];
    let artifacts = browser_test(&service, "storefront.mjs", &args, "storefront").await;
    for width in [375, 1280] {
        for shot in [
            "1-search",
            "2-product",
            "3-cart",
            "4-address-error",
            "5-confirmation",
            "6-declined",
            "7-paid",
            "10-sold-out",
            "13-return-approved",
        ] {
            assert!(artifacts.join(format!("{width}-{shot}.png")).is_file(), "{width}-{shot}.png");
        }
        // Paid by card at localstripe after one declined attempt, shipped to the address given.
        let paid = only_order(&service, &format!("shopper-{width}")).await;
        assert_eq!(paid["payment_status"], "PAID", "{paid}");
        assert_eq!(paid["total"], "25.00");
        assert!(paid["payment"]["reference"].as_str().unwrap_or_default().starts_with("pi_"));
        assert_eq!(paid["shipping_address"]["city"], "Springfield");
        // The changed price, accepted before paying, is what the order charges.
        let towel = only_order(&service, &format!("towels-{width}")).await;
        assert_eq!(towel["items"][0]["unit_price"], "9.50", "{towel}");
        // Sold out at checkout (the refused checkout is an INVALID order that says why), then
        // changed to what was left.
        let listed = Api::customer(&service, &format!("boards-{width}")).get("/api/v1/orders").await.body;
        let boards: Vec<(String, Value)> = listed["orders"]
            .as_array()
            .expect("a listing")
            .iter()
            .map(|order| {
                (
                    order["status"].as_str().unwrap_or_default().to_owned(),
                    order["items"][0]["quantity"].clone(),
                )
            })
            .collect();
        assert_eq!(
            boards,
            [
                ("PENDING_PAYMENT".to_owned(), Value::from(1)),
                ("INVALID".to_owned(), Value::from(3))
            ]
        );
        // Paid, cancelled, and refunded.
        let tin = only_order(&service, &format!("tins-{width}")).await;
        assert_eq!(tin["status"], "CANCELLED", "{tin}");
        assert_eq!(tin["refunds"][0]["amount"], tin["total"]);
        // Returned through the back office.
        let returned = only_order(&service, &format!("returns-{width}")).await;
        assert_eq!(returned["status"], "RETURNED", "{returned}");
        assert_eq!(returned["returns"][0]["status"], "APPROVED");
    }
}
