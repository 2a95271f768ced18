//! The public catalogue: anyone lists and finds the products of trading sellers, with prices and
//! availability in words, and caches what they read.

use std::time::Duration;

use orders_tests::{eventually, service, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The product ids of a page of the catalogue.
fn ids(page: &Value) -> Vec<String> {
    page["products"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|product| product["product_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_lists_and_finds_trading_sellers_products_with_price_and_availability_in_words() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    let anyone = Api::anonymous(&service);
    let stopped = json!({"name": "Gone Ltd", "email": "gone@sellers.example", "active": false});
    let put = admin.send(Method::PUT, "/api/v1/sellers/seller-9", Some(stopped), &[]).await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    for (sku, name, seller, on_hand, extra) in [
        (
            "mug-blue",
            "Mug, blue enamel",
            "seller-1",
            40,
            json!({"description": "Holds 350 ml.\nDishwasher safe.", "image_url": "https://cdn.example.com/mug-blue.jpg"}),
        ),
        ("mug-red", "Red mug", "seller-1", 3, json!({})),
        ("plate-blue", "Blue plate", "seller-2", 0, json!({})),
        ("bowl", "Blueberry bowl", "seller-9", 10, json!({})),
    ] {
        let mut body = json!({"name": name, "seller_id": seller, "price": "12.50", "on_hand": on_hand});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let put = admin.send(Method::PUT, &format!("/api/v1/inventory/{sku}"), Some(body), &[]).await;
        assert_eq!(put.status, StatusCode::OK, "{put:?}");
    }
    assert_eq!(admin.product("mug-blue").await["image_url"], "https://cdn.example.com/mug-blue.jpg");

    // Without a token: trading sellers' products by id, in a shopper's words, no stock counters.
    let page = anyone.get("/api/v1/products").await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(
        ids(&page.body),
        ["mug-blue", "mug-red", "plate-blue"],
        "a stopped seller's bowl is hidden"
    );
    let products = page.body["products"].as_array().unwrap();
    assert_eq!(products[0]["price"], "12.50");
    assert_eq!(products[0]["currency"], "USD");
    assert_eq!(products[0]["seller_name"], "Seller One");
    assert_eq!(products[0]["description"], "Holds 350 ml.\nDishwasher safe.");
    assert_eq!(products[0]["availability"], json!({"status": "IN_STOCK", "label": "In stock"}));
    assert_eq!(
        products[1]["availability"],
        json!({"status": "LOW_STOCK", "left": 3, "label": "Only 3 left"})
    );
    assert_eq!(products[2]["availability"]["label"], "Sold out");
    for product in products {
        for hidden in ["on_hand", "available", "reserved", "version", "price_version", "shards"] {
            assert!(product.get(hidden).is_none(), "{hidden} is not for shoppers: {product}");
        }
    }
    assert_eq!(page.headers["cache-control"], "public, max-age=5");

    // A page at a time, and one seller's.
    let mut seen = Vec::new();
    let mut path = "/api/v1/products?limit=1".to_owned();
    loop {
        let page = anyone.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/products?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["mug-blue", "mug-red", "plate-blue"]);
    assert_eq!(ids(&anyone.get("/api/v1/products?seller_id=seller-2").await.body), ["plate-blue"]);

    // Found by the beginnings of the words of their names, whatever the case and the order; the
    // search index follows the products through the inventory table's stream.
    let search = |q: &'static str| {
        let anyone = &anyone;
        async move { ids(&anyone.get(&format!("/api/v1/products?q={q}")).await.body) }
    };
    let found = eventually(Duration::from_secs(15), || async {
        let found = search("blue").await;
        (found.len() == 2).then_some(found)
    })
    .await;
    assert_eq!(found, ["mug-blue", "plate-blue"], "the bowl's seller does not trade");
    assert_eq!(search("MUG%20bl").await, ["mug-blue"]);
    assert_eq!(search("mu").await, ["mug-blue", "mug-red"]);
    assert_eq!(search("blue&seller_id=seller-2").await, ["plate-blue"]);
    assert!(search("ug").await.is_empty(), "a word's middle finds nothing");

    // A search a page at a time: each product once (a name with two words the search begins
    // shows at the first), a page that would hold only near misses read on, and every cursor
    // within its own search.
    let jam = json!({"name": "Blue blueberry jam", "seller_id": "seller-2", "price": "4.00", "on_hand": 9});
    let put = admin.send(Method::PUT, "/api/v1/inventory/jam", Some(jam), &[]).await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    eventually(Duration::from_secs(15), || async {
        (search("blue").await.len() == 3).then_some(())
    })
    .await;
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/products?q=blue&limit=1&cursor={cursor}"),
            None => "/api/v1/products?q=blue&limit=1".to_owned(),
        };
        let page = anyone.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        walked.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, ["jam", "mug-blue", "plate-blue"]);
    let near_misses_first = anyone.get("/api/v1/products?q=blue%20mu&limit=1").await;
    assert_eq!(
        ids(&near_misses_first.body),
        ["mug-blue"],
        "the jam's entry is a near miss: read on"
    );
    let first = anyone.get("/api/v1/products?q=blue&limit=1").await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let elsewhere = anyone.get(&format!("/api/v1/products?q=red&cursor={cursor}")).await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST, "{elsewhere:?}");
    let listing = anyone.get(&format!("/api/v1/products?cursor={cursor}")).await;
    assert_eq!(listing.status, StatusCode::BAD_REQUEST, "a search's cursor is not a listing's");

    // A renamed product is found by its new words only.
    let renamed = json!({"name": "Crimson cup", "seller_id": "seller-1", "price": "12.50", "on_hand": 3});
    let put = admin.send(Method::PUT, "/api/v1/inventory/mug-red", Some(renamed), &[]).await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    eventually(Duration::from_secs(15), || async {
        (search("crim").await == ["mug-red"]).then_some(())
    })
    .await;
    assert_eq!(search("mug").await, ["mug-blue"], "its old words are gone");

    // One product, cached: the same answer again is 304; a hold that changes its words is not.
    let one = anyone.get("/api/v1/products/mug-red").await;
    assert_eq!(one.status, StatusCode::OK, "{one:?}");
    assert_eq!(one.body["name"], "Crimson cup");
    let etag = one.headers["etag"].to_str().unwrap().to_owned();
    let again = anyone
        .send(Method::GET, "/api/v1/products/mug-red", None, &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.body, Value::Null);
    assert_eq!(again.headers["etag"].to_str().unwrap(), etag);
    let placed = Api::customer(&service, "shopper").place(&[("mug-red", 1)], None).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    let moved = anyone
        .send(Method::GET, "/api/v1/products/mug-red", None, &[("if-none-match", &etag)])
        .await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(moved.body["availability"]["label"], "Only 2 left");
    let list_etag = page.headers["etag"].to_str().unwrap().to_owned();
    let list_again = anyone
        .send(Method::GET, "/api/v1/products", None, &[("if-none-match", &list_etag)])
        .await;
    assert_eq!(
        list_again.status,
        StatusCode::OK,
        "the listing changed with the rename and the hold"
    );

    // What is not for sale is not found; what a client gets wrong is said.
    assert_eq!(anyone.get("/api/v1/products/bowl").await.code(), "PRODUCT_NOT_FOUND");
    assert_eq!(anyone.get("/api/v1/products/no-such").await.status, StatusCode::NOT_FOUND);
    for bad in [
        format!("/api/v1/products?q={}", "a".repeat(101)),
        "/api/v1/products?cursor=!!".to_owned(),
        "/api/v1/products?limit=0".to_owned(),
        "/api/v1/products?seller_id=a%20b".to_owned(),
        "/api/v1/products?colour=blue".to_owned(),
    ] {
        assert_eq!(anyone.get(&bad).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let bad_fields = json!({"name": "Mug", "seller_id": "seller-1", "price": "1.00", "on_hand": 1,
        "description": "  ", "image_url": "http://cdn.example.com/mug.jpg"});
    let refused = admin.send(Method::PUT, "/api/v1/inventory/mug-x", Some(bad_fields), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{refused:?}");
    let fields: Vec<&str> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|error| error["field"].as_str())
        .collect();
    assert_eq!(fields, ["description", "image_url"]);
}
