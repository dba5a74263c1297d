//! SET UP PBX USER (and Edit): the form of the seed article, with the same labels and buttons.
//!
//! The dropdowns come from the engine (the enterprise's PBX locations and voice routes, the
//! eligible synced Teams users, the PBX's live extension list). While the admin types, htmx
//! asks the engine to validate and shows each problem next to its field; choosing the SIP
//! User pre-fills the Phone Number and resets User Devices; Add New Device lists the SIP
//! user's devices with SELECT buttons and offers to create the `tm` handle when it is missing.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::views::{Layout, Menu};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use teamline_domain::FieldErrors;
use teamline_domain::device::DeviceAuthId;
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::ids::{PbxLocationId, PbxUserId};
use teamline_domain::pbx_user::{PbxLookup, PbxUserForm, fields};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::Extension;
use teamline_engine::SaveError;
use teamline_engine::setup::FormOptions;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users/new", get(new_form).post(save_new))
        .route("/users/{id}/edit", get(edit_form).post(save_edit))
        .route("/users/form/refresh", post(refresh))
        .route("/users/form/validate", post(validate))
        .route("/users/form/sip-user", post(sip_user_changed))
        .route("/users/form/phone-options", post(phone_options))
        .route("/users/form/devices", post(list_devices))
        .route("/users/form/devices/select", post(select_device))
        .route("/users/form/devices/create", post(create_device))
}

/// The form's inputs by name, with the label the domain uses for each field's errors.
const FIELDS: [(&str, &str); 10] = [
    ("pbx_location", fields::PBX_LOCATION),
    ("voice_route", fields::VOICE_ROUTE),
    ("teams_user", fields::TEAMS_USER),
    ("sip_user", fields::SIP_USER),
    ("phone_number", fields::PHONE_NUMBER),
    ("caller_name_policy", fields::CALLER_NAME_POLICY),
    ("caller_name", fields::CALLER_NAME),
    ("forwarded_caller_id", fields::FORWARDED_CALLER_ID),
    ("device", fields::USER_DEVICES),
    ("tag", fields::USER_TAG),
];

/// The form as the browser posts it. Every value is text, so nothing the admin typed is lost
/// to a parse error: the domain's validation reports problems by field instead.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Submitted {
    pub pbx_location: String,
    pub voice_route: String,
    pub teams_user: String,
    pub sip_user: String,
    pub phone_number: String,
    /// Checkboxes are absent when unchecked.
    pub use_teams_voicemail: Option<String>,
    pub caller_name_policy: String,
    pub caller_name: String,
    pub forwarded_caller_id: String,
    pub assign_dial_plan: Option<String>,
    pub device: String,
    pub tag: String,
    /// Edit: the version the form was loaded at.
    pub version: String,
    /// The number Teamline filled in after the SIP User was chosen: replaced when the SIP User
    /// changes, unlike a number the admin typed.
    pub phone_autofill: String,
    pub emergency_address: String,
    /// SELECT: the device chosen.
    pub choose: String,
}

impl Submitted {
    pub fn form(&self) -> PbxUserForm {
        PbxUserForm {
            pbx_location: self.pbx_location.clone(),
            voice_route: self.voice_route.clone(),
            teams_user: self.teams_user.clone(),
            sip_user: self.sip_user.clone(),
            phone_number: self.phone_number.clone(),
            use_teams_voicemail: self.use_teams_voicemail.is_some(),
            caller_name_policy: self.caller_name_policy.clone(),
            caller_name: self.caller_name.clone(),
            forwarded_caller_id: self.forwarded_caller_id.clone(),
            assign_dial_plan: self.assign_dial_plan.is_some(),
            device: self.device.clone(),
            tag: self.tag.clone(),
        }
    }

    fn location(&self) -> Option<PbxLocationId> {
        self.pbx_location.trim().parse().ok().map(PbxLocationId)
    }

    fn extension(&self) -> Option<Extension> {
        Extension::parse(&self.sip_user).ok()
    }
}

