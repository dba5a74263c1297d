//! Move to another person: the extension of a PBX user, with its number, device and settings,
//! goes to another Teams user. The admin chooses the person, then confirms a page that says
//! exactly what happens, in order (calling is disabled for the current user first).

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::routes::{Routes, get};
use crate::views::{Layout, Menu};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::fields;
use teamline_engine::SaveError;
use teamline_store::{PbxUserListItem, TeamsUserQuery};

pub fn routes() -> Routes {
    Routes::new().route("/users/{id}/move", get(page).post(move_user))
}

/// One person the extension can go to.
pub struct Person {
    pub object_id: String,
    pub label: String,
    pub selected: bool,
}

/// The user whose extension moves, as the page describes it.
pub struct Current {
    pub id: i64,
    pub name: String,
    pub upn: String,
    pub extension: String,
    pub number: String,
    pub device: String,
    pub route: String,
    pub version: i64,
}

impl Current {
    fn of(item: &PbxUserListItem) -> Self {
        let spec = &item.user.spec;
        Self {
            id: item.user.id.0,
            name: item.display_name.clone(),
            upn: item.upn.clone(),
            extension: spec.sip_user.to_string(),
            number: spec.phone_number.to_string(),
            device: spec.device.to_string(),
            route: item.voice_route_name.clone(),
            version: item.user.version,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "user_move.html")]
pub struct MovePage {
    pub layout: Layout,
    pub current: Current,
    pub people: Vec<Person>,
    /// The chosen person, once chosen: the page then asks to confirm.
    pub to: Option<Person>,
    pub error: Option<String>,
    pub csrf: String,
}

#[derive(Deserialize, Default)]
struct MoveQuery {
    #[serde(default)]
    to: String,
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    version: String,
}

fn user_id(raw: &str) -> Result<PbxUserId, PageError> {
    raw.parse().map(PbxUserId).map_err(|_| PageError::NotFound)
}

async fn render(
    state: &AppState,
    admin: &Admin,
    item: &PbxUserListItem,
    to: &str,
    error: Option<String>,
) -> Result<MovePage, PageError> {
    if !item.user.state.reserves() {
        return Err(PageError::BadRequest(format!(
            "{} is deleted: a deleted user has no extension to move.",
            item.display_name
        )));
    }
    let eligible = state
        .store
        .list_teams_users(
            admin.enterprise.id,
            &TeamsUserQuery {
                eligible_unpaired_only: true,
                limit: 100_000,
                ..Default::default()
            },
        )
        .await?
        .items;
    let people: Vec<Person> = eligible
        .into_iter()
        .map(|t| Person {
            selected: t.object_id == to,
            label: format!("{} ({})", t.display_name, t.upn),
            object_id: t.object_id,
        })
        .collect();
    let chosen = people.iter().find(|p| p.selected).map(|p| Person {
        object_id: p.object_id.clone(),
        label: p.label.clone(),
        selected: true,
    });
    Ok(MovePage {
        layout: admin.layout(Menu::Users),
        current: Current::of(item),
        to: if error.is_some() { None } else { chosen },
        people,
        error,
        csrf: admin.csrf.clone(),
    })
}

async fn page(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(q): Query<MoveQuery>,
) -> Result<MovePage, PageError> {
    let item = state
        .store
        .get_pbx_user(admin.enterprise.id, user_id(&id)?)
        .await?;
    let error = (!q.to.trim().is_empty()
        && !q.to.trim().eq(item.user.spec.teams_user_object_id.as_str())
        && state
            .store
            .get_teams_user(admin.enterprise.id, q.to.trim())
            .await?
            .is_none())
    .then(|| "Choose one of the people in the list.".to_owned());
    render(&state, &admin, &item, q.to.trim(), error).await
}

async fn move_user(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
    let version = form.version.trim().parse().map_err(|_| {
        PageError::BadRequest("The form is incomplete: open Move to another person again.".into())
    })?;
    match state
        .engine
        .move_pbx_user(admin.enterprise.id, &admin.actor(), id, version, &form.to)
        .await
    {
        Ok((old, new)) => {
            let to = state
                .store
                .get_pbx_user(admin.enterprise.id, new.id)
                .await?
                .display_name;
            admin
                .flash(format!(
                    "Extension {} is moving from {} to {to}: Teamline disables calling for {} in Teams first, then sets up {to} with {}.",
                    old.spec.sip_user, item.display_name, item.display_name, new.spec.phone_number
                ))
                .await?;
            Ok(Redirect::to("/users").into_response())
        }
        Err(SaveError::Fields(errors)) => {
            let message = errors
                .iter()
                .map(|e| {
                    if e.field == fields::TEAMS_USER {
                        e.message.clone()
                    } else {
                        e.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            let page = render(&state, &admin, &item, &form.to, Some(message)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(SaveError::Engine(e)) => Err(e.into()),
    }
}
