//! Validation as the admin types.

use super::form::FIELDS;
use super::{Submitted, edit_target};
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use teamline_domain::FieldErrors;
use teamline_engine::SaveError;

/// Each field's error line, swapped in out of band.
#[derive(Template, WebTemplate)]
#[template(path = "setup_field_errors.html")]
pub struct FieldErrorLines {
    pub lines: Vec<FieldErrorLine>,
}

/// The error line of the input `name` (empty when the field is fine or not reached yet).
pub struct FieldErrorLine {
    pub name: &'static str,
    pub message: String,
}

/// Validation as the admin types: the errors of the fields that hold a value (or that the
/// admin just left), as out-of-band swaps of each field's error line. A field still empty is
/// only reported on Save User.
pub(super) async fn validate(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Form(submitted): Form<Submitted>,
) -> Result<FieldErrorLines, PageError> {
    let form = submitted.form();
    let editing = edit_target(&headers);
    let errors = match state
        .engine
        .validate_pbx_user(admin.enterprise.id, &form, editing)
        .await
    {
        Ok(_) => FieldErrors::new(),
        Err(SaveError::Fields(errors)) => errors,
        Err(SaveError::Engine(e)) => return Err(PageError::from(e)),
    };
    let trigger = headers
        .get("hx-trigger-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let lines = FIELDS
        .iter()
        .map(|field| {
            let shown = !(field.value)(&form).trim().is_empty() || trigger == field.name;
            let message = match errors.for_field(field.label) {
                Some(message) if shown => message.to_owned(),
                _ => String::new(),
            };
            FieldErrorLine {
                name: field.name,
                message,
            }
        })
        .collect();
    Ok(FieldErrorLines { lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_escaped() {
        let html = FieldErrorLines {
            lines: vec![FieldErrorLine {
                name: "tag",
                message: r#"'<b>' & "x" is not allowed"#.to_owned(),
            }],
        }
        .render()
        .unwrap();
        let (line, rest) = html.split_once("</p>").unwrap();
        assert!(
            line.starts_with(r#"<p class="field-error" id="error-tag" hx-swap-oob="true">"#)
                && rest.is_empty(),
            "{html}"
        );
        let message = line.split_once('>').unwrap().1;
        assert!(
            !message.contains(['<', '>', '"', '\'']) && message.ends_with("is not allowed"),
            "{html}"
        );
    }
}
