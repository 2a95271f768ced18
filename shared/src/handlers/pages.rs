//! The web pages (`GET /` and `GET /assets/{asset}`, no token): a small front end for
//! customers and admins that calls this API from the same origin. The files are part of the
//! binary, so a deployment serves exactly what was built and tested.

use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::http::{path_param, ApiError, HttpResult};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_str!("../../../web/index.html"),
};

const ASSETS: [Asset; 2] = [
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

/// `GET /`: the page every view of the front end starts from.
pub async fn index(request: Request) -> HttpResult {
    serve(&request, &INDEX)
}

/// `GET /assets/{asset}`.
pub async fn asset(request: Request) -> HttpResult {
    let name = path_param(&request, "asset", |text| {
        ASSETS.iter().position(|asset| asset.name == text).ok_or("no such asset")
    })?;
    serve(&request, &ASSETS[name])
}

fn serve(request: &Request, asset: &Asset) -> HttpResult {
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
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer");
    let body = if fresh { Body::Empty } else { Body::Text(asset.body.to_owned()) };
    response.body(body).map_err(|err| ApiError::Internal(Box::new(err)))
}
