//! The Enterprise portal's pages. Each module owns its routes and templates.

pub mod audit;
pub mod consent;
pub mod dashboard;
pub mod pbx;
pub mod setup;
pub mod troubleshoot;
pub mod users;

use crate::AppState;
use crate::error::PageError;
use axum::Router;
use axum::http::HeaderMap;
use teamline_engine::EngineError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(audit::routes())
        .merge(consent::routes())
        .merge(pbx::routes())
        .merge(dashboard::routes())
        .merge(users::routes())
        .merge(setup::routes())
        .merge(troubleshoot::routes())
}

/// Whether htmx sent the request (it then gets a fragment, not a page or a redirect).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// An engine failure as the page shows it.
pub fn engine_error(e: EngineError) -> PageError {
    match e {
        e if e.is_not_found() => PageError::NotFound,
        EngineError::Store(s) => s.into(),
        EngineError::Refused(message) => PageError::BadRequest(message),
        EngineError::Microsoft(m) => PageError::Unavailable(m.to_string()),
        EngineError::Pbx(p) => PageError::Unavailable(p.to_string()),
        EngineError::Enqueue(q) => PageError::Internal(q.to_string()),
    }
}
