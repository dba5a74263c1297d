//! Users: the PBX users of the enterprise by tab (Licensed / Disabled / Deleted), with search,
//! paging and the ⋮ Actions menu.

use super::user_list::{FILTERS, ListQuery, View};
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::is_htmx;
use crate::routes::{Routes, get, post};
use crate::views::{Layout, Menu};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::{PbxUserState, PushState};
use teamline_domain::teams_voice::PolicyType;
use teamline_store::{PbxUserListItem, UserCursor};

pub fn routes() -> Routes {
    Routes::new()
        .route("/users", get(list))
        .route("/users/{id}/row", get(row))
        .route(
            "/users/{id}/enable-calling",
            get(super::preview::confirm_enable_calling).post(enable_calling),
        )
        .route(
            "/users/{id}/disable-calling",
            get(super::preview::confirm_disable_calling).post(disable_calling),
        )
        .route("/users/{id}/retry", post(retry))
        .route("/users/{id}/disable", post(disable_user))
        .route("/users/{id}/enable", post(enable_user))
        .route("/users/{id}/delete", get(confirm_delete).post(delete_user))
}

/// How many times a row refreshes itself (every 2 s) before it waits for a reload: a change
/// waiting for consent or a long propagation should not poll forever.
const MAX_ROW_POLLS: u32 = 90;

/// Rows per page. Small enough to read, large enough that paging is rarely needed.
pub const PAGE_SIZE: u32 = 50;

/// A status badge: words and a colour class.
pub struct Badge {
    pub text: String,
    pub class: &'static str,
}

impl Badge {
    fn new(text: impl Into<String>, class: &'static str) -> Self {
        Self {
            text: text.into(),
            class,
        }
    }
}

pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub upn: String,
    pub extension: String,
    pub aor: String,
    pub phone: String,
    pub route: String,
    pub calling: Badge,
    /// Why the last push failed, or what is pending.
    pub calling_detail: Option<String>,
    pub microsoft: Badge,
    pub microsoft_detail: Vec<String>,
    pub flag: Option<String>,
    pub state: PbxUserState,
    pub calling_enabled: bool,
    pub push_state: PushState,
    /// For the row's forms (htmx also sends it as a header).
    pub csrf: String,
    /// How often this row has refreshed itself so far.
    pub poll: u32,
    /// The device handle's registration to the PBX, when the gateway reported one.
    pub registration: Option<super::registration::RegistrationCell>,
}

