//! The portal's static files, embedded in the binary: no CDN, nothing fetched at run time.

use crate::routes::{Routes, get};
use axum::http::header;
use axum::response::IntoResponse;

/// Bumped with the files so browsers fetch the new ones (`?v=` in the layout).
pub const VERSION: &str = "2";

const HTMX: &str = include_str!("../static/htmx.min.js");
const APP_JS: &str = include_str!("../static/app.js");
const APP_CSS: &str = include_str!("../static/app.css");
const API_REFERENCE_CSS: &str = include_str!("../static/api-reference.css");

pub fn routes() -> Routes {
    Routes::new()
        .route("/static/htmx.min.js", get(|| async { js(HTMX) }))
        .route("/static/app.js", get(|| async { js(APP_JS) }))
        .route("/static/app.css", get(|| async { css(APP_CSS) }))
        .route(
            "/static/api-reference.css",
            get(|| async { css(API_REFERENCE_CSS) }),
        )
}

const CACHE: &str = "public, max-age=86400";

fn js(body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
}

fn css(body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
}
