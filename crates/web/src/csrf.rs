//! Cross-site request forgery protection for every state-changing request.
//!
//! Two independent checks, both required:
//! 1. the browser says the request comes from one of our own pages (`Sec-Fetch-Site:
//!    same-origin`, or else an `Origin` equal to ours). Browsers set these headers and pages
//!    cannot forge them; a request with neither is refused.
//! 2. a signed-in session's requests carry the session's synchronizer token, in the form field
//!    `csrf_token` or (htmx) in the `X-CSRF-Token` header. This also covers clients that do not
//!    send fetch metadata.
//!
//! Together with the SameSite=Lax session cookie this is defence in depth, not a choice of one.

use crate::AppState;
use crate::error::PageError;
use crate::session::keys;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

/// The header htmx sends the token in (set once on `<body hx-headers>`).
pub const HEADER: &str = "x-csrf-token";
/// The hidden form field of plain forms.
pub const FIELD: &str = "csrf_token";
/// Forms are small; a bigger body is not a form of ours.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// A new random token (256 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// The session's token, created on first use.
pub async fn token(session: &Session) -> Result<String, PageError> {
    if let Some(t) = session
        .get::<String>(keys::CSRF)
        .await
        .map_err(PageError::session)?
    {
        return Ok(t);
    }
    let t = new_token();
    session
        .insert(keys::CSRF, &t)
        .await
        .map_err(PageError::session)?;
    Ok(t)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why a request was judged cross-site (for the log; the page says it plainly).
#[derive(Debug, PartialEq, Eq)]
pub enum OriginProblem {
    CrossSite(String),
    WrongOrigin(String),
    NoOriginHeaders,
}

/// Check 1: does the browser say the request comes from our own origin?
///
/// The `Origin` must be the configured public origin (`https://teamline.example`) or name the
/// host the request was sent to (a browser sets `Host` to the server it talks to, so such an
/// origin is the server's own, however the admin reached it).
pub fn check_origin(
    headers: &HeaderMap,
    expected_origin: Option<&str>,
) -> Result<(), OriginProblem> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return if site.eq_ignore_ascii_case("same-origin") {
            Ok(())
        } else {
            Err(OriginProblem::CrossSite(site.to_owned()))
        };
    }
    let Some(origin) = get(header::ORIGIN.as_str()) else {
        return Err(OriginProblem::NoOriginHeaders);
    };
    let origin = origin.trim_end_matches('/');
    let is_public = expected_origin
        .is_some_and(|expected| origin.eq_ignore_ascii_case(expected.trim_end_matches('/')));
    let host = get(header::HOST.as_str()).unwrap_or_default();
    // Served over https, a page of the plain-http origin is not one of ours.
    let origin_host = match expected_origin {
        Some(e) if e.starts_with("https://") => origin.strip_prefix("https://"),
        _ => origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://")),
    };
    let is_host = !host.is_empty() && origin_host.is_some_and(|h| h.eq_ignore_ascii_case(host));
    let ok = is_public || is_host;
    if ok {
        Ok(())
    } else {
        Err(OriginProblem::WrongOrigin(origin.to_owned()))
    }
}

/// Compares in constant time, so the token cannot be guessed byte by byte from timings.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn refused(detail: &str) -> Response {
    PageError::Forbidden {
        title: "Request refused".into(),
        detail: format!(
            "{detail} Teamline only accepts changes sent from its own pages. Reload the page and try again."
        ),
    }
    .into_response()
}

/// The middleware (runs inside the session layer).
pub async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_safe(req.method()) {
        return next.run(req).await;
    }
    let expected = state.public_origin();
    if let Err(problem) = check_origin(req.headers(), expected.as_deref()) {
        tracing::warn!(?problem, path = %req.uri().path(), "refused a cross-site request");
        return refused("This request did not come from a Teamline page.");
    }
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return PageError::Internal("the session layer is missing".into()).into_response();
    };
    let expected_token = match session.get::<String>(keys::CSRF).await {
        Ok(t) => t,
        Err(e) => return PageError::session(e).into_response(),
    };
    // Signed-out forms (sign-in) have no session token yet: the origin check covers them.
    let Some(expected_token) = expected_token else {
        return next.run(req).await;
    };
    if let Some(sent) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if same_token(sent, &expected_token) {
            next.run(req).await
        } else {
            refused(
                "The page's security token is out of date (you may have signed in again in another tab).",
            )
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return refused("The request carried no security token.");
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return PageError::BadRequest("the form is too large".into()).into_response();
    };
    match form_field(&bytes, FIELD) {
        Some(sent) if same_token(&sent, &expected_token) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Some(_) => refused(
            "The page's security token is out of date (you may have signed in again in another tab).",
        ),
        None => refused("The form carried no security token."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert_eq!(
            check_origin(&headers(&[("sec-fetch-site", "same-origin")]), None),
            Ok(())
        );
        for site in ["same-site", "cross-site", "none"] {
            let h = headers(&[
                ("sec-fetch-site", site),
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080"),
            ]);
            assert!(check_origin(&h, None).is_err(), "{site} must be refused");
        }
    }

    #[test]
    fn origin_must_match_the_host_or_the_public_url() {
        let h = headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert_eq!(check_origin(&h, None), Ok(()));
        let other_port = headers(&[
            ("origin", "http://127.0.0.1:9999"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert!(check_origin(&other_port, None).is_err());
        let h = headers(&[
            ("origin", "https://teamline.example"),
            ("host", "internal:8080"),
        ]);
        assert_eq!(check_origin(&h, Some("https://teamline.example")), Ok(()));
        let h = headers(&[
            ("origin", "http://teamline.example"),
            ("host", "teamline.example"),
        ]);
        assert!(check_origin(&h, Some("https://teamline.example")).is_err());
        let h = headers(&[
            ("origin", "http://evil.example"),
            ("host", "teamline.example"),
        ]);
        assert!(check_origin(&h, Some("https://teamline.example")).is_err());
        assert!(check_origin(&h, None).is_err());
        assert_eq!(
            check_origin(&headers(&[("origin", "null"), ("host", "x")]), None),
            Err(OriginProblem::WrongOrigin("null".into()))
        );
    }

    #[test]
    fn no_headers_is_refused() {
        assert_eq!(
            check_origin(&headers(&[("host", "127.0.0.1:8080")]), None),
            Err(OriginProblem::NoOriginHeaders)
        );
    }

    #[test]
    fn tokens_compare_exactly() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert!(same_token(&t, &t.clone()));
        assert!(!same_token(&t, &new_token()));
        assert!(!same_token(&t, &t[..63]));
        assert_eq!(
            form_field(b"a=1&csrf_token=abc&b=2", FIELD).as_deref(),
            Some("abc")
        );
    }
}
