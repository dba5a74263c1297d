//! The SET UP PBX USER page: the form's values, its choices (from the engine) and the errors by
//! field; the whole form again when another PBX location is chosen.

use super::devices::DevicesBlock;
use super::phone::PhoneField;
use super::{Opt, Submitted, edit_target};
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::views::{Layout, Menu};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use teamline_domain::FieldErrors;
use teamline_domain::ids::{PbxLocationId, PbxUserId};
use teamline_domain::pbx_user::{PbxLookup, PbxUserForm, fields};
use teamline_engine::setup::FormOptions;

/// One input of the form: its name, the label the domain uses for its errors, and its value.
pub(super) struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub value: fn(&PbxUserForm) -> &str,
}

/// A [`Field`] whose input name is the form's field name.
macro_rules! field {
    ($name:ident, $label:ident) => {
        Field {
            name: stringify!($name),
            label: fields::$label,
            value: |f| &f.$name,
        }
    };
}

/// The form's inputs that can have an error of their own.
pub(super) const FIELDS: [Field; 10] = [
    field!(pbx_location, PBX_LOCATION),
    field!(voice_route, VOICE_ROUTE),
    field!(teams_user, TEAMS_USER),
    field!(sip_user, SIP_USER),
    field!(phone_number, PHONE_NUMBER),
    field!(caller_name_policy, CALLER_NAME_POLICY),
    field!(caller_name, CALLER_NAME),
    field!(forwarded_caller_id, FORWARDED_CALLER_ID),
    field!(device, USER_DEVICES),
    field!(tag, USER_TAG),
];

/// The values to show and the choices to offer.
pub struct FormView {
    pub form: PbxUserForm,
    pub locations: Vec<Opt>,
    pub routes: Vec<Opt>,
    pub teams_users: Vec<Opt>,
    pub extensions: Vec<Opt>,
    /// Why the SIP User list is empty (PBX unreachable, no location chosen).
    pub extensions_problem: Option<String>,
    pub errors: Vec<(&'static str, String)>,
    /// Problems that are not about one field (e.g. the PBX failed while saving).
    pub general_errors: Vec<String>,
}

impl FormView {
    fn build(form: PbxUserForm, options: &FormOptions) -> Self {
        let opt = |value: String, label: String, current: &str| Opt {
            selected: value == current.trim(),
            value,
            label,
        };
        let mut form = form;
        if form.pbx_location.trim().is_empty()
            && let [only] = options.locations.as_slice()
        {
            form.pbx_location = only.id.to_string();
        }
        let locations = options
            .locations
            .iter()
            .map(|l| {
                opt(
                    l.id.to_string(),
                    l.settings.name.as_str().to_owned(),
                    &form.pbx_location,
                )
            })
            .collect();
        let routes = options
            .voice_routes
            .iter()
            .map(|r| {
                opt(
                    r.id.to_string(),
                    r.name.as_str().to_owned(),
                    &form.voice_route,
                )
            })
            .collect();
        let teams_users = options
            .teams_users
            .iter()
            .map(|t| {
                opt(
                    t.object_id.clone(),
                    format!("{} ({})", t.display_name, t.upn),
                    &form.teams_user,
                )
            })
            .collect();
        let (extensions, extensions_problem) = match &options.extensions {
            PbxLookup::Known(list) => (
                list.iter()
                    .map(|x| {
                        let held = x
                            .holder
                            .as_ref()
                            .map(|h| format!(" · set up for {}", h.display_name))
                            .unwrap_or_default();
                        opt(
                            x.extension.to_string(),
                            format!("{} — {}{held}", x.extension, x.name),
                            &form.sip_user,
                        )
                    })
                    .collect(),
                None,
            ),
            PbxLookup::Unavailable(why) => (
                Vec::new(),
                Some(format!(
                    "The PBX's extensions could not be read: {why}. Try again, or check the PBX settings with Test connection."
                )),
            ),
            PbxLookup::NotAsked => (
                Vec::new(),
                Some("Choose the PBX location first.".to_owned()),
            ),
        };
        Self {
            form,
            locations,
            routes,
            teams_users,
            extensions,
            extensions_problem,
            errors: Vec::new(),
            general_errors: Vec::new(),
        }
    }

    fn with_errors(mut self, errors: &FieldErrors) -> Self {
        for e in errors.iter() {
            match FIELDS.iter().find(|f| f.label == e.field) {
                Some(f) if !self.errors.iter().any(|(n, _)| *n == f.name) => {
                    self.errors.push((f.name, e.message.clone()));
                }
                Some(_) => {}
                None => self.general_errors.push(e.to_string()),
            }
        }
        self
    }

