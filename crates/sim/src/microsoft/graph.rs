//! Microsoft Graph v1.0: the axum entry point and the dispatcher that routes OData paths to the
//! directory, delta, batch and Teams administration handlers, with the permissions each needs.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

use super::admission::{Audience, Caller, apply_faults, authenticate, forbidden, guard};
use super::errors::{ApiResponse, RequestIds};
use super::model::Tenant;
use super::odata::Query;
use super::request::{GraphRequest, segments_of};
use super::state::{SimState, lock};
use super::{Scheme, base_url, directory, teams};

/// Axum entry point for `/v1.0/*`.
pub(crate) async fn entry(
    State(state): State<Arc<SimState>>,
    scheme: Option<axum::Extension<Scheme>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ids = RequestIds::new(&headers);
    let base = base_url(&state, scheme.map(|s| s.0), &headers);
    let path = uri.path().strip_prefix("/v1.0").unwrap_or(uri.path());
    let req = GraphRequest {
        method,
        segments: segments_of(path),
        query: Query::parse(uri.query()),
        headers,
        body,
        base,
        ids: ids.clone(),
    };
    let resp = if req.segments.len() == 1 && req.segments[0] == "$batch" {
        super::batch::handle(&state, &req).await
    } else {
        serve(&state, req).await
    };
    resp.into_http(&ids)
}

/// Authenticates, applies faults and dispatches one Graph request.
pub(crate) async fn serve(state: &Arc<SimState>, req: GraphRequest) -> ApiResponse {
    let caller = match authenticate(state, &req.headers, Audience::Graph, &req.ids) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    if let Some(resp) = apply_faults(&caller, &req.ids, &req.method, &req.segments).await {
        return resp;
    }
    if let (Some(server), true, [domains, id, verify]) = (
        state.config.dns_nameserver,
        req.method == Method::POST,
        req.segments.as_slice(),
    ) && domains == "domains"
        && verify == "verify"
    {
        directory::look_up_verification(server, &caller.tenant, id).await;
    }
    dispatch(state, &caller, &req)
}

