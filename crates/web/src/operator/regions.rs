//! SBC regions: the platform's regional gateways. Each enterprise's Direct Routing subdomain is
//! `<tenant label>.<gateway FQDN>`, so the gateway FQDN is also the region's Direct Routing base
//! domain; enterprises choose regions on Add Enterprise.

use super::{Operator, OperatorLayout, OperatorMenu, field_errors};
use crate::AppState;
use crate::error::PageError;
use crate::routes::{Routes, get};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::FieldError;
use teamline_domain::audit::Audit;
use teamline_domain::voice_route::NewSbcRegion;
use teamline_store::StoreError;

pub fn routes() -> Routes {
    Routes::new().route("/operator/regions", get(list).post(add))
}

pub struct RegionRow {
    pub name: String,
    pub gateway_fqdn: String,
}

#[derive(Default, Deserialize)]
struct RegionForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    gateway_fqdn: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "operator/regions.html")]
struct ListPage {
    layout: OperatorLayout,
    flash: Option<String>,
    rows: Vec<RegionRow>,
    name: String,
    gateway_fqdn: String,
    errors: Vec<(String, String)>,
}

async fn page(
    state: &AppState,
    operator: &Operator,
    form: RegionForm,
    errors: Vec<(String, String)>,
) -> Result<ListPage, PageError> {
    let rows = state
        .store
        .list_sbc_regions()
        .await?
        .into_iter()
        .map(|r| RegionRow {
            name: r.name.as_str().to_owned(),
            gateway_fqdn: r.gateway_fqdn.as_str().to_owned(),
        })
        .collect();
    Ok(ListPage {
        flash: operator.take_flash().await?,
        layout: operator.layout(OperatorMenu::Regions),
        rows,
        name: form.name,
        gateway_fqdn: form.gateway_fqdn,
        errors,
    })
}

async fn list(State(state): State<AppState>, operator: Operator) -> Result<ListPage, PageError> {
    page(&state, &operator, RegionForm::default(), vec![]).await
}

async fn add(
    State(state): State<AppState>,
    operator: Operator,
    Form(form): Form<RegionForm>,
) -> Result<Response, PageError> {
    let errors = match NewSbcRegion::parse(&form.name, &form.gateway_fqdn) {
        Ok(new) => {
            let audit = Audit::new(
                operator.actor(),
                "sbc_region.create",
                format!(
                    "Added SBC region {} ({})",
                    new.name.as_str(),
                    new.gateway_fqdn.as_str()
                ),
            );
            match state.store.create_sbc_region(&new, &audit).await {
                Ok(region) => {
                    operator
                        .flash(format!(
                            "Added SBC region {}: resellers can choose it for their enterprises.",
                            region.name.as_str()
                        ))
                        .await?;
                    return Ok(Redirect::to("/operator/regions").into_response());
                }
                Err(StoreError::Conflict { .. }) => FieldError::new(
                    "Region Name",
                    format!(
                        "A region named {} already exists: choose another name.",
                        new.name.as_str()
                    ),
                )
                .into(),
                Err(e) => return Err(e.into()),
            }
        }
        Err(errors) => errors,
    };
    let page = page(&state, &operator, form, field_errors(&errors)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
