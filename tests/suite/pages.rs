//! The web pages in a real browser: headless Chromium driven by Playwright (tests/ui/pages.mjs)
//! against the running service; screenshots land in target/ui-artifacts/pages.

use orders_tests::{browser_test, service, Api, Setup};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_through_the_sign_in_page_and_a_customer_pays_an_order_in_the_browser_on_a_desktop_and_a_phone() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "12.50", 10).await;
    let page = reqwest::get(format!("{}/", service.base_url())).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));

    let artifacts = browser_test(&service, "pages.mjs", &["Product mug".to_owned()], "pages").await;
    for shot in [
        "1280-1-order-placed",
        "1280-2-checkout",
        "1280-3-order-paid",
        "1280-7-analytics",
        "375-1-order-after-sign-in",
    ] {
        assert!(artifacts.join(format!("{shot}.png")).is_file(), "{shot}.png");
    }
    // What the browser did is what the service holds: three orders bought from the shop, one
    // paid by card at localstripe (its signed webhook), one cancelled by the customer, one by the
    // admin's batch action.
    let listed = Api::customer(&service, "alice").get("/api/v1/orders").await.body;
    let orders = listed["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 3);
    let paid = orders.iter().find(|order| order["payment_status"] == "PAID").expect("a paid order");
    assert!(paid["payment"]["reference"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(paid["payment_method"], "online");
    let cancelled = orders.iter().filter(|order| order["status"] == "CANCELLED").count();
    assert_eq!(cancelled, 2, "one by the customer, one by the admin's batch");
}
