//! The back office in a real browser (tests/ui/back_office.mjs), once on a desktop and once on a
//! phone: an admin finds an order by its number and ships one seller's part, refunds two lines
//! with restock, approves a return, runs a batch, adjusts stock, registers a seller and adds its
//! people; a seller the admin added ships their part and cannot see another seller's order. What the pages did is then read back
//! through the API.

use std::time::Duration;

use orders_local::RunningService;
use orders_tests::{browser_test, delivered_order, eventually, pay_by_card, service, Api, Setup};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// What one run of the pages changes beyond the orders: the names and figures it types.
struct Edits {
    width: u32,
    /// The vase's name after someone else's change, which the page's stale edit must not undo.
    renamed: &'static str,
    /// The vase's price the page saves once it has looked again.
    price: &'static str,
    /// The seller the page registers: id and name.
    seller: (&'static str, &'static str),
}

const RUNS: [Edits; 2] = [
    Edits {
        width: 1280,
        renamed: "Vase (blue)",
        price: "13.00",
        seller: ("seller-3", "Seller Three"),
    },
    Edits {
        width: 375,
        renamed: "Vase (green)",
        price: "14.00",
        seller: ("seller-4", "Seller Four"),
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_and_a_seller_do_their_days_work_in_the_pages_on_a_desktop_and_a_phone_and_the_service_holds_exactly_that() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("lamp", "30.00", 40).await;
    let vase = json!({"name": "Product vase", "seller_id": "seller-2", "price": "12.00", "on_hand": 40});
    let stocked = admin.send(Method::PUT, "/api/v1/inventory/vase", Some(vase), &[]).await;
    assert!(stocked.status.is_success(), "{stocked:?}");
    // Vera and Sam have signed up (users of the pool, acting for nobody yet).
    let pool_id = &service.deployment.user_pools["UserPool"];
    for email in ["vera@example.com", "sam@example.com"] {
        let user = json!({"UserPoolId": pool_id, "Username": email, "MessageAction": "SUPPRESS",
            "UserAttributes": [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]});
        service.clients.cognito.expect_ok("AdminCreateUser", user).await.unwrap();
    }
    for edits in RUNS {
        a_days_work(&service, &edits).await;
        let people = admin.get("/api/v1/sellers/seller-2").await.body["users"].clone();
        let emails: Vec<&str> = people
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["email"].as_str().unwrap())
            .collect();
        assert_eq!(
            emails,
            ["vera@example.com"],
            "vera added, sam added and removed, at {} px",
            edits.width
        );
    }
}

