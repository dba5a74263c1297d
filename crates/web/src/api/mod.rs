//! The JSON API under `/api/v1`, for the systems of service providers and their customers.
//!
//! Requests carry an API token (`Authorization: Bearer tl_…`, made in the portal, `portal`);
//! `auth` finds it by its SHA-256, holds it to its rate limit and, when read-only, to reading.
//! An enterprise-scoped token reaches only its enterprise: any other enterprise's objects
//! answer 404, exactly like objects that do not exist. Every change goes through the engine as
//! the pages' changes do and is audited with the token's name as the actor. Errors are RFC 9457
//! problem details (`problem`), lists are cursor-paged (`paging`), POSTs honour
//! `Idempotency-Key` (`idempotency`), updates take `If-Match`. The OpenAPI 3.1 document is
//! generated from the handlers (`openapi`), served at `/api/v1/openapi.json` and rendered as a
//! browsable page at `/api/v1/reference` (`reference`).

pub mod auth;
pub mod idempotency;
pub mod openapi;
pub mod paging;
pub mod portal;
pub mod problem;
pub mod reference;
pub mod v1;

use crate::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, delete, get, post, put};
use std::sync::Arc;

/// The API's routes and the table of them (method, path) that the OpenAPI test checks.
struct Routes {
    router: Router<AppState>,
    table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.table.push((method, path));
        self.router = self.router.route(path, route);
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("get", path, get(h))
    }

    fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("post", path, post(h))
    }

    fn put<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("put", path, put(h))
    }

    fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("delete", path, delete(h))
    }
}

/// Every authenticated route of the API.
fn resources() -> Routes {
    use v1::{audit, enterprises, imports, jobs, pbx_users, reseller, teams_users, troubleshoot};
    Routes::new()
        .get("/api/v1/enterprises", enterprises::list)
        .post("/api/v1/enterprises", reseller::create)
        .get("/api/v1/sbc-regions", reseller::sbc_regions)
        .post(
            "/api/v1/enterprises/{enterprise}/invitation",
            reseller::resend_invitation,
        )
        .get("/api/v1/enterprises/{enterprise}", enterprises::get)
        .put("/api/v1/enterprises/{enterprise}", reseller::update)
        .get(
            "/api/v1/enterprises/{enterprise}/voice-routes",
            enterprises::voice_routes,
        )
        .get(
            "/api/v1/enterprises/{enterprise}/pbx-locations",
            enterprises::pbx_locations,
        )
        .get(
            "/api/v1/enterprises/{enterprise}/teams-users",
            teams_users::list,
        )
        .get(
            "/api/v1/enterprises/{enterprise}/pbx-users",
            pbx_users::list,
        )
        .post(
            "/api/v1/enterprises/{enterprise}/pbx-users",
            pbx_users::create,
        )
        .get(
            "/api/v1/enterprises/{enterprise}/pbx-users/{id}",
            pbx_users::get,
        )
        .put(
            "/api/v1/enterprises/{enterprise}/pbx-users/{id}",
            pbx_users::update,
        )
        .delete(
            "/api/v1/enterprises/{enterprise}/pbx-users/{id}",
            pbx_users::delete,
        )
        .post(
            "/api/v1/enterprises/{enterprise}/pbx-users/{id}/enable-calling",
            pbx_users::enable_calling,
        )
        .post(
            "/api/v1/enterprises/{enterprise}/pbx-users/{id}/disable-calling",
            pbx_users::disable_calling,
        )
        .post(
            "/api/v1/enterprises/{enterprise}/pbx-users/{id}/disable",
            pbx_users::disable,
        )
        .post(
            "/api/v1/enterprises/{enterprise}/pbx-users/{id}/enable",
            pbx_users::enable,
        )
        .post(
            "/api/v1/enterprises/{enterprise}/pbx-users/{id}/repair",
            pbx_users::repair,
        )
        .post("/api/v1/enterprises/{enterprise}/sync", jobs::sync)
        .get("/api/v1/enterprises/{enterprise}/jobs", jobs::list)
        .get("/api/v1/enterprises/{enterprise}/jobs/{id}", jobs::get)
        .get("/api/v1/enterprises/{enterprise}/audit", audit::list)
        .get("/api/v1/enterprises/{enterprise}/imports", imports::list)
        .post("/api/v1/enterprises/{enterprise}/imports", imports::upload)
        .get(
            "/api/v1/enterprises/{enterprise}/imports/{id}",
            imports::get,
        )
        .get(
            "/api/v1/enterprises/{enterprise}/imports/{id}/rows",
            imports::rows,
        )
        .get(
            "/api/v1/enterprises/{enterprise}/imports/{id}/result.csv",
            imports::result_csv,
        )
        .post(
            "/api/v1/enterprises/{enterprise}/imports/{id}/apply",
            imports::apply,
        )
        .get(
            "/api/v1/enterprises/{enterprise}/troubleshoot",
            troubleshoot::troubleshoot,
        )
}

/// Every route of the API as `(method, path)`, the OpenAPI document's included.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    let mut table = resources().table;
    table.push(("get", openapi::PATH));
    table
}

/// The API: the OpenAPI document (public), everything else behind a token.
pub fn router(state: &AppState) -> Router<AppState> {
    let limits = Arc::new(auth::RateLimits::default());
    let authenticated = resources()
        .router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::replay_or_keep,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), limits),
            auth::authenticate,
        ));
    Router::new()
        .route(openapi::PATH, get(openapi::document))
        .merge(authenticated)
        // Unknown API paths answer in the API's own error format, not the portal's page.
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|| async { problem::Problem::not_found() }),
        )
}