    /// The error next to the input `name`.
    pub fn error(&self, name: &str) -> &str {
        self.errors
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, m)| m.as_str())
    }

    pub fn invalid(&self, name: &str) -> bool {
        !self.error(name).is_empty()
    }

    pub fn error_count(&self) -> usize {
        self.errors.len() + self.general_errors.len()
    }

    pub fn other_caller_name(&self) -> bool {
        self.form
            .caller_name_policy
            .trim()
            .eq_ignore_ascii_case("other")
    }

    pub fn original_caller(&self) -> bool {
        self.form.forwarded_caller_id.trim() == "original_caller"
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
pub struct SetupPage {
    pub layout: Layout,
    pub title: String,
    pub action: String,
    pub version: String,
    pub v: FormView,
    pub phone: PhoneField,
    pub devices: DevicesBlock,
    pub csrf: String,
}

impl SetupPage {
    pub fn editing(&self) -> bool {
        !self.version.is_empty()
    }
}

/// The whole form, for a PBX location change.
#[derive(Template, WebTemplate)]
#[template(path = "setup_form.html")]
pub struct SetupFormFragment {
    pub action: String,
    pub version: String,
    pub v: FormView,
    pub phone: PhoneField,
    pub devices: DevicesBlock,
    pub csrf: String,
}

impl SetupFormFragment {
    pub fn editing(&self) -> bool {
        !self.version.is_empty()
    }
}

/// Where the form posts to and what it is called.
pub(super) struct Target {
    pub title: String,
    pub action: String,
    /// The user being edited and the version the form was loaded at.
    pub editing: Option<(PbxUserId, i64)>,
}

impl Target {
    pub fn new_user() -> Self {
        Self {
            title: "SET UP PBX USER".into(),
            action: "/users/new".into(),
            editing: None,
        }
    }

    pub fn edit(id: PbxUserId, display_name: &str, version: i64) -> Self {
        Self {
            title: format!("Edit PBX user — {display_name}"),
            action: format!("/users/{id}/edit"),
            editing: Some((id, version)),
        }
    }
}

async fn options(
    state: &AppState,
    admin: &Admin,
    form: &PbxUserForm,
    editing: Option<PbxUserId>,
) -> Result<FormOptions, PageError> {
    let location = form.pbx_location.trim().parse().ok().map(PbxLocationId);
    state
        .engine
        .setup_form_options(admin.enterprise.id, location, editing)
        .await
        .map_err(PageError::from)
}

pub(super) async fn page(
    state: &AppState,
    admin: &Admin,
    target: Target,
    form: PbxUserForm,
    errors: Option<&FieldErrors>,
    general: Option<String>,
    autofill: String,
) -> Result<SetupPage, PageError> {
    let opts = options(state, admin, &form, target.editing.map(|(id, _)| id)).await?;
    let mut v = FormView::build(form, &opts);
    if let Some(errors) = errors {
        v = v.with_errors(errors);
    }
    v.general_errors.extend(general);
    let phone = PhoneField {
        value: v.form.phone_number.clone(),
        autofill,
        error: v.error("phone_number").to_owned(),
        oob: false,
    };
    let devices = DevicesBlock::closed(
        v.form.device.clone(),
        v.form.sip_user.clone(),
        v.error("device").to_owned(),
    );
    Ok(SetupPage {
        layout: admin.layout(Menu::Users),
        title: target.title,
        action: target.action,
        version: target
            .editing
            .map(|(_, version)| version.to_string())
            .unwrap_or_default(),
        v,
        phone,
        devices,
        csrf: admin.csrf.clone(),
    })
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<SetupPage, PageError> {
    page(
        &state,
        &admin,
        Target::new_user(),
        PbxUserForm::new_with_defaults(),
        None,
        None,
        String::new(),
    )
    .await
}

pub(super) fn user_id(raw: &str) -> Result<PbxUserId, PageError> {
    raw.parse().map(PbxUserId).map_err(|_| PageError::NotFound)
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<SetupPage, PageError> {
    let id = user_id(&id)?;
    let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
    let target = Target::edit(id, &item.display_name, item.user.version);
    page(
        &state,
        &admin,
        target,
        PbxUserForm::from_spec(&item.user.spec),
        None,
        None,
        String::new(),
    )
    .await
}

/// Another PBX location was chosen: the whole form again, with that location's extensions.
pub(super) async fn refresh(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Form(submitted): Form<Submitted>,
) -> Result<SetupFormFragment, PageError> {
    let mut form = submitted.form();
    form.sip_user.clear();
    form.device.clear();
    let version = submitted.version.clone();
    let editing = edit_target(&headers);
    let opts = options(&state, &admin, &form, editing).await?;
    let v = FormView::build(form, &opts);
    Ok(SetupFormFragment {
        action: editing.map_or_else(|| "/users/new".to_owned(), |id| format!("/users/{id}/edit")),
        version,
        phone: PhoneField {
            value: v.form.phone_number.clone(),
            autofill: submitted.phone_autofill,
            error: String::new(),
            oob: false,
        },
        devices: DevicesBlock::closed(String::new(), String::new(), String::new()),
        v,
        csrf: admin.csrf.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_land_next_to_their_inputs() {
        let mut errors = FieldErrors::new();
        errors.push(teamline_domain::FieldError::new(
            fields::SIP_USER,
            "held by Adele Vance",
        ));
        errors.push(teamline_domain::FieldError::new("Something Else", "broken"));
        let v = FormView {
            form: PbxUserForm::default(),
            locations: vec![],
            routes: vec![],
            teams_users: vec![],
            extensions: vec![],
            extensions_problem: None,
            errors: vec![],
            general_errors: vec![],
        }
        .with_errors(&errors);
        assert_eq!(v.error("sip_user"), "held by Adele Vance");
        assert!(v.invalid("sip_user") && !v.invalid("phone_number"));
        assert_eq!(v.general_errors, vec!["Something Else: broken".to_owned()]);
    }
}
