//! Save User: the engine validates and saves the user and queues the work; the form comes back
//! with every problem by field, or the Users page with a message saying what happens next.

use super::Submitted;
use super::form::{Target, page, user_id};
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use teamline_domain::enterprise::ConsentKind;
use teamline_engine::SaveError;

async fn save(
    state: &AppState,
    admin: &Admin,
    target: Target,
    submitted: Submitted,
) -> Result<Response, PageError> {
    let form = submitted.form();
    let editing = target.editing.is_some();
    match state
        .engine
        .save_pbx_user(admin.enterprise.id, &admin.actor(), &form, target.editing)
        .await
    {
        Ok(user) => {
            let name = state
                .store
                .get_pbx_user(admin.enterprise.id, user.id)
                .await
                .map(|i| i.display_name)
                .unwrap_or_default();
            let next = if admin.enterprise.consent(ConsentKind::UserSync) {
                "Teamline is configuring Teams now; the row below shows when it is done."
            } else {
                "The change waits for Microsoft consent: use Sync Teams Users on the Dashboard."
            };
            let done = if editing {
                format!(
                    "{name}'s changes are saved (extension {}, {}).",
                    user.spec.sip_user, user.spec.phone_number
                )
            } else {
                format!(
                    "{name} is set up on extension {} with {}.",
                    user.spec.sip_user, user.spec.phone_number
                )
            };
            admin.flash(format!("{done} {next}")).await?;
            Ok(Redirect::to("/users").into_response())
        }
        Err(SaveError::Fields(errors)) => {
            let page = page(
                state,
                admin,
                target,
                form,
                Some(&errors),
                None,
                submitted.phone_autofill,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(SaveError::Engine(e)) if e.is_not_found() => Err(PageError::NotFound),
        Err(SaveError::Engine(e)) => {
            let problem = match PageError::from(e) {
                PageError::Internal(detail) => {
                    tracing::error!(%detail, "saving a PBX user failed");
                    "Teamline could not save the user; nothing was changed. Try again.".to_owned()
                }
                other => other.info().detail,
            };
            let page = page(
                state,
                admin,
                target,
                form,
                None,
                Some(problem),
                submitted.phone_autofill,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

pub(super) async fn save_new(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<Response, PageError> {
    save(&state, &admin, Target::new_user(), submitted).await
}

pub(super) async fn save_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(submitted): Form<Submitted>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
    let version = loaded_version(&submitted.version, &item.display_name)?;
    let target = Target::edit(id, &item.display_name, version);
    save(&state, &admin, target, submitted).await
}

/// The version an Edit form was loaded at, from its hidden `version` field. Without it the
/// stale-version check could not work, so a missing or garbled value refuses the save instead
/// of comparing against whatever is stored now (which would overwrite a change made meanwhile).
fn loaded_version(raw: &str, display_name: &str) -> Result<i64, PageError> {
    let raw = raw.trim();
    raw.parse().map_err(|_| {
        let what = if raw.is_empty() {
            "is missing"
        } else {
            "is not a version number"
        };
        PageError::BadRequest(format!(
            "Teamline saved nothing: this Edit form does not say which version of {display_name}'s \
             settings it was loaded at (its hidden \"version\" field {what}), so saving it could \
             overwrite a change someone else made meanwhile. Open Edit for {display_name} again \
             from the Users page and repeat your change."
        ))
    })
}
