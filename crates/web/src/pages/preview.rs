//! Preview in the portal: before Save (SET UP PBX USER and Edit, the form's "Preview changes"
//! button, an htmx fragment), Enable Calling, Disable Calling and Repair (a confirmation page
//! each, whose button makes the change), the admin reads exactly what will change in
//! Microsoft Teams and on the PBX — the engine's preview, which reads and writes nothing.
//! [`ImportPreview`] renders a Bulk Upload's apply preview for the Bulk Upload page.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::setup::{Submitted, edit_target};
use crate::views::{Layout, Menu};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use teamline_domain::ids::PbxUserId;
use teamline_domain::preview::PbxStep;
use teamline_domain::teams_voice::VoiceStep;
use teamline_engine::{ChangePreview, RowPreview, SaveError};

/// The changes of one operation, in words.
pub struct ChangesView {
    pub title: String,
    pub teams: Vec<String>,
    pub pbx: Vec<String>,
    pub notes: Vec<String>,
    /// The form's problems, when it cannot be planned yet.
    pub problems: Vec<String>,
}

impl ChangesView {
    pub fn of(title: impl Into<String>, preview: &ChangePreview) -> Self {
        Self {
            title: title.into(),
            teams: preview.plan.teams.iter().map(VoiceStep::describe).collect(),
            pbx: preview.plan.pbx.iter().map(PbxStep::describe).collect(),
            notes: preview.notes.clone(),
            problems: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.teams.is_empty() && self.pbx.is_empty()
    }
}

/// The preview alone (the form's "Preview changes").
#[derive(Template, WebTemplate)]
#[template(path = "change_preview.html")]
pub struct ChangesFragment {
    pub changes: ChangesView,
}

/// The form's "Preview changes": the form as it is now, validated as Save validates it, then
/// planned as Save's jobs will run.
pub(crate) async fn save_preview(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Form(submitted): Form<Submitted>,
) -> Result<ChangesFragment, PageError> {
    let form = submitted.form();
    let editing = edit_target(&headers);
    let title = if editing.is_some() {
        "What Save Changes will change"
    } else {
        "What Save User will change"
    };
    let changes = match state
        .engine
        .preview_save(admin.enterprise.id, &form, editing)
        .await
    {
        Ok(preview) => ChangesView::of(title, &preview),
        Err(SaveError::Fields(errors)) => ChangesView {
            title: title.to_owned(),
            teams: Vec::new(),
            pbx: Vec::new(),
            notes: Vec::new(),
            problems: errors.iter().map(ToString::to_string).collect(),
        },
        Err(SaveError::Engine(e)) => return Err(PageError::from(e)),
    };
    Ok(ChangesFragment { changes })
}

/// An operation confirmed on its own page.
#[derive(Debug, Clone, Copy)]
enum Operation {
    EnableCalling,
    DisableCalling,
    Repair,
}

impl Operation {
    fn segment(self) -> &'static str {
        match self {
            Self::EnableCalling => "enable-calling",
            Self::DisableCalling => "disable-calling",
            Self::Repair => "repair",
        }
    }

    fn button(self) -> &'static str {
        match self {
            Self::EnableCalling => "Enable Calling",
            Self::DisableCalling => "Disable Calling",
            Self::Repair => "Repair",
        }
    }
}

/// What the confirmation page says about the user and the operation.
pub struct Confirmation {
    pub id: i64,
    pub name: String,
    pub extension: String,
    pub action: &'static str,
    pub button: &'static str,
    /// Cancel goes back where the operation is offered.
    pub back: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "user_confirm.html")]
pub struct ConfirmPage {
    pub layout: Layout,
    pub page: Confirmation,
    pub changes: ChangesView,
    pub csrf: String,
}

