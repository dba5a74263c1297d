//! PBX users (a Teams user paired with a PBX extension) and their lifecycle: set up, edit,
//! enable/disable calling, disable/re-enable, repair, delete. Every change goes through the
//! engine exactly as the Users and SET UP PBX USER pages do; the work on Microsoft and the PBX
//! runs as jobs, so changes answer 202 with the user, whose `push_state` tells how far it is.

use super::preview::{DryRun, PreviewOut};
use super::{ApiJson, ApiPath, ApiQuery, check_version, etag, if_match, rfc3339};
use crate::AppState;
use crate::api::auth::Caller;
use crate::api::paging::{self, PageParams, Paged};
use crate::api::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use teamline_domain::enterprise::Enterprise;
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::{CallerNamePolicy, PbxUserForm};
use teamline_store::{PbxUserListItem, PbxUserQuery, UserCursor, UserSort, UserTab};
use utoipa::{IntoParams, ToSchema};

/// What Microsoft Teams held when Teamline last read it back.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObservedOut {
    pub enterprise_voice: bool,
    pub numbers: Vec<String>,
    /// Effective policy by type; `null` = the Global policy.
    pub policies: BTreeMap<String, Option<String>>,
    pub read_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PbxUserOut {
    pub id: i64,
    /// `active`, `disabled` or `deleted`.
    pub state: String,
    pub display_name: String,
    pub upn: String,
    pub teams_user_object_id: String,
    pub pbx_location_id: i64,
    pub voice_route_id: i64,
    pub voice_route_name: String,
    pub sip_user: String,
    /// `sip_user@sip-domain`.
    pub aor: String,
    pub phone_number: String,
    pub use_teams_voicemail: bool,
    /// `transparent` or `other` (then `caller_name` is set).
    pub caller_name_policy: String,
    pub caller_name: Option<String>,
    /// `user_caller_id` or `original_caller`.
    pub forwarded_caller_id: String,
    pub assign_dial_plan: bool,
    /// The PBX device (SIP authentication id) Teams registers as.
    pub device: String,
    pub tag: Option<String>,
    /// What the admin wants: calling on or off in Teams.
    pub calling_enabled: bool,
    /// `pending`, `in_progress`, `propagating`, `in_sync`, `failed` or `drift`.
    pub push_state: String,
    pub last_error: Option<String>,
    /// Set when the Teams user left the sync scope, lost a licence or was disabled.
    pub teams_user_flag: Option<String>,
    pub microsoft: Option<ObservedOut>,
    /// Also the ETag; send it in If-Match to change the user.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&PbxUserListItem> for PbxUserOut {
    fn from(item: &PbxUserListItem) -> Self {
        let u = &item.user;
        let s = &u.spec;
        let (policy, name) = match &s.caller_name {
            CallerNamePolicy::Transparent => ("transparent", None),
            CallerNamePolicy::Other(n) => ("other", Some(n.clone())),
        };
        Self {
            id: u.id.0,
            state: u.state.as_str().to_owned(),
            display_name: item.display_name.clone(),
            upn: item.upn.clone(),
            teams_user_object_id: s.teams_user_object_id.clone(),
            pbx_location_id: s.pbx_location_id.0,
            voice_route_id: s.voice_route_id.0,
            voice_route_name: item.voice_route_name.clone(),
            sip_user: s.sip_user.to_string(),
            aor: format!("{}@{}", s.sip_user, item.sip_domain),
            phone_number: s.phone_number.to_string(),
            use_teams_voicemail: s.use_teams_voicemail,
            caller_name_policy: policy.to_owned(),
            caller_name: name,
            forwarded_caller_id: s.forwarded_caller_id.as_str().to_owned(),
            assign_dial_plan: s.assign_dial_plan,
            device: s.device.to_string(),
            tag: s.tag.clone(),
            calling_enabled: u.calling_enabled,
            push_state: u.push_state.as_str().to_owned(),
            last_error: u.last_error.clone(),
            teams_user_flag: item.teams_user_flag.clone(),
            microsoft: item.observed.as_ref().map(|o| ObservedOut {
                enterprise_voice: o.enterprise_voice,
                numbers: o.numbers.clone(),
                policies: o
                    .policies
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                    .collect(),
                read_at: rfc3339(o.read_at_ms),
            }),
            version: u.version,
            created_at: rfc3339(u.created_ms),
            updated_at: rfc3339(u.updated_ms),
        }
    }
}

