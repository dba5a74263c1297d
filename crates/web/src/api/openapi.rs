//! The API's OpenAPI 3.1 document, generated from the handlers' annotations and types.

use super::paging::Paged;
use super::problem::{FieldProblem, Problem};
use super::v1::{
    audit, enterprises, imports, jobs, pbx_users, reseller, teams_users, troubleshoot,
};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub const PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Teamline API",
        version = "1",
        description = "Teamline's JSON API: PBX users and their lifecycle, Teams users, directory sync, troubleshooting, jobs and the audit log of the enterprises an API token reaches; with a reseller-wide token also Add Enterprise and its invitation. Authenticate with `Authorization: Bearer <token>` (create tokens in the Enterprise portal under API tokens). Errors are RFC 9457 problem details."
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
        troubleshoot::troubleshoot,
        reseller::create,
        reseller::update,
        reseller::resend_invitation,
        reseller::sbc_regions,
        document,
    ),
    components(schemas(
        Problem,
        FieldProblem,
        Paged<pbx_users::PbxUserOut>,
        Paged<teams_users::TeamsUserOut>,
    )),
    modifiers(&BearerAuth, &ProblemResponses),
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

/// Problem details are served as `application/problem+json` (RFC 9457), so the document says
/// so for every response whose body is a [`Problem`]; and every authenticated operation may
/// also answer a problem the handler does not list (a missing token 401, a read-only token 403,
/// the rate limit 429, a malformed header 400, a body that is not JSON 415): the `default`
/// response documents those, so a client can rely on the document for every status.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem_ref = format!(
            "#/components/schemas/{}",
            <Problem as utoipa::ToSchema>::name()
        );
        for (path, item) in &mut openapi.paths.paths {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                for response in op.responses.responses.values_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let is_problem = response.content.get("application/json").is_some_and(|c| {
                        matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location == problem_ref)
                    });
                    if is_problem && let Some(c) = response.content.shift_remove("application/json")
                    {
                        response.content.insert(PROBLEM_JSON.to_owned(), c);
                    }
                }
                if path != PATH {
                    let default = ResponseBuilder::new()
                        .description("A problem with the request or with carrying it out (RFC 9457): 400 a malformed header or parameter, 401 no or an unusable token, 403 a read-only token asked for a change, 415 a body that is not JSON, 429 the token's rate limit (see Retry-After), 5xx a fault on Teamline's side.")
                        .content(
                            PROBLEM_JSON,
                            ContentBuilder::new()
                                .schema(Some(Ref::new(problem_ref.clone())))
                                .build(),
                        )
                        .build();
                    op.responses
                        .responses
                        .insert("default".to_owned(), RefOr::T(default));
                }
            }
        }
    }
}

const PROBLEM_JSON: &str = "application/problem+json";

/// This document. Needs no token.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