async fn confirm(
    state: AppState,
    admin: Admin,
    raw_id: &str,
    op: Operation,
) -> Result<ConfirmPage, PageError> {
    let id = raw_id
        .parse()
        .map(PbxUserId)
        .map_err(|_| PageError::NotFound)?;
    let e = admin.enterprise.id;
    let item = state.store.get_pbx_user(e, id).await?;
    let preview = match op {
        Operation::EnableCalling => state.engine.preview_set_calling(e, id, true).await?,
        Operation::DisableCalling => state.engine.preview_set_calling(e, id, false).await?,
        Operation::Repair => state.engine.preview_repair(e, id).await?,
    };
    let back = match op {
        Operation::Repair => format!("/users/{id}"),
        _ => "/users".to_owned(),
    };
    Ok(ConfirmPage {
        layout: admin.layout(Menu::Users),
        page: Confirmation {
            id: id.0,
            name: item.display_name.clone(),
            extension: item.user.spec.sip_user.to_string(),
            action: op.segment(),
            button: op.button(),
            back,
        },
        changes: ChangesView::of(
            format!("What {} will change for {}", op.button(), item.display_name),
            &preview,
        ),
        csrf: admin.csrf.clone(),
    })
}

pub(crate) async fn confirm_enable_calling(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<ConfirmPage, PageError> {
    confirm(state, admin, &id, Operation::EnableCalling).await
}

pub(crate) async fn confirm_disable_calling(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<ConfirmPage, PageError> {
    confirm(state, admin, &id, Operation::DisableCalling).await
}

pub(crate) async fn confirm_repair(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<ConfirmPage, PageError> {
    confirm(state, admin, &id, Operation::Repair).await
}

/// One row of a Bulk Upload's apply preview.
pub struct RowView {
    pub row: usize,
    pub upn: String,
    pub sip_user: String,
    /// The row's changes in a few words, for its summary line.
    pub headline: String,
    pub changes: ChangesView,
}

/// A Bulk Upload's apply preview, row by row: the rows of `Engine::preview_import`, shown on
/// the import's page ("Preview the changes") before Apply.
#[derive(Template, WebTemplate)]
#[template(path = "import_preview.html")]
pub struct ImportPreview {
    pub rows: Vec<RowView>,
    /// Rows previewed but not shown (a page of ten thousand rows is not read row by row).
    pub more_rows: usize,
    /// Over all rows, shown or not: users whose Teams settings change, devices created.
    pub users_changed_in_teams: usize,
    pub devices_created: usize,
}

impl ImportPreview {
    /// The first `shown` rows in detail, with totals over all of them.
    pub fn first(rows: &[RowPreview], shown: usize) -> Self {
        let plans = || rows.iter().filter_map(|r| r.outcome.as_ref().ok());
        Self {
            rows: rows.iter().take(shown).map(row_view).collect(),
            more_rows: rows.len().saturating_sub(shown),
            users_changed_in_teams: plans().filter(|p| !p.plan.teams.is_empty()).count(),
            devices_created: plans().map(|p| p.plan.pbx.len()).sum(),
        }
    }
}

fn row_view(r: &RowPreview) -> RowView {
    let changes = match &r.outcome {
        Ok(preview) => ChangesView::of(format!("Row {}", r.row), preview),
        Err(errors) => ChangesView {
            title: format!("Row {}", r.row),
            teams: Vec::new(),
            pbx: Vec::new(),
            notes: Vec::new(),
            problems: errors.iter().map(ToString::to_string).collect(),
        },
    };
    let headline = if !changes.problems.is_empty() {
        "no longer passes".to_owned()
    } else if changes.is_empty() {
        "nothing to change".to_owned()
    } else {
        format!(
            "{} in Teams, {} on the PBX",
            count(changes.teams.len()),
            count(changes.pbx.len())
        )
    };
    RowView {
        row: r.row,
        upn: r.upn.clone(),
        sip_user: r.sip_user.clone(),
        headline,
        changes,
    }
}

fn count(n: usize) -> String {
    match n {
        0 => "no change".to_owned(),
        1 => "1 change".to_owned(),
        n => format!("{n} changes"),
    }
}
