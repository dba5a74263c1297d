//! The Enterprise portal's pages. Each module owns its routes and templates.

pub mod dashboard;
pub mod users;

use crate::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(dashboard::routes())
        .merge(users::routes())
}
