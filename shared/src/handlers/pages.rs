//! The web pages (`GET /` and `GET /assets/{asset}`, no token): a small front end for
//! customers and admins that calls this API from the same origin. The files are part of the
//! binary, so a deployment serves exactly what was built and tested.

use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::http::{path_param, ApiError, HttpResult};
use crate::service::App;

struct Asset<'a> {
    name: &'static str,
    content_type: &'static str,
    body: &'a str,
}

const INDEX: Asset<'static> = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_str!("../../../web/index.html"),
};

const ASSETS: [Asset<'static>; 2] = [
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../web/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../../web/app.css"),
    },
];

/// Scripts, styles and API calls from this origin only; no framing, no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The same, and Stripe.js: its script, the frames of its card form, and its API, as Stripe
/// documents them for a content security policy.
const CONTENT_SECURITY_POLICY_WITH_STRIPE: &str = "default-src 'self'; script-src 'self' https://js.stripe.com; \
     style-src 'self'; img-src 'self' data: https://*.stripe.com; connect-src 'self' https://api.stripe.com; \
     frame-src https://js.stripe.com https://hooks.stripe.com; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Where the publishable key goes in the page, for the script to read.
const KEY_PLACEHOLDER: &str = r#"<meta name="stripe-publishable-key" content="">"#;

/// `GET /`: the page every view of the front end starts from, with the shop's Stripe
/// publishable key (the card form) when it has one.
pub async fn index(app: &App, request: Request) -> HttpResult {
    let (body, policy) = index_page(app.stripe_publishable_key.as_deref());
    let page = Asset {
        name: INDEX.name,
        content_type: INDEX.content_type,
        body: &body,
    };
    serve(&request, &page, policy)
}

/// The index page and its content security policy, for a shop with or without Stripe.js.
fn index_page(stripe_key: Option<&str>) -> (String, &'static str) {
    match stripe_key {
        // The key is checked at cold start: letters, digits and underscores only.
        Some(key) => (
            INDEX
                .body
                .replace(KEY_PLACEHOLDER, &format!(r#"<meta name="stripe-publishable-key" content="{key}">"#)),
            CONTENT_SECURITY_POLICY_WITH_STRIPE,
        ),
        None => (INDEX.body.to_owned(), CONTENT_SECURITY_POLICY),
    }
}

/// `GET /assets/{asset}`.
pub async fn asset(request: Request) -> HttpResult {
    let name = path_param(&request, "asset", |text| {
        ASSETS.iter().position(|asset| asset.name == text).ok_or("no such asset")
    })?;
    serve(&request, &ASSETS[name], CONTENT_SECURITY_POLICY)
}

fn serve(request: &Request, asset: &Asset<'_>, policy: &str) -> HttpResult {
    // The content's digest: a browser revalidates and gets 304 until a new build changes it.
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(asset.body.as_bytes()))[..16]);
    let fresh = request
        .headers()
        .get(http::header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let response = Response::builder()
        .status(if fresh { 304 } else { 200 })
        .header("content-type", asset.content_type)
        .header("etag", &etag)
        .header("cache-control", "no-cache")
        .header("content-security-policy", policy)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer");
    let body = if fresh { Body::Empty } else { Body::Text(asset.body.to_owned()) };
    response.body(body).map_err(|err| ApiError::Internal(Box::new(err)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shop_with_a_publishable_key_gets_it_in_the_page_and_stripe_js_allowed_and_one_without_neither() {
        let (page, policy) = index_page(Some("pk_test_51Abcdefgh"));
        assert!(page.contains(r#"<meta name="stripe-publishable-key" content="pk_test_51Abcdefgh">"#));
        assert!(policy.contains("script-src 'self' https://js.stripe.com") && policy.contains("frame-src https://js.stripe.com"));
        let (page, policy) = index_page(None);
        assert!(page.contains(KEY_PLACEHOLDER), "the page names where the key goes");
        assert_eq!(policy, CONTENT_SECURITY_POLICY);
        assert!(!policy.contains("stripe"));
    }
}