/// One `<option>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

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
            match FIELDS.iter().find(|(_, label)| *label == e.field) {
                Some((name, _)) if !self.errors.iter().any(|(n, _)| n == name) => {
                    self.errors.push((name, e.message.clone()));
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

/// The Phone Number combobox.
pub struct PhoneField {
    pub value: String,
    pub autofill: String,
    pub error: String,
    /// Rendered as an out-of-band swap (after the SIP User changed).
    pub oob: bool,
}

/// One device of the SIP user in the Add New Device list.
pub struct DeviceRow {
    pub auth_id: String,
    pub recommended: bool,
    pub registered: bool,
    pub user_agent: Option<String>,
}

/// "Create 1002tm on the PBX".
pub struct CreateOffer {
    pub auth_id: String,
    /// Emergency addresses to choose from; empty when the PBX offers none.
    pub addresses: Vec<Opt>,
}

/// The User Devices block.
pub struct DevicesBlock {
    pub selected: String,
    /// Shown after Add New Device.
    pub listing: Option<Vec<DeviceRow>>,
    pub create: Option<CreateOffer>,
    /// What went wrong listing or creating devices.
    pub problem: Option<String>,
    pub notice: Option<String>,
    pub error: String,
    pub sip_user: String,
    pub oob: bool,
}

impl DevicesBlock {
    fn closed(selected: String, sip_user: String, error: String) -> Self {
        Self {
            selected,
            listing: None,
            create: None,
            problem: None,
            notice: None,
            error,
            sip_user,
            oob: false,
        }
    }

    pub fn has_sip_user(&self) -> bool {
        !self.sip_user.trim().is_empty()
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

#[derive(Template, WebTemplate)]
#[template(path = "setup_devices.html")]
pub struct DevicesFragment {
    pub devices: DevicesBlock,
}

#[derive(Template)]
#[template(path = "setup_phone.html")]
pub struct PhoneFragment {
    pub phone: PhoneField,
}

/// Where the form posts to and what it is called.
struct Target {
    title: String,
    action: String,
    editing: Option<(PbxUserId, i64)>,
}

impl Target {
    fn new_user() -> Self {
        Self {
            title: "SET UP PBX USER".into(),
            action: "/users/new".into(),
            editing: None,
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

async fn page(
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

async fn new_form(State(state): State<AppState>, admin: Admin) -> Result<SetupPage, PageError> {
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

fn user_id(raw: &str) -> Result<PbxUserId, PageError> {
    raw.parse().map(PbxUserId).map_err(|_| PageError::NotFound)
}

async fn edit_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<SetupPage, PageError> {
    let id = user_id(&id)?;
    let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
    let target = Target {
        title: format!("Edit PBX user — {}", item.display_name),
        action: format!("/users/{id}/edit"),
        editing: Some((id, item.user.version)),
    };
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

async fn save(
    state: &AppState,
    admin: &Admin,
    target: Target,
    submitted: Submitted,
) -> Result<Response, PageError> {
    let form = submitted.form();
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
            admin
                .flash(format!(
                    "{name} is set up on extension {} with {}. {next}",
                    user.spec.sip_user, user.spec.phone_number
                ))
                .await?;
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

async fn save_new(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<Response, PageError> {
    save(&state, &admin, Target::new_user(), submitted).await
}

async fn save_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(submitted): Form<Submitted>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let item = state.store.get_pbx_user(admin.enterprise.id, id).await?;
    let version = submitted
        .version
        .trim()
        .parse()
        .unwrap_or(item.user.version);
    let target = Target {
        title: format!("Edit PBX user — {}", item.display_name),
        action: format!("/users/{id}/edit"),
        editing: Some((id, version)),
    };
    save(&state, &admin, target, submitted).await
}

/// Another PBX location was chosen: the whole form again, with that location's extensions.
async fn refresh(
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

/// Validation as the admin types: the errors of the fields that hold a value (or that the
/// admin just left), as out-of-band swaps of each field's error line. A field still empty is
/// only reported on Save User.
async fn validate(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Form(submitted): Form<Submitted>,
) -> Result<Html<String>, PageError> {
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
        .unwrap_or_default()
        .to_owned();
    let value_of = |name: &str| -> String {
        match name {
            "pbx_location" => form.pbx_location.clone(),
            "voice_route" => form.voice_route.clone(),
            "teams_user" => form.teams_user.clone(),
            "sip_user" => form.sip_user.clone(),
            "phone_number" => form.phone_number.clone(),
            "caller_name_policy" => form.caller_name_policy.clone(),
            "caller_name" => form.caller_name.clone(),
            "forwarded_caller_id" => form.forwarded_caller_id.clone(),
            "device" => form.device.clone(),
            _ => form.tag.clone(),
        }
    };
    let mut out = String::new();
    for (name, label) in FIELDS {
        let shown = !value_of(name).trim().is_empty() || trigger == name;
        let message = if shown {
            errors
                .iter()
                .find(|e| e.field == label)
                .map(|e| e.message.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        out.push_str(&format!(
            r#"<p class="field-error" id="error-{name}" hx-swap-oob="true">{}</p>"#,
            escape(&message)
        ));
    }
    Ok(Html(out))
}

/// The user being edited, from the page the request came from (`/users/{id}/edit`).
fn edit_target(headers: &HeaderMap) -> Option<PbxUserId> {
    let url = headers.get("hx-current-url")?.to_str().ok()?;
    let path = url.split("/users/").nth(1)?;
    let (id, rest) = path.split_once('/')?;
    rest.starts_with("edit")
        .then(|| id.parse().ok().map(PbxUserId))?
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The SIP User changed: pre-fill the Phone Number with `+1<ext>` (unless the admin typed
/// another number) and reset User Devices for the new extension.
async fn sip_user_changed(
    _admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<Html<String>, PageError> {
    let ext = submitted.extension();
    let typed = submitted.phone_number.trim();
    let keep_typed = !typed.is_empty() && typed != submitted.phone_autofill.trim();
    let (value, autofill) = match (&ext, keep_typed) {
        (Some(ext), false) => {
            let n = format!("+1{ext}");
            (n.clone(), n)
        }
        _ => (
            submitted.phone_number.clone(),
            submitted.phone_autofill.clone(),
        ),
    };
    let selected = match (&ext, DeviceAuthId::parse(&submitted.device)) {
        (Some(ext), Ok(d)) if d.belongs_to(ext) => d.to_string(),
        _ => String::new(),
    };
    let devices = DevicesFragment {
        devices: DevicesBlock::closed(selected, submitted.sip_user.clone(), String::new()),
    };
    let phone = PhoneFragment {
        phone: PhoneField {
            value,
            autofill,
            error: String::new(),
            oob: true,
        },
    };
    let render = |r: Result<String, askama::Error>| {
        r.map_err(|e| PageError::Internal(format!("rendering the form: {e}")))
    };
    Ok(Html(format!(
        "{}{}",
        render(devices.render())?,
        render(phone.render())?
    )))
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_phone_options.html")]
pub struct PhoneOptions {
    pub options: Vec<PhoneOption>,
}

pub struct PhoneOption {
    pub value: String,
    pub note: Option<String>,
}

/// The Phone Number combobox's choices for what was typed: the number as Teams will store it
/// (`11000` → `+11000`), and `+1<ext>` for the chosen SIP User. A number already in use says
/// by whom.
async fn phone_options(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<PhoneOptions, PageError> {
    let typed = submitted.phone_number.trim();
    let mut numbers: Vec<PhoneNumber> = Vec::new();
    if !typed.is_empty()
        && let Ok(n) = PhoneNumber::parse(typed)
    {
        numbers.push(n);
    }
    if let Some(ext) = submitted.extension()
        && let Ok(n) = PhoneNumber::parse(&format!("+1{ext}"))
        && !numbers.contains(&n)
        && n.to_string()
            .starts_with(&format!("+{}", typed.trim_start_matches('+')))
    {
        numbers.push(n);
    }
    let mut options = Vec::new();
    for n in numbers {
        let note = state
            .store
            .holder_of_number(admin.enterprise.id, &n)
            .await?
            .filter(|h| h.state.reserves())
            .map(|h| format!("used by {}", h.display_name));
        options.push(PhoneOption {
            value: n.to_string(),
            note,
        });
    }
    Ok(PhoneOptions { options })
}

fn needs_location_and_extension(
    submitted: &Submitted,
) -> Result<(PbxLocationId, Extension), String> {
    let location = submitted
        .location()
        .ok_or("Choose the PBX location first.")?;
    let ext = submitted
        .extension()
        .ok_or("Choose the SIP User first: Add New Device lists that extension's devices.")?;
    Ok((location, ext))
}

/// Add New Device: the SIP user's devices on the PBX, each with SELECT, and the offer to
/// create the recommended `tm` handle when it is missing.
async fn devices_listing(
    state: &AppState,
    admin: &Admin,
    submitted: &Submitted,
    selected: String,
    notice: Option<String>,
) -> Result<DevicesFragment, PageError> {
    let mut block = DevicesBlock::closed(selected, submitted.sip_user.clone(), String::new());
    block.notice = notice;
    let (location, ext) = match needs_location_and_extension(submitted) {
        Ok(x) => x,
        Err(why) => {
            block.error = why;
            return Ok(DevicesFragment { devices: block });
        }
    };
    let e = admin.enterprise.id;
    match state.engine.extension_devices(e, location, &ext).await {
        Err(err) if err.is_not_found() => return Err(PageError::NotFound),
        Err(err) => {
            block.problem = Some(format!(
                "The devices of extension {ext} could not be read: {}",
                PageError::from(err).info().detail
            ));
            block.listing = Some(Vec::new());
        }
        Ok(devices) => {
            let recommended = DeviceAuthId::suggested(&ext).to_string();
            if !devices.iter().any(|d| d.auth_id == recommended) {
                let addresses = match state.engine.emergency_addresses(e, location, &ext).await {
                    Ok(list) => list
                        .into_iter()
                        .map(|a| Opt {
                            label: format!("{} — {}, {}", a.name, a.line1, a.city),
                            selected: a.id == submitted.emergency_address,
                            value: a.id,
                        })
                        .collect(),
                    Err(err) => {
                        block.problem = Some(format!(
                            "The PBX's emergency addresses could not be read: {}",
                            PageError::from(err).info().detail
                        ));
                        Vec::new()
                    }
                };
                block.create = Some(CreateOffer {
                    auth_id: recommended.clone(),
                    addresses,
                });
            }
            block.listing = Some(
                devices
                    .into_iter()
                    .map(|d| DeviceRow {
                        recommended: d.auth_id == recommended,
                        auth_id: d.auth_id,
                        registered: d.registered,
                        user_agent: d.user_agent,
                    })
                    .collect(),
            );
        }
    }
    Ok(DevicesFragment { devices: block })
}

async fn list_devices(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<DevicesFragment, PageError> {
    let selected = submitted.device.clone();
    devices_listing(&state, &admin, &submitted, selected, None).await
}

/// SELECT: the device becomes the form's User Devices value.
async fn select_device(
    _admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<DevicesFragment, PageError> {
    let error = match (
        DeviceAuthId::parse(&submitted.choose),
        submitted.extension(),
    ) {
        (Ok(d), Some(ext)) if d.belongs_to(&ext) => String::new(),
        (Ok(d), Some(ext)) => format!("device {d} does not belong to extension {ext}"),
        (Ok(_), None) => "choose the SIP User first".to_owned(),
        (Err(e), _) => e.message,
    };
    let selected = if error.is_empty() {
        submitted.choose.trim().to_owned()
    } else {
        String::new()
    };
    Ok(DevicesFragment {
        devices: DevicesBlock::closed(selected, submitted.sip_user.clone(), error),
    })
}

/// "Create 1002tm on the PBX": creates the handle (the emergency address when the PBX offers
/// some), then lists the devices again so the admin can SELECT it.
async fn create_device(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<DevicesFragment, PageError> {
    let (location, ext) = match needs_location_and_extension(&submitted) {
        Ok(x) => x,
        Err(why) => {
            let mut block =
                DevicesBlock::closed(String::new(), submitted.sip_user.clone(), String::new());
            block.error = why;
            return Ok(DevicesFragment { devices: block });
        }
    };
    let e = admin.enterprise.id;
    let address = Some(submitted.emergency_address.trim().to_owned()).filter(|a| !a.is_empty());
    if address.is_none() {
        let offered = state
            .engine
            .emergency_addresses(e, location, &ext)
            .await
            .map(|a| !a.is_empty())
            .unwrap_or(false);
        if offered {
            let mut f =
                devices_listing(&state, &admin, &submitted, submitted.device.clone(), None).await?;
            f.devices.problem = Some(format!(
                "Choose the emergency address for {}: the PBX needs one for every new device.",
                DeviceAuthId::suggested(&ext)
            ));
            return Ok(f);
        }
    }
    match state
        .engine
        .create_device_handle(e, &admin.actor(), location, &ext, address)
        .await
    {
        Ok(created) => {
            devices_listing(
                &state,
                &admin,
                &submitted,
                submitted.device.clone(),
                Some(format!(
                    "Created {created} on the PBX with a generated password. SELECT it to use it for Teams."
                )),
            )
            .await
        }
        Err(err) if err.is_not_found() => Err(PageError::NotFound),
        Err(err) => {
            let mut f = devices_listing(&state, &admin, &submitted, submitted.device.clone(), None)
                .await?;
            f.devices.problem = Some(format!(
                "{} could not be created: {}",
                DeviceAuthId::suggested(&ext),
                PageError::from(err).info().detail
            ));
            Ok(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_target_comes_from_the_page_url() {
        let mut h = HeaderMap::new();
        h.insert(
            "hx-current-url",
            "http://127.0.0.1:8080/users/42/edit".parse().unwrap(),
        );
        assert_eq!(edit_target(&h), Some(PbxUserId(42)));
        h.insert("hx-current-url", "http://x/users/new".parse().unwrap());
        assert_eq!(edit_target(&h), None);
    }

    #[test]
    fn checkboxes_are_off_when_absent() {
        let s: Submitted = serde_urlencoded::from_str("sip_user=1000&phone_number=11000").unwrap();
        let f = s.form();
        assert!(!f.use_teams_voicemail && !f.assign_dial_plan);
        let s: Submitted =
            serde_urlencoded::from_str("assign_dial_plan=true&use_teams_voicemail=true").unwrap();
        assert!(s.form().assign_dial_plan && s.form().use_teams_voicemail);
    }

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
