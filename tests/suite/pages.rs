//! The web pages in a real browser: headless Chromium driven by Playwright (tests/ui/pages.mjs)
//! against the running service; screenshots land in target/ui-artifacts.

use orders_tests::{service, token, Api, Setup};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_places_and_pays_an_order_in_the_browser_and_its_timeline_shows_it_paid() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "12.50", 10).await;
    let page = reqwest::get(format!("{}/", service.base_url())).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));

    let repo = orders_local::emulators::repo_root();
    let artifacts = repo.join("target/ui-artifacts");
    let output = tokio::process::Command::new("node")
        .arg(repo.join("tests/ui/pages.mjs"))
        .arg(service.base_url())
        .arg(token("alice", &[]))
        .arg(token("shop-admin", &["admin"]))
        .arg("mug")
        .arg(&artifacts)
        .output()
        .await
        .expect("node runs (make deps installs playwright-core and Chromium)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for shot in ["1-order-placed", "2-checkout", "3-order-paid", "6-analytics"] {
        assert!(artifacts.join(format!("{shot}.png")).is_file(), "{shot}.png");
    }
    // What the browser did is what the service holds: one order paid by card at localstripe
    // (its signed webhook), one cancelled by the customer, one by the admin's batch action.
    let listed = Api::customer(&service, "alice").get("/api/v1/orders").await.body;
    let orders = listed["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 3);
    let paid = orders.iter().find(|order| order["payment_status"] == "PAID").expect("a paid order");
    assert!(paid["payment"]["reference"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(paid["payment_method"], "online");
    let cancelled = orders.iter().filter(|order| order["status"] == "CANCELLED").count();
    assert_eq!(cancelled, 2, "one by the customer, one by the admin's batch");
}
