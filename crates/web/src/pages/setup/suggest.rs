//! Matching suggestions: the free extension whose name or e-mail on the PBX matches the chosen
//! Teams user, and the Teams user matching an extension chosen first. Each suggestion is a
//! "Use …" button next to its dropdown; nothing is chosen for the admin.

use super::Submitted;
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use teamline_domain::pbx_user::PbxLookup;
use teamline_engine::setup::{FormOptions, suggested_extension, suggested_teams_user};

/// The answer to a Teams User change: the SIP User's suggestion, and the Teams User's own
/// cleared (the admin has chosen).
#[derive(Template, WebTemplate)]
#[template(path = "setup_teams_user_changed.html")]
pub struct SuggestionFragment {
    pub s: Suggestion,
}

/// The suggestion under a dropdown (`field` is the dropdown's id).
pub struct Suggestion {
    pub field: &'static str,
    /// The option to choose and how it is described.
    pub offer: Option<(String, String)>,
    /// Rendered as an out-of-band swap (next to another answer).
    pub oob: bool,
}

impl Suggestion {
    pub fn none(field: &'static str, oob: bool) -> Self {
        Self {
            field,
            offer: None,
            oob,
        }
    }
}

async fn options(
    state: &AppState,
    admin: &Admin,
    submitted: &Submitted,
) -> Result<FormOptions, PageError> {
    state
        .engine
        .setup_form_options(admin.enterprise.id, submitted.location(), None)
        .await
        .map_err(PageError::from)
}

/// The Teams User changed: suggest the matching extension while no SIP User is chosen.
pub(super) async fn teams_user_changed(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<SuggestionFragment, PageError> {
    let mut s = Suggestion::none("sip_user", false);
    let teams_user = submitted.teams_user.trim();
    if teams_user.is_empty() || submitted.extension().is_some() {
        return Ok(SuggestionFragment { s });
    }
    let opts = options(&state, &admin, &submitted).await?;
    let (Some(user), PbxLookup::Known(list)) = (
        opts.teams_users.iter().find(|t| t.object_id == teams_user),
        &opts.extensions,
    ) else {
        return Ok(SuggestionFragment { s });
    };
    s.offer = suggested_extension(user, list).map(|x| {
        (
            x.extension.to_string(),
            format!("{} — {}", x.extension, x.name),
        )
    });
    Ok(SuggestionFragment { s })
}

/// The SIP User changed: the Teams user matching the extension, while none is chosen.
pub(super) async fn teams_user_for_extension(
    state: &AppState,
    admin: &Admin,
    submitted: &Submitted,
) -> Result<Suggestion, PageError> {
    let mut out = Suggestion::none("teams_user", true);
    let Some(ext) = submitted.extension() else {
        return Ok(out);
    };
    if !submitted.teams_user.trim().is_empty() {
        return Ok(out);
    }
    let opts = options(state, admin, submitted).await?;
    let PbxLookup::Known(list) = &opts.extensions else {
        return Ok(out);
    };
    out.offer = list
        .iter()
        .find(|x| x.extension == ext)
        .and_then(|x| suggested_teams_user(x, &opts.teams_users))
        .map(|u| {
            (
                u.object_id.clone(),
                format!("{} ({})", u.display_name, u.upn),
            )
        });
    Ok(out)
}
