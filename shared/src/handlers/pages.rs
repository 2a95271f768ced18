//! The web pages (`GET /`, `GET /assets/{asset}` and `GET /config.json`, no token): a small
//! front end for customers and admins that calls this API from the same origin. The files are
//! part of the binary, so a deployment serves exactly what was built and tested; the settings
//! document carries what differs between deployments.

use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::auth::SignInSettings;
use crate::http::{entity_tag, not_modified, path_param, ApiError, HttpResult};
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

/// What the hosted sign-in hands the pages: an ID token (with the name, email and groups the
/// API reads) and a refresh token.
const SIGN_IN_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// Every route of the pages function.
pub async fn serve(app: &App, request: Request) -> HttpResult {
    let policy = content_security_policy(app.sign_in.as_ref(), app.stripe_publishable_key.is_some());
    match request.uri().path() {
        "/" => respond(&request, &INDEX, &policy),
        "/config.json" => {
            let body = settings(app.sign_in.as_ref(), app.stripe_publishable_key.as_deref(), &app.pricing.currency).to_string();
            let document = Asset {
                name: "config.json",
                content_type: "application/json",
                body: &body,
            };
            respond(&request, &document, &policy)
        }
        _ => {
            let name = path_param(&request, "asset", |text| {
                ASSETS.iter().position(|asset| asset.name == text).ok_or("no such asset")
            })?;
            respond(&request, &ASSETS[name], &policy)
        }
    }
}

/// The pages' settings: where and as which app client to sign in, Stripe.js's key, and the
/// currency every amount is in.
fn settings(sign_in: Option<&SignInSettings>, stripe_key: Option<&str>, currency: &str) -> serde_json::Value {
    let sign_in = sign_in.map(|settings| {
        let endpoint = |path: &str| format!("{}{path}", settings.base_url);
        json!({
            "client_id": settings.client_id,
            "authorize_url": endpoint("/oauth2/authorize"),
            "token_url": endpoint("/oauth2/token"),
            "revoke_url": endpoint("/oauth2/revoke"),
            "logout_url": endpoint("/logout"),
            "redirect_uri": settings.pages_url,
            "scopes": SIGN_IN_SCOPES,
        })
    });
    json!({ "sign_in": sign_in, "stripe_publishable_key": stripe_key, "currency": currency })
}

/// Scripts, styles and API calls from this origin only (images from any https origin); no framing, no inline script. The
/// pages also fetch tokens from the hosted sign-in, and with a Stripe key load Stripe.js: its
/// script, the frames of its card form, and its API, as Stripe documents them for a policy.
fn content_security_policy(sign_in: Option<&SignInSettings>, with_stripe: bool) -> String {
    let sign_in = sign_in.map(|settings| format!(" {}", settings.base_url)).unwrap_or_default();
    let (script, connect, frames) = if with_stripe {
        (
            " https://js.stripe.com",
            " https://api.stripe.com",
            "frame-src https://js.stripe.com https://hooks.stripe.com; ",
        )
    } else {
        ("", "", "")
    };
    // Images from any https origin: products' pictures live wherever the shop keeps them (and
    // Stripe's card form shows its own).
    format!(
        "default-src 'self'; script-src 'self'{script}; style-src 'self'; img-src 'self' data: https:; \
         connect-src 'self'{sign_in}{connect}; {frames}form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

fn respond(request: &Request, asset: &Asset<'_>, policy: &str) -> HttpResult {
    // The content's digest: a browser revalidates and gets 304 until a new build changes it.
    let etag = entity_tag(asset.body.as_bytes());
    let fresh = not_modified(request, &etag);
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

    fn cognito() -> SignInSettings {
        SignInSettings {
            base_url: "https://shop.auth.eu-west-1.amazoncognito.com".to_owned(),
            client_id: "4k2example".to_owned(),
            pages_url: "https://api.example.com/".to_owned(),
        }
    }

    #[test]
    fn the_settings_name_the_hosted_sign_in_endpoints_the_client_and_the_way_back() {
        let document = settings(Some(&cognito()), Some("pk_test_51Abcdefgh"), "EUR");
        let sign_in = &document["sign_in"];
        assert_eq!(
            sign_in["authorize_url"],
            "https://shop.auth.eu-west-1.amazoncognito.com/oauth2/authorize"
        );
        assert_eq!(sign_in["token_url"], "https://shop.auth.eu-west-1.amazoncognito.com/oauth2/token");
        assert_eq!(sign_in["logout_url"], "https://shop.auth.eu-west-1.amazoncognito.com/logout");
        assert_eq!(sign_in["client_id"], "4k2example");
        assert_eq!(sign_in["redirect_uri"], "https://api.example.com/");
        assert_eq!(document["stripe_publishable_key"], "pk_test_51Abcdefgh");
        assert_eq!(document["currency"], "EUR");
        let before_the_second_deployment = settings(None, None, "USD");
        assert!(before_the_second_deployment["sign_in"].is_null());
        assert!(before_the_second_deployment["stripe_publishable_key"].is_null());
    }

    #[test]
    fn the_policy_lets_the_pages_reach_the_sign_in_and_stripe_only_when_the_shop_has_them() {
        let both = content_security_policy(Some(&cognito()), true);
        assert!(both.contains("connect-src 'self' https://shop.auth.eu-west-1.amazoncognito.com https://api.stripe.com;"));
        assert!(both.contains("script-src 'self' https://js.stripe.com;") && both.contains("frame-src https://js.stripe.com"));
        let neither = content_security_policy(None, false);
        assert_eq!(
            neither,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
    }
}