/// A PBX user to set up, or the whole new configuration of one (PUT). The rules are those of
/// the SET UP PBX USER form; every field at fault is reported at once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PbxUserIn {
    pub pbx_location_id: i64,
    pub voice_route_id: i64,
    /// The Teams user: Entra object id or UPN.
    pub teams_user: String,
    /// The PBX extension.
    pub sip_user: String,
    /// E.164, e.g. `+14155550100`.
    pub phone_number: String,
    /// Voicemail in Teams instead of the PBX (default false).
    #[serde(default)]
    pub use_teams_voicemail: bool,
    /// `transparent` (default) or `other` (then `caller_name` is required).
    #[serde(default)]
    pub caller_name_policy: Option<String>,
    #[serde(default)]
    pub caller_name: Option<String>,
    /// `user_caller_id` (default) or `original_caller`.
    #[serde(default)]
    pub forwarded_caller_id: Option<String>,
    /// Assign the platform's dial plan (default true).
    #[serde(default)]
    pub assign_dial_plan: Option<bool>,
    /// The PBX device (SIP authentication id) Teams registers as, e.g. `1000tm`.
    pub device: String,
    #[serde(default)]
    pub tag: Option<String>,
}

impl PbxUserIn {
    /// The form the portal would have submitted; a UPN is looked up as the page's search does.
    async fn form(self, state: &AppState, e: &Enterprise) -> Result<PbxUserForm, Problem> {
        let defaults = PbxUserForm::new_with_defaults();
        let teams_user = if self.teams_user.contains('@') {
            state
                .store
                .teams_user_by_upn(e.id, self.teams_user.trim())
                .await?
                .map_or(self.teams_user, |u| u.object_id)
        } else {
            self.teams_user
        };
        Ok(PbxUserForm {
            pbx_location: self.pbx_location_id.to_string(),
            voice_route: self.voice_route_id.to_string(),
            teams_user,
            sip_user: self.sip_user,
            phone_number: self.phone_number,
            use_teams_voicemail: self.use_teams_voicemail,
            caller_name_policy: self
                .caller_name_policy
                .unwrap_or(defaults.caller_name_policy),
            caller_name: self.caller_name.unwrap_or_default(),
            forwarded_caller_id: self
                .forwarded_caller_id
                .unwrap_or(defaults.forwarded_caller_id),
            assign_dial_plan: self.assign_dial_plan.unwrap_or(defaults.assign_dial_plan),
            device: self.device,
            // The API names a device the PBX already has; it does not create one.
            create_device: false,
            emergency_address: String::new(),
            tag: self.tag.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PbxUserFilter {
    /// `active` (default), `disabled` or `deleted`.
    pub state: Option<String>,
    /// Part of the name, UPN, extension, number or tag (case-insensitive).
    pub search: Option<String>,
}

fn tab(state: Option<&str>) -> Result<UserTab, Problem> {
    match state {
        None | Some("active") => Ok(UserTab::Licensed),
        Some("disabled") => Ok(UserTab::Disabled),
        Some("deleted") => Ok(UserTab::Deleted),
        Some(other) => Err(Problem::field(
            "state",
            format!("\"{other}\" is not a state: use active, disabled or deleted"),
        )),
    }
}

fn location(e: &Enterprise, id: PbxUserId) -> HeaderValue {
    HeaderValue::from_str(&format!("/api/v1/enterprises/{}/pbx-users/{id}", e.id))
        .unwrap_or(HeaderValue::from_static("/api/v1"))
}

/// The user as it is now, with its ETag.
async fn answer(
    state: &AppState,
    e: &Enterprise,
    id: PbxUserId,
    status: StatusCode,
) -> Result<Response, Problem> {
    let item = state.store.get_pbx_user(e.id, id).await?;
    let mut response = (status, Json(PbxUserOut::from(&item))).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag(item.user.version));
    if status != StatusCode::OK {
        headers.insert(header::LOCATION, location(e, id));
    }
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/pbx-users", tag = "pbx users",
    params(("enterprise" = i64, Path, description = "Enterprise id"), PbxUserFilter, PageParams),
    responses((status = 200, body = inline(Paged<PbxUserOut>)), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
    ApiQuery(filter): ApiQuery<PbxUserFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Paged<PbxUserOut>>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    // Pages follow the last user shown (keyset); an offset cursor of an older page still works.
    let after = page.cursor.as_deref().and_then(paging::decode_after);
    let window = match after {
        Some(_) => PageParams {
            cursor: None,
            limit: page.limit,
        }
        .window()?,
        None => page.window()?,
    };
    let mut result = state
        .store
        .list_pbx_users(
            e.id,
            &PbxUserQuery {
                tab: tab(filter.state.as_deref())?,
                search: filter.search.filter(|s| !s.trim().is_empty()),
                filter: None,
                voice_route: None,
                sort: UserSort::default(),
                descending: false,
                // One more than asked tells whether a next page exists.
                limit: window.limit + 1,
                offset: window.offset,
                cursor: after.map(|id| UserCursor::After(PbxUserId(id))),
            },
        )
        .await?;
    let more = result.items.len() > window.limit as usize;
    result.items.truncate(window.limit as usize);
    let next_cursor = result
        .items
        .last()
        .filter(|_| more)
        .map(|last| paging::encode_after(last.user.id.0));
    let items = result.items.iter().map(PbxUserOut::from).collect();
    Ok(Json(Paged {
        items,
        total: result.total,
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/pbx-users/{id}", tag = "pbx users",
    params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "PBX user id")),
    responses((status = 200, body = PbxUserOut, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    answer(&state, &e, PbxUserId(id), StatusCode::OK).await
}

/// SET UP PBX USER: validates against the stored data, the PBX and the tenant, saves the
/// pairing and queues the device and Microsoft work. Send an `Idempotency-Key` to retry safely.
/// With `dry_run=true`: validates the same way and answers 200 with what Save would change in
/// Teams and on the PBX, storing nothing.
#[utoipa::path(post, path = "/api/v1/enterprises/{enterprise}/pbx-users", tag = "pbx users",
    params(("enterprise" = i64, Path, description = "Enterprise id"), DryRun,
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the first answer is kept for a day")),
    request_body = PbxUserIn,
    responses((status = 200, body = PreviewOut, description = "dry_run=true: the changes Save would make; nothing was changed"),
        (status = 201, body = PbxUserOut, headers(("ETag" = String), ("Location" = String))),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
    ApiQuery(dry_run): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<PbxUserIn>,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let form = body.form(&state, &e).await?;
    if dry_run.is_set() {
        let preview = state.engine.preview_save(e.id, &form, None).await?;
        return Ok(Json(PreviewOut::from(&preview)).into_response());
    }
    let user = state
        .engine
        .save_pbx_user(e.id, &caller.actor(), &form, None)
        .await?;
    answer(&state, &e, user.id, StatusCode::CREATED).await
}

/// Edit: the whole configuration, as the SET UP PBX USER form edits it. `If-Match` with the
/// ETag the user was read at is required, so a concurrent change is never overwritten.
/// With `dry_run=true`: answers 200 with what the edit would change, storing nothing.
#[utoipa::path(put, path = "/api/v1/enterprises/{enterprise}/pbx-users/{id}", tag = "pbx users",
    params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "PBX user id"), DryRun,
        ("If-Match" = String, Header, description = "The ETag the user was read at")),
    request_body = PbxUserIn,
    responses((status = 200, body = PreviewOut, description = "dry_run=true: the changes the edit would make; nothing was changed"),
        (status = 202, body = PbxUserOut, headers(("ETag" = String))), (status = 404, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
    ApiQuery(dry_run): ApiQuery<DryRun>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PbxUserIn>,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let id = PbxUserId(id);
    let current = state.store.get_pbx_user(e.id, id).await?;
    let Some(version) = if_match(&headers)? else {
        return Err(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "If-Match required",
            "Send the ETag of the user as you read it in If-Match, so a change made meanwhile is not overwritten.",
        ));
    };
    check_version(Some(version), current.user.version)?;
    let form = body.form(&state, &e).await?;
    if dry_run.is_set() {
        let preview = state.engine.preview_save(e.id, &form, Some(id)).await?;
        return Ok(Json(PreviewOut::from(&preview)).into_response());
    }
    state
        .engine
        .save_pbx_user(e.id, &caller.actor(), &form, Some((id, version)))
        .await?;
    answer(&state, &e, id, StatusCode::ACCEPTED).await
}

/// The ⋮ menu's actions, by their path segment.
#[derive(Debug, Clone, Copy)]
enum Action {
    EnableCalling,
    DisableCalling,
    Disable,
    Enable,
    Repair,
}

async fn act(
    state: AppState,
    caller: Caller,
    enterprise: i64,
    id: i64,
    headers: HeaderMap,
    action: Action,
    dry_run: bool,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let id = PbxUserId(id);
    let current = state.store.get_pbx_user(e.id, id).await?;
    check_version(if_match(&headers)?, current.user.version)?;
    let actor = caller.actor();
    let engine = &state.engine;
    if dry_run {
        let preview = match action {
            Action::EnableCalling => engine.preview_set_calling(e.id, id, true).await?,
            Action::DisableCalling => engine.preview_set_calling(e.id, id, false).await?,
            Action::Repair => engine.preview_repair(e.id, id).await?,
            Action::Disable | Action::Enable => {
                return Err(Problem::field(
                    "dry_run",
                    "dry_run is offered for Save, Enable Calling, Disable Calling and Repair",
                ));
            }
        };
        return Ok(Json(PreviewOut::from(&preview)).into_response());
    }
    match action {
        Action::EnableCalling => drop(engine.set_calling(e.id, &actor, id, true).await?),
        Action::DisableCalling => drop(engine.set_calling(e.id, &actor, id, false).await?),
        Action::Disable => drop(engine.disable_user(e.id, &actor, id).await?),
        Action::Enable => drop(engine.enable_user(e.id, &actor, id).await?),
        Action::Repair => engine.repair_user(e.id, &actor, id).await?,
    }
    answer(&state, &e, id, StatusCode::ACCEPTED).await
}

macro_rules! action {
    ($name:ident, $action:ident, $segment:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = concat!("/api/v1/enterprises/{enterprise}/pbx-users/{id}/", $segment), tag = "pbx users",
            params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "PBX user id"),
                ("If-Match" = Option<String>, Header, description = "Only if the user is still at this ETag"),
                ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the first answer is kept for a day")),
            responses((status = 202, body = PbxUserOut, headers(("ETag" = String), ("Location" = String))),
                (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
            ApiQuery(dry_run): ApiQuery<DryRun>,
            headers: HeaderMap,
        ) -> Result<Response, Problem> {
            // Not offered here, but never ignored: a client asking for a dry run must not
            // have the change made.
            act(state, caller, enterprise, id, headers, Action::$action, dry_run.is_set()).await
        }
    };
    ($name:ident, $action:ident, $segment:literal, $doc:literal, dry_run) => {
        #[doc = $doc]
        #[doc = ""]
        #[doc = "With `dry_run=true`: answers 200 with what it would change in Teams and on the PBX, changing nothing."]
        #[utoipa::path(post, path = concat!("/api/v1/enterprises/{enterprise}/pbx-users/{id}/", $segment), tag = "pbx users",
            params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "PBX user id"), DryRun,
                ("If-Match" = Option<String>, Header, description = "Only if the user is still at this ETag"),
                ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the first answer is kept for a day")),
            responses((status = 200, body = PreviewOut, description = "dry_run=true: the changes it would make; nothing was changed"),
                (status = 202, body = PbxUserOut, headers(("ETag" = String), ("Location" = String))),
                (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
            ApiQuery(dry_run): ApiQuery<DryRun>,
            headers: HeaderMap,
        ) -> Result<Response, Problem> {
            act(state, caller, enterprise, id, headers, Action::$action, dry_run.is_set()).await
        }
    };
}

action!(
    enable_calling,
    EnableCalling,
    "enable-calling",
    "Enable Calling: assigns the number and policies in Teams (as a job).",
    dry_run
);
action!(
    disable_calling,
    DisableCalling,
    "disable-calling",
    "Disable Calling: removes the number and policies in Teams (as a job).",
    dry_run
);
action!(
    disable,
    Disable,
    "disable",
    "Disable User: pauses calling; the extension, number and Teams user stay reserved."
);
action!(enable, Enable, "enable", "Re-enables a disabled user.");
action!(
    repair,
    Repair,
    "repair",
    "Repair (drift) and Retry (failed): re-applies only what differs in Teams and makes sure the PBX device exists.",
    dry_run
);

/// Delete User (only a disabled user): frees the extension and number; removes the PBX device
/// only if Teamline created it.
#[utoipa::path(delete, path = "/api/v1/enterprises/{enterprise}/pbx-users/{id}", tag = "pbx users",
    params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "PBX user id"),
        ("If-Match" = Option<String>, Header, description = "Only if the user is still at this ETag")),
    responses((status = 200, body = PbxUserOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let id = PbxUserId(id);
    let current = state.store.get_pbx_user(e.id, id).await?;
    check_version(if_match(&headers)?, current.user.version)?;
    state.engine.delete_user(e.id, &caller.actor(), id).await?;
    answer(&state, &e, id, StatusCode::OK).await
}
