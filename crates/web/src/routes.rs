//! The route table: every route of the portal is added through [`Routes`], which builds the
//! axum router and records, for each path and method, which parts of the request its handler
//! reads. [`crate::route_table`] lists what the router serves, so tests can go over every route
//! (e.g. the tenant-isolation test calls each one with another enterprise's objects) without a
//! hand-kept list that a new route could be missing from.
//!
//! What a handler reads comes from its signature: axum implements `Handler<T, S>` for a
//! function whose extractors are the tuple `T`, and the extractor types name themselves
//! (`Path<…>`, `Query<…>`, `Form<…>`, …). A handler that needs no input takes none of them.

use crate::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;

/// The request parts a handler reads besides its session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Path parameters (`/users/{id}/edit`).
    pub path: bool,
    /// The query string.
    pub query: bool,
    /// A form or JSON body.
    pub body: bool,
    /// The signed-in enterprise admin (`auth::Admin`): the handler acts within one enterprise.
    pub enterprise_admin: bool,
}

impl Inputs {
    /// Reads these from the extractor tuple's type name, e.g.
    /// `(…ViaRequest, axum::extract::state::State<…>, teamline_web::auth::Admin,
    /// axum::extract::path::Path<alloc::string::String>, axum::form::Form<…>)`.
    fn of<T: 'static>() -> Self {
        Self::from_type_name(std::any::type_name::<T>())
    }

    fn from_type_name(name: &str) -> Self {
        let has = |needle: &str| name.contains(needle);
        Self {
            path: has("::Path<"),
            query: has("::Query<") || has("::RawQuery"),
            body: has("::Form<") || has("::RawForm") || has("::Json<"),
            enterprise_admin: has("teamline_web::auth::Admin"),
        }
    }

    /// Whether the handler reads anything a client chooses: an id in the path, a query or a
    /// body.
    pub fn any(&self) -> bool {
        self.path || self.query || self.body
    }
}

/// One method of one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// As given to the router, e.g. `/users/{id}/edit`.
    pub path: &'static str,
    pub method: Method,
    pub inputs: Inputs,
}

/// The handlers of one path, by method (what `axum::routing::get(…).post(…)` builds, plus
/// what each handler reads).
pub struct Endpoint {
    router: MethodRouter<AppState>,
    handlers: Vec<(Method, Inputs)>,
}

/// Routes `GET` (and `HEAD`) requests to `handler`.
pub fn get<H, T>(handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Endpoint {
        router: axum::routing::get(handler),
        handlers: vec![(Method::GET, Inputs::of::<T>())],
    }
}

/// Routes `POST` requests to `handler`.
pub fn post<H, T>(handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Endpoint {
        router: axum::routing::post(handler),
        handlers: vec![(Method::POST, Inputs::of::<T>())],
    }
}

impl Endpoint {
    /// Also routes `POST` requests of this path, to `handler`.
    pub fn post<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.post(handler);
        self.handlers.push((Method::POST, Inputs::of::<T>()));
        self
    }
}

/// A router under construction together with its table.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn route(mut self, path: &'static str, endpoint: Endpoint) -> Self {
        self.router = self.router.route(path, endpoint.router);
        self.table.extend(
            endpoint
                .handlers
                .into_iter()
                .map(|(method, inputs)| RouteInfo {
                    path,
                    method,
                    inputs,
                }),
        );
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    pub fn table(&self) -> &[RouteInfo] {
        &self.table
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_come_from_the_extractor_types() {
        let edit = Inputs::from_type_name(
            "(axum_core::extract::private::ViaRequest, axum::extract::state::State<teamline_web::AppState>, \
             teamline_web::auth::Admin, axum::extract::path::Path<alloc::string::String>, \
             axum::form::Form<teamline_web::pages::setup::Submitted>)",
        );
        assert_eq!(
            edit,
            Inputs {
                path: true,
                query: false,
                body: true,
                enterprise_admin: true
            }
        );
        let callback = Inputs::from_type_name(
            "(axum_core::extract::private::ViaParts, tower_sessions::session::Session, axum::extract::raw_query::RawQuery)",
        );
        assert!(callback.query && !callback.path && !callback.body);
        assert!(!Inputs::from_type_name("(axum_core::extract::private::ViaParts,)").any());
    }
}
