//! API tokens in the Enterprise portal: create one (shown once), see when each was last used,
//! revoke one. A token made here reaches only this enterprise.

use super::auth::mint;
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::routes::{Routes, get, post};
use crate::views::{Layout, Menu, ago, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::audit::Audit;
use teamline_domain::ids::ApiTokenId;
use teamline_store::{ApiToken, NewApiToken, StoreError};

pub fn routes() -> Routes {
    Routes::new()
        .route("/api-tokens", get(page).post(create))
        .route("/api-tokens/{id}/revoke", post(revoke))
}

/// Requests a minute a new token may send unless the admin chooses otherwise.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 600;
const MAX_NAME_LEN: usize = 60;
const MAX_EXPIRY_DAYS: u32 = 3650;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub access: &'static str,
    pub rate_per_minute: u32,
    pub created: String,
    pub created_by: String,
    pub expires: String,
    pub last_used: String,
    /// `None` while usable, otherwise "Revoked" or "Expired".
    pub ended: Option<&'static str>,
}

impl TokenRow {
    fn new(t: &ApiToken, now: i64) -> Self {
        Self {
            id: t.id.0,
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            access: if t.read_only {
                "Read only"
            } else {
                "Read and write"
            },
            rate_per_minute: t.rate_per_minute,
            created: timestamp(t.created_ms),
            created_by: t.created_by.to_string(),
            expires: t.expires_ms.map_or_else(|| "Never".to_owned(), timestamp),
            last_used: t
                .last_used_ms
                .map_or_else(|| "Never".to_owned(), |at| ago(now, at)),
            ended: if t.revoked_ms.is_some() {
                Some("Revoked")
            } else if !t.is_usable(now) {
                Some("Expired")
            } else {
                None
            },
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub name: String,
    /// `read_only` or `read_write`.
    #[serde(default)]
    pub access: String,
    /// Blank: never expires.
    #[serde(default)]
    pub expires_in_days: String,
    #[serde(default)]
    pub rate_per_minute: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "api_tokens.html")]
pub struct TokensPage {
    pub layout: Layout,
    pub tokens: Vec<TokenRow>,
    pub form: TokenForm,
    pub errors: FieldProblems,
    /// The token just created: shown this once.
    pub created: Option<(String, String)>,
    pub notice: Option<String>,
    pub public_url: String,
    pub enterprise_id: i64,
}

impl TokensPage {
    pub fn error(&self, field: &str) -> &str {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("", |(_, m)| m.as_str())
    }