impl UserRow {
    pub fn from_item(item: &PbxUserListItem, csrf: &str) -> Self {
        let u = &item.user;
        let (calling, calling_detail) = calling_badge(
            u.state,
            u.calling_enabled,
            u.push_state,
            u.last_error.as_deref(),
        );
        let (microsoft, microsoft_detail) = match &item.observed {
            None => (Badge::new("Not read yet", "badge"), Vec::new()),
            Some(o) => {
                let mut detail = Vec::new();
                if !o.numbers.is_empty() {
                    detail.push(o.numbers.join(", "));
                }
                for p in [
                    PolicyType::OnlineVoiceRoutingPolicy,
                    PolicyType::TenantDialPlan,
                ] {
                    if let Some(name) = o.policies.get(&p) {
                        detail.push(format!(
                            "{}: {}",
                            p.label(),
                            name.as_deref().unwrap_or("Global")
                        ));
                    }
                }
                let badge = if o.enterprise_voice {
                    Badge::new("Enterprise voice on", "badge badge-ok")
                } else {
                    Badge::new("Enterprise voice off", "badge")
                };
                (badge, detail)
            }
        };
        Self {
            id: u.id.0,
            name: item.display_name.clone(),
            upn: item.upn.clone(),
            extension: u.spec.sip_user.to_string(),
            aor: format!("{}@{}", u.spec.sip_user, item.sip_domain),
            phone: u.spec.phone_number.to_string(),
            route: item.voice_route_name.clone(),
            calling,
            calling_detail,
            microsoft,
            microsoft_detail,
            flag: item.teams_user_flag.clone(),
            state: u.state,
            calling_enabled: u.calling_enabled,
            push_state: u.push_state,
            csrf: csrf.to_owned(),
            poll: 0,
            registration: None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.state == PbxUserState::Active
    }

    pub fn is_disabled(&self) -> bool {
        self.state == PbxUserState::Disabled
    }

    pub fn is_deleted(&self) -> bool {
        self.state == PbxUserState::Deleted
    }

    /// The last push failed: the row offers Retry.
    pub fn is_failed(&self) -> bool {
        !self.is_deleted() && self.push_state == PushState::Failed
    }

    /// A row whose change is on its way to Microsoft refreshes itself until it settles.
    pub fn polls(&self) -> bool {
        !self.is_deleted()
            && self.poll < MAX_ROW_POLLS
            && matches!(
                self.push_state,
                PushState::Pending | PushState::InProgress | PushState::Propagating
            )
    }

    pub fn next_poll(&self) -> u32 {
        self.poll + 1
    }
}

/// What the admin wants (calling on or off) combined with how far Microsoft is: a change
/// Microsoft accepted but still applies is "pending propagation", not a failure. A disabled or
/// deleted user's calling is off whatever was wanted before, so its badge never says Enabled.
fn calling_badge(
    state: PbxUserState,
    enabled: bool,
    push: PushState,
    last_error: Option<&str>,
) -> (Badge, Option<String>) {
    let on = enabled && state == PbxUserState::Active;
    let want = if on { "Enabled" } else { "Disabled" };
    match push {
        PushState::InSync if on => (Badge::new("Enabled", "badge badge-ok"), None),
        PushState::InSync if state == PbxUserState::Active => (Badge::new("Disabled", "badge"), None),
        PushState::InSync => (
            Badge::new("Off", "badge"),
            Some(format!(
                "The user is {}: calling is off in Teams.",
                state.as_str()
            )),
        ),
        PushState::Pending => (
            Badge::new(format!("{want} · pending sync"), "badge badge-warn"),
            Some("Waiting to be sent to Microsoft (Dashboard → Sync Teams Users).".to_owned()),
        ),
        PushState::InProgress => (
            Badge::new(format!("{want} · in progress"), "badge badge-info"),
            None,
        ),
        PushState::Propagating => (
            Badge::new(format!("{want} · pending propagation"), "badge badge-info"),
            Some("Microsoft accepted the change and is still applying it.".to_owned()),
        ),
        PushState::Failed => (
            Badge::new(format!("{want} · failed"), "badge badge-bad"),
            last_error.map(str::to_owned),
        ),
        PushState::Drift => (
            Badge::new("Changed in Teams", "badge badge-warn"),
            Some("Microsoft holds a different configuration than Teamline (changed outside Teamline).".to_owned()),
        ),
    }
}

pub struct RouteOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

pub struct TabLink {
    pub label: &'static str,
    /// How many users the tab holds (tabs only).
    pub count: Option<u64>,
    pub href: String,
    pub current: bool,
}

/// The table part of the page, also answered alone to htmx (search as you type, paging).
pub struct UsersTable {
    pub view: View,
    pub rows: Vec<UserRow>,
    pub total: u64,
    pub first: u64,
    pub last: u64,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub csrf: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub tabs: Vec<TabLink>,
    pub filters: Vec<TabLink>,
    /// The voice route filter's choices.
    pub routes: Vec<RouteOption>,
    pub t: UsersTable,
    pub notice: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "users_table.html")]
pub struct UsersTableFragment {
    pub t: UsersTable,
}

