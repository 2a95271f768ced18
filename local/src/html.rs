//! The local runner's own pages (the test-card form, the sign-in): plain HTML, every value
//! escaped.

use axum::response::{Html, IntoResponse, Response};

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page of the local runner; `body` is HTML the caller escaped.
pub fn page(title: &str, body: &str) -> Response {
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><link rel="icon" href="data:,">
<style>body{{font:16px system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem}}input,button{{font:inherit;padding:.5rem}}label{{display:block;margin:.5rem 0}}code{{font-size:.95em}}</style></head>
<body><main>
<h1>{title}</h1>
{body}
</main></body></html>"#
    ))
    .into_response()
}
