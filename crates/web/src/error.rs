//! What a page answers when something goes wrong: a page that says what happened and what to do.
//! htmx requests get the same message as a fragment shown in the page's message area.

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use teamline_engine::EngineError;
use teamline_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Also the answer for another tenant's objects: it must not reveal that they exist.
    #[error("not found")]
    NotFound,
    #[error("sign-in required")]
    SignInRequired,
    /// Sign-in required, and after it the page that was asked for (a path of this site).
    #[error("sign-in required for {0}")]
    SignInFor(String),
    #[error("{title}: {detail}")]
    Forbidden { title: String, detail: String },
    #[error("{0}")]
    BadRequest(String),
    /// Someone changed the object meanwhile.
    #[error("{0}")]
    Conflict(String),
    /// A service Teamline depends on is not configured or did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// A fault of Teamline itself; the detail is logged, the page stays general.
    #[error("{0}")]
    Internal(String),
    /// A request the framework refused before any page saw it (see [`plain_rejections`]).
    #[error("request refused with HTTP {0}")]
    Refused(StatusCode),
}

impl PageError {
    pub fn session(e: tower_sessions::session::Error) -> Self {
        Self::Internal(format!("the session could not be read or written: {e}"))
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Self::NotFound,
            StoreError::Conflict { .. } => Self::BadRequest(e.to_string()),
            StoreError::Stale { .. } => Self::Conflict(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// An engine failure as the page shows it: what the admin asked for is refused with the
/// engine's reason; Microsoft or the PBX not answering is a service being unavailable.
impl From<EngineError> for PageError {
    fn from(e: EngineError) -> Self {
        match e {
            e if e.is_not_found() => Self::NotFound,
            EngineError::Store(s) => s.into(),
            EngineError::Refused(message) => Self::BadRequest(message),
            EngineError::Microsoft(m) => Self::Unavailable(m.to_string()),
            EngineError::Pbx(p) => Self::Unavailable(p.to_string()),
            EngineError::Enqueue(q) => Self::Internal(q.to_string()),
        }
    }
}

/// What the error page shows.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    pub hint: String,
}

impl PageError {
    pub fn info(&self) -> ErrorInfo {
        let (status, title, detail, hint) = match self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found".to_owned(),
                "There is nothing at this address in your enterprise.".to_owned(),
                "It may have been deleted, or the link is wrong. Use the main menu to find it.".to_owned(),
            ),
            Self::SignInRequired | Self::SignInFor(_) => (
                StatusCode::UNAUTHORIZED,
                "Please sign in".to_owned(),
                "You are not signed in, or your session has ended.".to_owned(),
                "Sign in again to continue.".to_owned(),
            ),
            Self::Forbidden { title, detail } => (
                StatusCode::FORBIDDEN,
                title.clone(),
                detail.clone(),
                String::new(),
            ),
            Self::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "This request cannot be carried out".to_owned(),
                detail.clone(),
                "Go back, correct it and try again.".to_owned(),
            ),
            Self::Conflict(detail) => (
                StatusCode::CONFLICT,
                "Changed in the meantime".to_owned(),
                detail.clone(),
                "Reload the page to see the current state, then try again.".to_owned(),
            ),
            Self::Unavailable(detail) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "A service is not available".to_owned(),
                detail.clone(),
                "Try again in a moment. If it keeps failing, tell your Teamline operator.".to_owned(),
            ),
            Self::Refused(status) => refused_info(*status),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong in Teamline".to_owned(),
                "Teamline could not complete this request. Nothing was changed by the failed step.".to_owned(),
                "Try again. If it keeps failing, tell your Teamline operator the time it happened: the details are in Teamline's log.".to_owned(),
            ),
        };
        ErrorInfo {
            status,
            title,
            detail,
            hint,
        }
    }
}

/// What the error page says about a request the framework refused.
fn refused_info(status: StatusCode) -> (StatusCode, String, String, String) {
    let back = "Go back and use the page's own links and buttons.".to_owned();
    let (title, detail) = match status.as_u16() {
        405 => (
            "This address does not take this request",
            "The page exists, but not for this kind of request.",
        ),
        408 => (
            "The request took too long",
            "Teamline stopped waiting for this request to complete. Nothing was changed by it unless the page says so.",
        ),
        413 => (
            "The request is too large",
            "Teamline's forms are small; this request is larger than any of them.",
        ),
        415 => (
            "The request is not a form Teamline reads",
            "This page takes a form submitted by one of Teamline's pages.",
        ),
        _ => (
            "Teamline could not read this request",
            "A value in the address or in the form is not what this page expects (for example a page number that is not a number).",
        ),
    };
    (status, title.to_owned(), detail.to_owned(), back)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    e: &'a ErrorInfo,
}

#[derive(Template)]
#[template(path = "error_fragment.html")]
struct ErrorFragment<'a> {
    e: &'a ErrorInfo,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        if let Self::SignInRequired | Self::SignInFor(_) = self {
            let to = match &self {
                Self::SignInFor(next) => format!(
                    "/sign-in?{}",
                    serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
                ),
                _ => "/sign-in".to_owned(),
            };
            let mut r = Redirect::to(&to).into_response();
            r.extensions_mut().insert(SignInRedirect);
            return r;
        }
        let info = self.info();
        let body = ErrorPage { e: &info }
            .render()
            .unwrap_or_else(|_| info.title.clone());
        let mut r = (info.status, Html(body)).into_response();
        r.extensions_mut().insert(info);
        r
    }
}

/// Marks the redirect to the sign-in page, so htmx requests get `HX-Redirect` instead.
#[derive(Debug, Clone, Copy)]
struct SignInRedirect;

/// For htmx requests: errors become a message in the page's `#messages` area instead of a whole
/// page, and "sign in again" navigates the whole window.
pub async fn htmx_errors(req: Request, next: Next) -> Response {
    let is_htmx = req.headers().contains_key("hx-request");
    let response = next.run(req).await;
    if !is_htmx {
        return response;
    }
    if response.extensions().get::<SignInRedirect>().is_some() {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut()
            .insert("hx-redirect", HeaderValue::from_static("/sign-in"));
        return r;
    }
    let Some(info) = response.extensions().get::<ErrorInfo>().cloned() else {
        return response;
    };
    let body = ErrorFragment { e: &info }
        .render()
        .unwrap_or_else(|_| info.title.clone());
    let mut r = (info.status, Html(body)).into_response();
    let h = r.headers_mut();
    h.insert("hx-retarget", HeaderValue::from_static("#messages"));
    h.insert("hx-reswap", HeaderValue::from_static("innerHTML"));
    r
}

/// The framework answers some requests itself, in plain text, before any page sees them: a
/// query string or form it cannot read (`?page=abc`), a wrong content type, a method the
/// address does not take, a body too large, a request that took too long. Those answers
/// become the portal's error page (with their status, and `Allow` for a 405); htmx requests
/// then get it as a message, like any other error. The JSON API's get problem details instead.
pub async fn plain_rejections(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let response = next.run(req).await;
    if api {
        return crate::api::problem::plain_rejections(response);
    }
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let ours = response.extensions().get::<ErrorInfo>().is_some();
    // 401 is /metrics asking for its token (not a page), with its WWW-Authenticate.
    if !status.is_client_error() || status == StatusCode::UNAUTHORIZED || is_html || ours {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut page = PageError::Refused(status).into_response();
    if let Some(allow) = allow {
        page.headers_mut().insert(header::ALLOW, allow);
    }
    page
}