pub async fn table(
    state: &AppState,
    admin: &Admin,
    query: &ListQuery,
) -> Result<UsersTable, PageError> {
    let mut view = View::of(query);
    let fetch = |view: &View, page: u32| {
        // With a cursor the page starts at it; an old link without one counts rows instead.
        let offset = match view.cursor {
            Some(_) => 0,
            None => (page - 1).saturating_mul(PAGE_SIZE),
        };
        let query = view.query(PAGE_SIZE, offset);
        async move {
            state
                .store
                .list_pbx_users(admin.enterprise.id, &query)
                .await
        }
    };
    let mut page = view.page;
    let mut result = fetch(&view, page).await?;
    // A page past the end (an old link, users removed since) shows the last page instead;
    // a cursor whose neighbours are gone starts again from the first page.
    let last_page = u32::try_from(result.total.div_ceil(u64::from(PAGE_SIZE)))
        .unwrap_or(u32::MAX)
        .max(1);
    if result.items.is_empty() && (page > last_page || view.cursor.is_some()) {
        page = if view.cursor.is_some() { 1 } else { last_page };
        view.cursor = None;
        result = fetch(&view, page).await?;
    }
    // A previous page that reached the top is the first page, whatever its number said.
    if matches!(view.cursor, Some(UserCursor::Before(_)))
        && (result.items.len() as u64) < u64::from(PAGE_SIZE)
    {
        page = 1;
        view.cursor = None;
        result = fetch(&view, page).await?;
    }
    page = page.min(last_page);
    view.page = page;
    let offset = u64::from(page - 1) * u64::from(PAGE_SIZE);
    let shown = result.items.len() as u64;
    let (first, last) = if shown == 0 {
        (0, 0)
    } else {
        (offset + 1, (offset + shown).min(result.total))
    };
    let ids: Vec<PbxUserId> = result.items.iter().map(|i| i.user.id).collect();
    let mut registrations =
        super::registration::cells(&state.store, admin.enterprise.id, &ids).await?;
    Ok(UsersTable {
        rows: result
            .items
            .iter()
            .map(|i| {
                let mut r = UserRow::from_item(i, &admin.csrf);
                r.registration = registrations.remove(&i.user.id.0);
                r
            })
            .collect(),
        total: result.total,
        first,
        last,
        prev_href: match (page, result.items.first()) {
            (1, _) | (_, None) => None,
            (2, _) => Some(view.href(1)),
            (_, Some(i)) => Some(view.prev_href(i.user.id)),
        },
        next_href: result
            .items
            .last()
            .filter(|_| last < result.total)
            .map(|i| view.next_href(i.user.id)),
        view,
        csrf: admin.csrf.clone(),
    })
}

async fn list(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let t = table(&state, &admin, &query).await?;
    // Search as you type and paging swap the table only.
    if headers.get("hx-target").is_some_and(|v| v == "users-table") {
        return Ok(UsersTableFragment { t }.into_response());
    }
    let [active, disabled, deleted] = state.store.tab_counts(admin.enterprise.id).await?;
    let v = &t.view;
    let tabs = [
        ("Licensed", "licensed", active),
        ("Disabled", "disabled", disabled),
        ("Deleted", "deleted", deleted),
    ]
    .into_iter()
    .map(|(label, key, n)| TabLink {
        label,
        count: Some(n),
        href: v.with_tab(key).href(1),
        current: key == v.tab,
    })
    .collect();
    let filters = std::iter::once(("", "All"))
        .chain(FILTERS)
        .map(|(key, label)| TabLink {
            label,
            count: None,
            href: v.with_state(key).href(1),
            current: key == v.state,
        })
        .collect();
    let routes = state
        .store
        .list_voice_routes(admin.enterprise.id)
        .await?
        .into_iter()
        .map(|r| RouteOption {
            selected: r.id.to_string() == v.route,
            id: r.id.to_string(),
            name: r.name.to_string(),
        })
        .collect();
    Ok(UsersPage {
        layout: admin.layout(Menu::Users),
        tabs,
        filters,
        routes,
        t,
        notice: admin.take_flash().await?,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "user_row.html")]
pub struct UserRowFragment {
    pub r: UserRow,
}

/// A user id from the path; anything that is not one of this enterprise's users is "not found".
pub(super) fn user_id(raw: &str) -> Result<PbxUserId, PageError> {
    raw.parse().map(PbxUserId).map_err(|_| PageError::NotFound)
}

async fn row_of(
    state: &AppState,
    admin: &Admin,
    id: PbxUserId,
    poll: u32,
) -> Result<UserRowFragment, PageError> {
    let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
    let mut r = UserRow::from_item(&item, &admin.csrf);
    r.poll = poll;
    r.registration = super::registration::cells(&state.store, admin.enterprise.id, &[id])
        .await?
        .remove(&id.0);
    Ok(UserRowFragment { r })
}

#[derive(Deserialize)]
struct RowQuery {
    #[serde(default)]
    poll: u32,
}

async fn row(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(q): Query<RowQuery>,
) -> Result<UserRowFragment, PageError> {
    row_of(&state, &admin, user_id(&id)?, q.poll).await
}

fn tab_of(state: PbxUserState) -> &'static str {
    match state {
        PbxUserState::Active => "licensed",
        PbxUserState::Disabled => "disabled",
        PbxUserState::Deleted => "deleted",
    }
}