const READ_USERS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_USERS_SCP: &[&str] = &[
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.AccessAsUser.All",
];
const READ_GROUPS: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_GROUPS_SCP: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.AccessAsUser.All",
];
const READ_DOMAINS: &[&str] = &[
    "Domain.Read.All",
    "Domain.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const WRITE_DOMAINS: &[&str] = &["Domain.ReadWrite.All"];
const WRITE_USERS: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];
const ASSIGN_LICENCES: &[&str] = &[
    "LicenseAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const READ_ORG: &[&str] = &[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_ORG_SCP: &[&str] = &["Organization.Read.All", "Directory.Read.All", "User.Read"];

/// Routes a Graph request (already authenticated) to its handler.
pub(crate) fn dispatch(state: &SimState, caller: &Caller, req: &GraphRequest) -> ApiResponse {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    let mut t = lock(&caller.tenant);
    match segs.as_slice() {
        ["users"] if get => guard(caller, req, READ_USERS, READ_USERS_SCP, || {
            directory::list_users(&t, req)
        }),
        ["users", "$count"] if get => guard(caller, req, READ_USERS, READ_USERS_SCP, || {
            directory::count_users(&t, req)
        }),
        ["users", "delta" | "delta()"] if get => {
            guard(caller, req, READ_USERS, READ_USERS_SCP, || {
                super::delta::users(state, &mut t, req)
            })
        }
        ["users", id] if get => guard(caller, req, READ_USERS, READ_USERS_SCP, || {
            directory::get_user(&t, req, id)
        }),
        ["users", id, rel @ ("memberOf" | "transitiveMemberOf")] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                directory::user_member_of(&t, req, id, *rel == "transitiveMemberOf", None)
            })
        }
        ["users", id, rel @ ("memberOf" | "transitiveMemberOf"), cast] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                directory::user_member_of(&t, req, id, *rel == "transitiveMemberOf", Some(cast))
            })
        }
        ["me"] if get && !caller.app_only => me(&t, caller, req),
        ["me", rel @ ("memberOf" | "transitiveMemberOf"), rest @ ..] if get && !caller.app_only => {
            let Some(uid) = caller.user_id.clone() else {
                return forbidden(req);
            };
            directory::user_member_of(
                &t,
                req,
                &uid,
                *rel == "transitiveMemberOf",
                rest.first().copied(),
            )
        }
        [
            "roleManagement",
            "directory",
            "roleEligibilityScheduleInstances",
            function,
        ] if get && function.starts_with("filterByCurrentUser") => {
            let Some(uid) = caller.user_id.clone().filter(|_| !caller.app_only) else {
                return req.bad_request(
                    "filterByCurrentUser is only valid with delegated authentication flow.",
                );
            };
            guard(caller, req, &[], directory::READ_ELIGIBILITY_SCP, || {
                directory::eligibilities_of_caller(&t, req, function, &uid)
            })
        }
        ["me", ..] if caller.app_only => {
            req.bad_request("/me request is only valid with delegated authentication flow.")
        }
        ["groups"] if get => guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
            directory::list_groups(&t, req)
        }),
        ["groups", "delta" | "delta()"] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                super::delta::groups(state, &mut t, req)
            })
        }
        ["groups", id] if get => guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
            directory::get_group(&t, req, id)
        }),
        ["groups", id, rel @ ("members" | "transitiveMembers")] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                directory::group_members(&mut t, req, id, *rel == "transitiveMembers", None)
            })
        }
        ["groups", id, rel @ ("members" | "transitiveMembers"), cast] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                directory::group_members(&mut t, req, id, *rel == "transitiveMembers", Some(cast))
            })
        }
        ["organization"] if get => guard(caller, req, READ_ORG, READ_ORG_SCP, || {
            directory::organization(&t, req)
        }),
        ["domains"] if get => guard(caller, req, READ_DOMAINS, READ_DOMAINS, || {
            directory::list_domains(&t, req)
        }),
        ["domains"] if post => {
            drop(t);
            if !caller.allowed(WRITE_DOMAINS, WRITE_DOMAINS) {
                return forbidden(req);
            }
            directory::add_domain(state, caller, req)
        }
        ["domains", id] if get => guard(caller, req, READ_DOMAINS, READ_DOMAINS, || {
            directory::get_domain(&t, req, id)
        }),
        ["domains", id, "verificationDnsRecords"] if get => {
            guard(caller, req, READ_DOMAINS, READ_DOMAINS, || {
                directory::verification_records(&t, req, id)
            })
        }
        ["domains", id, "verify"] if post => {
            guard(caller, req, WRITE_DOMAINS, WRITE_DOMAINS, || {
                directory::verify_domain(&mut t, req, id)
            })
        }
        ["subscribedSkus"] if get => guard(caller, req, READ_ORG, READ_ORG_SCP, || {
            directory::subscribed_skus(&t, req)
        }),
        ["users"] if post => guard(caller, req, WRITE_USERS, WRITE_USERS, || {
            directory::create_user(&mut t, req)
        }),
        ["users", id] if req.method == Method::PATCH => {
            guard(caller, req, WRITE_USERS, WRITE_USERS, || {
                directory::update_user(&mut t, req, id)
            })
        }
        ["users", id, "assignLicense"] if post => {
            guard(caller, req, ASSIGN_LICENCES, ASSIGN_LICENCES, || {
                directory::assign_license(&mut t, req, id)
            })
        }
        ["admin", "teams", rest @ ..] => teams::dispatch(state, caller, &mut t, req, rest),
        _ => {
            let known = matches!(
                segs.first(),
                Some(&("users" | "groups" | "domains" | "organization" | "admin" | "me"))
            );
            if known {
                req.error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Request_BadRequest",
                    format!("The request URI is not valid for method {}.", req.method),
                )
            } else {
                req.error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!(
                        "Resource not found for the segment '{}'.",
                        segs.first().copied().unwrap_or_default()
                    ),
                )
            }
        }
    }
}

fn me(t: &Tenant, caller: &Caller, req: &GraphRequest) -> ApiResponse {
    let Some(uid) = caller.user_id.as_deref() else {
        return forbidden(req);
    };
    directory::get_user(t, req, uid)
}
