//! The Enterprise portal's pages. Each module owns its routes and templates.

pub mod audit;
pub mod bulk_upload;
pub mod calls;
pub mod consent;
pub mod dashboard;
pub mod direct_routing;
pub mod doctor;
pub mod gateway_health;
pub mod invitation;
pub mod pbx;
pub mod preview;
pub mod registration;
pub mod setup;
pub mod sync_groups;
pub mod test_call;
pub mod troubleshoot;
pub mod user_detail;
pub mod user_list;
pub mod user_move;
pub mod users;

use crate::routes::Routes;
use axum::http::HeaderMap;

pub fn routes() -> Routes {
    Routes::new()
        .merge(audit::routes())
        .merge(bulk_upload::routes())
        .merge(calls::routes())
        .merge(consent::routes())
        .merge(pbx::routes())
        .merge(dashboard::routes())
        .merge(doctor::routes())
        .merge(users::routes())
        .merge(user_list::routes())
        .merge(user_detail::routes())
        .merge(test_call::routes())
        .merge(user_move::routes())
        .merge(setup::routes())
        .merge(troubleshoot::routes())
        .merge(invitation::routes())
        .merge(direct_routing::routes())
        .merge(sync_groups::routes())
}

/// Whether htmx sent the request (it then gets a fragment, not a page or a redirect).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}