/// After an action: htmx gets the changed row, a plain form goes back to the list with a message.
async fn after_action(
    state: &AppState,
    admin: &Admin,
    headers: &HeaderMap,
    id: PbxUserId,
    message: String,
    back_to: PbxUserState,
) -> Result<Response, PageError> {
    if is_htmx(headers) {
        return Ok(row_of(state, admin, id, 0).await?.into_response());
    }
    admin.flash(message).await?;
    Ok(Redirect::to(&format!("/users?tab={}", tab_of(back_to))).into_response())
}

async fn set_calling(
    state: AppState,
    admin: Admin,
    headers: HeaderMap,
    raw_id: String,
    enabled: bool,
) -> Result<Response, PageError> {
    let id = user_id(&raw_id)?;
    let name = state
        .store
        .get_pbx_user(admin.enterprise.id, id)
        .await?
        .display_name;
    let user = state
        .engine
        .set_calling(admin.enterprise.id, &admin.actor(), id, enabled)
        .await?;
    let verb = if enabled { "Enabling" } else { "Disabling" };
    after_action(
        &state,
        &admin,
        &headers,
        id,
        format!(
            "{verb} calling for {name} (extension {}).",
            user.spec.sip_user
        ),
        user.state,
    )
    .await
}

async fn enable_calling(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_calling(state, admin, headers, id, true).await
}

async fn disable_calling(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_calling(state, admin, headers, id, false).await
}

/// Retry a user whose last push failed: plans again from what Microsoft holds now and sends
/// only what is missing (the PBX device is checked too).
async fn retry(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
    state
        .engine
        .repair_user(admin.enterprise.id, &admin.actor(), id)
        .await?;
    after_action(
        &state,
        &admin,
        &headers,
        id,
        format!("Retrying {} in Teams.", item.display_name),
        item.user.state,
    )
    .await
}

async fn disable_user(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let name = state
        .store
        .get_pbx_user(admin.enterprise.id, id)
        .await?
        .display_name;
    let user = state
        .engine
        .disable_user(admin.enterprise.id, &admin.actor(), id)
        .await?;
    after_action(
        &state,
        &admin,
        &headers,
        id,
        format!(
            "{name} is disabled: calling is paused and extension {} stays reserved.",
            user.spec.sip_user
        ),
        PbxUserState::Active,
    )
    .await
}

async fn enable_user(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let name = state
        .store
        .get_pbx_user(admin.enterprise.id, id)
        .await?
        .display_name;
    let user = state
        .engine
        .enable_user(admin.enterprise.id, &admin.actor(), id)
        .await?;
    after_action(
        &state,
        &admin,
        &headers,
        id,
        format!(
            "{name} is active again on extension {}.",
            user.spec.sip_user
        ),
        PbxUserState::Disabled,
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "user_delete.html")]
pub struct ConfirmDeletePage {
    pub layout: Layout,
    pub r: UserRow,
}

async fn confirm_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let item = state
        .store
        .get_pbx_user(admin.enterprise.id, user_id(&id)?)
        .await?;
    if item.user.state != PbxUserState::Disabled {
        return Err(PageError::BadRequest(format!(
            "{} is not disabled: only a disabled user can be deleted. Use Disable User first.",
            item.display_name
        )));
    }
    Ok(ConfirmDeletePage {
        r: UserRow::from_item(&item, &admin.csrf),
        layout: admin.layout(Menu::Users),
    }
    .into_response())
}

async fn delete_user(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
    let user = state
        .engine
        .delete_user(admin.enterprise.id, &admin.actor(), id)
        .await?;
    admin
        .flash(format!(
            "{} was deleted: extension {} and number {} are free again.",
            item.display_name, user.spec.sip_user, user.spec.phone_number
        ))
        .await?;
    Ok(Redirect::to("/users?tab=disabled").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_propagation_is_not_a_failure() {
        let active = PbxUserState::Active;
        let (b, _) = calling_badge(active, true, PushState::Propagating, None);
        assert_eq!(b.text, "Enabled · pending propagation");
        assert!(!b.class.contains("badge-bad"));
        let (b, detail) = calling_badge(active, true, PushState::Failed, Some("number in use"));
        assert!(b.class.contains("badge-bad"));
        assert_eq!(detail.as_deref(), Some("number in use"));
    }
}
