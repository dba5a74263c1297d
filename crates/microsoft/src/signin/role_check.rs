//! The signed-in admin's directory roles when the ID token carries no `wids` claim.
//!
//! Entra ID puts `wids` into tokens only when the app registration asks for directory roles
//! (`groupMembershipClaims`), so Teamline cannot rely on it. With the delegated token of the
//! sign-in it asks Microsoft Graph instead:
//! - active roles: `GET /me/transitiveMemberOf/microsoft.graph.directoryRole` (delegated
//!   `User.Read` is the least privileged permission for the signed-in user's memberships;
//!   transitive, so a role held through a role-assignable group counts);
//! - roles that are only eligible through Privileged Identity Management:
//!   `GET /roleManagement/directory/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')`
//!   (delegated `RoleEligibilitySchedule.Read.Directory`). Eligibility is a courtesy for the
//!   refusal message: when Microsoft does not answer it, the admin is refused without it.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::error::MicrosoftError;
use crate::graph::{self, Page};
use crate::http::{CallInfo, Http};
use crate::odata::trim_base;

/// Most pages of roles read (a user holds a handful of roles; this only stops a loop).
const MAX_PAGES: usize = 20;

/// Where the admin's roles came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleSource {
    /// The `wids` claim of the ID token.
    IdToken,
    /// A live check in Microsoft Graph with the sign-in's delegated token (no `wids` claim).
    Graph,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryRoleWire {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    role_template_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EligibilityWire {
    #[serde(default)]
    role_definition_id: Option<String>,
    #[serde(default)]
    directory_scope_id: Option<String>,
}

pub(super) struct RoleReader<'a> {
    pub http: &'a Http,
    pub graph_base: &'a Url,
    pub tenant_id: &'a str,
    pub token: &'a SecretString,
}

impl RoleReader<'_> {
    /// GETs every page of a collection with the delegated token.
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        advanced: bool,
        what: &str,
    ) -> Result<Vec<T>, MicrosoftError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        for _ in 0..MAX_PAGES {
            let Some(url) = next.take() else { break };
            let info = CallInfo {
                what,
                tenant: self.tenant_id,
                idempotent: true,
                limited: false,
            };
            let reply = self
                .http
                .send(&info, || {
                    let rb = self
                        .http
                        .client()
                        .get(&url)
                        .bearer_auth(self.token.expose_secret())
                        .header(reqwest::header::ACCEPT, "application/json");
                    if advanced {
                        rb.header("ConsistencyLevel", "eventual")
                    } else {
                        rb
                    }
                })
                .await
                .map_err(|e| e.into_error(graph::request_id))?;
            if !reply.status.is_success() {
                let err = graph::read_error(&reply);
                return Err(MicrosoftError::RoleCheckFailed {
                    status: reply.status.as_u16(),
                    code: err.code,
                    message: err.message,
                });
            }
            let page: Page<T> = serde_json::from_slice(&reply.body).map_err(|e| {
                MicrosoftError::UnexpectedResponse {
                    what: what.to_owned(),
                    detail: e.to_string(),
                }
            })?;
            out.extend(page.value);
            // Only follow links on the Graph host this client was configured with.
            next = page
                .next_link
                .filter(|l| l.starts_with(trim_base(self.graph_base)));
        }
        Ok(out)
    }

    /// The template ids of the directory roles the user holds now (directly or through a
    /// role-assignable group).
    pub async fn active(&self) -> Result<Vec<String>, MicrosoftError> {
        let url = format!(
            "{}/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?$select=id,displayName,roleTemplateId&$count=true",
            trim_base(self.graph_base)
        );
        let roles: Vec<DirectoryRoleWire> =
            self.pages(url, true, "read your directory roles").await?;
        roles
            .into_iter()
            .map(|r| match r.role_template_id.filter(|t| !t.is_empty()) {
                Some(t) => Ok(t),
                // Graph returns only id and type of objects the token may not read in full.
                None => Err(MicrosoftError::RoleCheckFailed {
                    status: 200,
                    code: "LimitedInformation".into(),
                    message: format!(
                        "Microsoft Graph returned the directory role {} without its roleTemplateId",
                        r.id.unwrap_or_default()
                    ),
                }),
            })
            .collect()
    }

    /// The template ids of tenant-wide roles the user could activate through Privileged
    /// Identity Management; `None` when Microsoft does not say (no permission, no PIM licence).
    pub async fn eligible(&self) -> Option<Vec<String>> {
        let url = format!(
            "{}/v1.0/roleManagement/directory/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')",
            trim_base(self.graph_base)
        );
        let found: Result<Vec<EligibilityWire>, _> = self
            .pages(url, false, "read your eligible directory roles")
            .await;
        match found {
            Ok(items) => Some(
                items
                    .into_iter()
                    .filter(|e| e.directory_scope_id.as_deref().is_none_or(|s| s == "/"))
                    .filter_map(|e| e.role_definition_id)
                    .collect(),
            ),
            Err(e) => {
                tracing::info!(error = %e, "eligible directory roles could not be read");
                None
            }
        }
    }
}