    pub fn read_only_chosen(&self) -> bool {
        self.form.access != "read_write"
    }
}

async fn render(
    state: &AppState,
    admin: &Admin,
    form: TokenForm,
    errors: FieldProblems,
    created: Option<(String, String)>,
) -> Result<TokensPage, PageError> {
    let now = state.store.clock().now_ms();
    let tokens = state
        .store
        .list_api_tokens(admin.enterprise.reseller_id, Some(admin.enterprise.id))
        .await?
        .iter()
        .map(|t| TokenRow::new(t, now))
        .collect();
    Ok(TokensPage {
        layout: admin.layout(Menu::ApiTokens),
        tokens,
        form,
        errors,
        created,
        notice: admin.take_flash().await?,
        public_url: state.public_url.trim_end_matches('/').to_owned(),
        enterprise_id: admin.enterprise.id.0,
    })
}

async fn page(State(state): State<AppState>, admin: Admin) -> Result<TokensPage, PageError> {
    let form = TokenForm {
        rate_per_minute: DEFAULT_RATE_PER_MINUTE.to_string(),
        ..TokenForm::default()
    };
    render(&state, &admin, form, Vec::new(), None).await
}

/// What the admin chose for a new token.
#[derive(Debug, PartialEq, Eq)]
struct Chosen {
    name: String,
    read_only: bool,
    expires_ms: Option<i64>,
    rate_per_minute: u32,
}

/// Problems of the form, by field.
type FieldProblems = Vec<(&'static str, String)>;

/// The form's values, or every problem by field.
fn parse(form: &TokenForm, now: i64) -> Result<Chosen, FieldProblems> {
    let mut errors = Vec::new();
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        errors.push(("name", "Give the token a name that says who uses it, e.g. \"Billing system\": the audit log shows it for every change made with it.".to_owned()));
    } else if name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        errors.push((
            "name",
            format!("Use at most {MAX_NAME_LEN} characters, on one line."),
        ));
    }
    let read_only = match form.access.as_str() {
        "read_only" | "" => true,
        "read_write" => false,
        _ => {
            errors.push(("access", "Choose Read only or Read and write.".to_owned()));
            true
        }
    };
    let expires = match form.expires_in_days.trim() {
        "" => None,
        days => match days.parse::<u32>() {
            Ok(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => Some(now + i64::from(d) * DAY_MS),
            _ => {
                errors.push((
                    "expires_in_days",
                    format!("Enter a number of days from 1 to {MAX_EXPIRY_DAYS}, or leave it blank for a token that does not expire."),
                ));
                None
            }
        },
    };
    let rate = match form.rate_per_minute.trim().parse::<u32>() {
        Ok(r) if (1..=100_000).contains(&r) => r,
        _ => {
            errors.push((
                "rate_per_minute",
                "Enter how many requests a minute the token may send, from 1 to 100000.".to_owned(),
            ));
            DEFAULT_RATE_PER_MINUTE
        }
    };
    if errors.is_empty() {
        Ok(Chosen {
            name,
            read_only,
            expires_ms: expires,
            rate_per_minute: rate,
        })
    } else {
        Err(errors)
    }
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    let now = state.store.clock().now_ms();
    let Chosen {
        name,
        read_only,
        expires_ms,
        rate_per_minute,
    } = match parse(&form, now) {
        Ok(v) => v,
        Err(errors) => {
            let page = render(&state, &admin, form, errors, None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let minted = mint();
    let new = NewApiToken {
        reseller_id: admin.enterprise.reseller_id,
        enterprise_id: Some(admin.enterprise.id),
        name: name.clone(),
        prefix: minted.prefix,
        secret_sha256: minted.secret_sha256,
        read_only,
        rate_per_minute,
        expires_ms,
    };
    let audit = Audit::new(
        admin.actor(),
        "api_token.create",
        format!(
            "Created the {} API token \"{name}\"",
            if read_only { "read-only" } else { "read-write" }
        ),
    );
    match state.store.create_api_token(&new, &audit).await {
        Ok(_) => {
            let page = render(
                &state,
                &admin,
                TokenForm {
                    rate_per_minute: DEFAULT_RATE_PER_MINUTE.to_string(),
                    ..TokenForm::default()
                },
                Vec::new(),
                Some((name, minted.token)),
            )
            .await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(StoreError::Conflict { message, .. }) => {
            let page = render(&state, &admin, form, vec![("name", message)], None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Redirect, PageError> {
    let id = id
        .parse()
        .map(ApiTokenId)
        .map_err(|_| PageError::NotFound)?;
    let tokens = state
        .store
        .list_api_tokens(admin.enterprise.reseller_id, Some(admin.enterprise.id))
        .await?;
    let name = tokens
        .iter()
        .find(|t| t.id == id)
        .map(|t| t.name.clone())
        .ok_or(PageError::NotFound)?;
    let audit = Audit::new(
        admin.actor(),
        "api_token.revoke",
        format!("Revoked the API token \"{name}\""),
    );
    state
        .store
        .revoke_api_token(
            admin.enterprise.reseller_id,
            Some(admin.enterprise.id),
            id,
            &audit,
        )
        .await?;
    admin
        .flash(format!(
            "The API token \"{name}\" is revoked: requests with it are refused from now on."
        ))
        .await?;
    Ok(Redirect::to("/api-tokens"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_problem_is_reported_at_once() {
        let form = TokenForm {
            name: " ".into(),
            access: "admin".into(),
            expires_in_days: "0".into(),
            rate_per_minute: "lots".into(),
        };
        let errors = parse(&form, 0).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            ["name", "access", "expires_in_days", "rate_per_minute"]
        );
        let ok = TokenForm {
            name: "Billing".into(),
            access: "read_write".into(),
            expires_in_days: "30".into(),
            rate_per_minute: "60".into(),
        };
        assert_eq!(
            parse(&ok, 0).unwrap(),
            Chosen {
                name: "Billing".to_owned(),
                read_only: false,
                expires_ms: Some(30 * DAY_MS),
                rate_per_minute: 60,
            }
        );
    }
}
