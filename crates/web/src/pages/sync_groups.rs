//! Manage User Groups: the Microsoft groups whose members Teamline syncs. Forced after the
//! first consent (the Dashboard sends the admin here while none is chosen); Microsoft's
//! organisation-wide groups ("All Company") are refused with the fix.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::routes::{Routes, get};
use crate::views::{Layout, Menu};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use teamline_engine::registration::GroupOption;

pub fn routes() -> Routes {
    Routes::new().route("/groups", get(page).post(save))
}

#[derive(Template, WebTemplate)]
#[template(path = "sync_groups.html")]
struct GroupsPage {
    layout: Layout,
    groups: Vec<GroupOption>,
    errors: Vec<String>,
    notice: Option<String>,
    first_time: bool,
}

async fn render(
    state: &AppState,
    admin: &Admin,
    chosen: Option<&[String]>,
    errors: Vec<String>,
) -> Result<GroupsPage, PageError> {
    let mut groups = state.engine.sync_group_options(admin.enterprise.id).await?;
    let first_time = !groups.iter().any(|g| g.selected);
    if let Some(chosen) = chosen {
        for g in &mut groups {
            g.selected = chosen.iter().any(|c| c.eq_ignore_ascii_case(&g.id));
        }
    }
    Ok(GroupsPage {
        layout: admin.layout(Menu::Dashboard),
        groups,
        errors,
        notice: admin.take_flash().await?,
        first_time,
    })
}

async fn page(State(state): State<AppState>, admin: Admin) -> Result<GroupsPage, PageError> {
    render(&state, &admin, None, Vec::new()).await
}

async fn save(
    State(state): State<AppState>,
    admin: Admin,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let chosen: Vec<String> = fields
        .into_iter()
        .filter(|(k, _)| k == "group")
        .map(|(_, v)| v)
        .collect();
    match state
        .engine
        .choose_sync_groups(admin.enterprise.id, &chosen, &admin.actor())
        .await?
    {
        Ok(()) => {
            admin
                .flash("Sync groups saved: Teamline is syncing their members now.")
                .await?;
            Ok(Redirect::to("/dashboard").into_response())
        }
        Err(errors) => {
            let errors = errors.iter().map(|e| e.message.clone()).collect();
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&state, &admin, Some(&chosen), errors).await?,
            )
                .into_response())
        }
    }
}
