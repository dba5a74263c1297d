//! The API's OpenAPI 3.1 document, generated from the handlers' annotations and types.

use super::paging::Paged;
use super::problem::{FieldProblem, Problem};
use super::v1::{audit, enterprises, imports, jobs, pbx_users, teams_users};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub const PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Teamline API",
        version = "1",
        description = "Teamline's JSON API: PBX users and their lifecycle, Teams users, directory sync, jobs and the audit log of the enterprises an API token reaches. Authenticate with `Authorization: Bearer <token>` (create tokens in the Enterprise portal under API tokens). Errors are RFC 9457 problem details."
    ),
    paths(
        enterprises::list,
        enterprises::get,
        enterprises::voice_routes,
        enterprises::pbx_locations,
        teams_users::list,
        pbx_users::list,
        pbx_users::create,
        pbx_users::get,
        pbx_users::update,
        pbx_users::delete,
        pbx_users::enable_calling,
        pbx_users::disable_calling,
        pbx_users::disable,
        pbx_users::enable,
        pbx_users::repair,
        jobs::sync,
        jobs::list,
        jobs::get,
        audit::list,
        imports::list,
        imports::upload,
        imports::get,
        imports::rows,
        imports::result_csv,
        imports::apply,
        document,
    ),
    components(schemas(
        Problem,
        FieldProblem,
        Paged<pbx_users::PbxUserOut>,
        Paged<teams_users::TeamsUserOut>,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document. Needs no token.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