async fn a_days_work(service: &RunningService, edits: &Edits) {
    let admin = Api::admin(service);
    let customer = Api::customer(service, "dora");
    let order_of = |id: String| {
        let admin = Api::admin(service);
        async move { admin.get(&format!("/api/v1/orders/{id}")).await.body }
    };
    let vase_before = admin.get("/api/v1/inventory/vase").await.body;
    let price_of = |product: &Value| product["price"].as_str().unwrap().parse::<Decimal>().unwrap();
    let lamp_price = price_of(&admin.get("/api/v1/inventory/lamp").await.body);

    // To fulfil: two sellers' parts, paid.
    let (fulfil, total) = customer.reserved_order(&[("lamp", 1), ("vase", 1)]).await;
    pay_by_card(service, &fulfil, &total).await;
    // To refund two lines of: paid, not yet sent on.
    let (refund, total) = customer.reserved_order(&[("lamp", 2), ("vase", 2)]).await;
    pay_by_card(service, &refund, &total).await;
    // Delivered (seller-1 only), with a return asked for.
    let (returned, _) = delivered_order(service, &customer, &[("lamp", 1)]).await;
    customer.return_first_line(&returned, "too bright").await;
    // Its invoice, issued although the return was asked for before the invoice step ran.
    eventually(Duration::from_secs(30), || async {
        let invoice = admin.get(&format!("/api/v1/orders/{returned}/invoice")).await;
        invoice.status.is_success().then_some(())
    })
    .await;
    // Two left unpaid, for the batch.
    let unpaid = [
        customer.reserved_order(&[("lamp", 1)]).await.0,
        customer.reserved_order(&[("vase", 1)]).await.0,
    ];
    let fulfil_number = order_of(fulfil.clone()).await["order_number"].as_str().unwrap().to_owned();
    // Only the refund moves the vase's stock from here on (cancelling an unpaid order releases
    // a hold, shipping moves nothing).
    let vase_on_hand = admin.get("/api/v1/inventory/vase").await.body["on_hand"].as_i64().unwrap();

    let fixtures = json!({
        "fulfil": {"id": fulfil, "number": fulfil_number},
        "refund": {"id": refund},
        "returned": {"id": returned},
        "unpaid": unpaid,
        "vase": vase_before["name"],
        "renamed": edits.renamed,
        "price": edits.price,
        "seller": {"id": edits.seller.0, "name": edits.seller.1},
    });
    let width = edits.width;
    let artifacts = browser_test(
        service,
        "back_office.mjs",
        &[fixtures.to_string(), width.to_string()],
        "back-office",
    )
    .await;

    let shipped = order_of(fulfil).await;
    assert_eq!(shipped["status"], "SHIPPED", "both parts shipped at {width} px: {shipped}");
    let carrier_of = |seller: &str| {
        shipped["seller_parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|part| part["seller_id"] == seller)
            .map(|part| (part["carrier"].clone(), part["tracking_number"].clone()))
    };
    assert_eq!(
        carrier_of("seller-1"),
        Some((json!("DHL"), json!("TRACK-1"))),
        "the admin shipped seller-1's part at {width} px"
    );
    assert_eq!(
        carrier_of("seller-2"),
        Some((json!("UPS"), json!("TRACK-2"))),
        "seller-2 shipped their own at {width} px"
    );

    let refunded = order_of(refund).await;
    let refunds: &Vec<Value> = refunded["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "one refund, however the button was pressed: {refunds:?}");
    assert_eq!(refunds[0]["lines"].as_array().unwrap().len(), 2);
    assert_eq!(
        refunds[0]["amount"],
        (lamp_price + price_of(&vase_before)).to_string(),
        "one lamp and one vase"
    );
    assert_eq!(refunds[0]["restocked"].as_array().unwrap().len(), 2);
    let vase_after = admin.get("/api/v1/inventory/vase").await.body;
    assert_eq!(
        vase_after["on_hand"].as_i64().unwrap(),
        vase_on_hand + 1 + 5,
        "the refunded vase is back in stock, and five came in from the supplier"
    );
    assert_eq!(vase_after["price"], edits.price, "the edit saved once the page had looked again");
    assert_eq!(vase_after["name"], edits.renamed, "the other change was not overwritten");

    let notes = admin
        .get(&format!("/api/v1/orders/{}/notes", fixtures["fulfil"]["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(notes["notes"][0]["note"], "customer asked for gift wrapping", "{notes}");
    assert_eq!(notes["notes"][0]["author"], "admin:shop-admin");
    let registered = admin.get(&format!("/api/v1/sellers/{}", edits.seller.0)).await;
    assert_eq!(registered.body["name"], edits.seller.1, "{registered:?}");
    assert_eq!(registered.body["active"], true);
    let decided = order_of(returned).await;
    assert_eq!(decided["returns"][0]["status"], "APPROVED", "{decided}");
    for id in unpaid {
        assert_eq!(order_of(id).await["status"], "CANCELLED", "the batch cancelled it");
    }
    for shot in [
        "1-order-found",
        "2-part-shipped",
        "3-refunded",
        "4-return-approved",
        "5-batch",
        "6-stock-adjusted",
        "7-sellers",
        "8-analytics",
        "seller-1-orders",
        "seller-2-shipped",
    ] {
        assert!(artifacts.join(format!("{width}-{shot}.png")).is_file(), "{width}-{shot}.png");
    }
}
