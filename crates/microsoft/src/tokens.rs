//! App-only (client credentials) tokens per customer tenant and audience, cached and
//! refreshed before they expire. Concurrent callers wait for one refresh instead of each
//! asking Entra ID for a token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::aad::{self, AadContext, OAuthErrorBody};
use crate::error::MicrosoftError;
use crate::http::{CallInfo, Http};
use crate::odata;

/// The API a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Audience {
    /// Microsoft Graph.
    Graph,
    /// "Skype and Teams Tenant Admin API", the REST surface behind Teams PowerShell.
    TeamsAdmin,
}

impl Audience {
    /// The `scope` to request. These are resource identifiers, not URLs Teamline calls, so
    /// they stay the same when the base URLs point at the simulator.
    pub fn scope(self) -> &'static str {
        match self {
            Self::Graph => "https://graph.microsoft.com/.default",
            Self::TeamsAdmin => "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default",
        }
    }
}

/// Why no token was issued: the typed error, and Entra's own words when it gave some.
pub(crate) struct TokenRefusal {
    pub error: MicrosoftError,
    pub microsoft_says: Option<String>,
}

impl From<MicrosoftError> for TokenRefusal {
    fn from(error: MicrosoftError) -> Self {
        Self {
            error,
            microsoft_says: None,
        }
    }
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

pub(crate) struct AppTokens {
    http: Arc<Http>,
    login_base: Url,
    client_id: String,
    client_secret: SecretString,
    slots: Mutex<HashMap<(String, Audience), Slot>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<ExpiresIn>,
}

/// Entra ID sends `expires_in` as a number; some older endpoints sent a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ExpiresIn {
    Number(u64),
    Text(String),
}

impl ExpiresIn {
    fn seconds(&self) -> u64 {
        match self {
            Self::Number(n) => *n,
            Self::Text(s) => s.trim().parse().unwrap_or(0),
        }
    }
}

impl AppTokens {
    pub fn new(
        http: Arc<Http>,
        login_base: Url,
        client_id: String,
        client_secret: SecretString,
    ) -> Self {
        Self {
            http,
            login_base,
            client_id,
            client_secret,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, tenant: &str, audience: Audience) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .entry((tenant.to_owned(), audience))
            .or_default()
            .clone()
    }

    /// A valid token for the tenant and audience, from the cache when it is not about to
    /// expire.
    pub async fn token(
        &self,
        tenant: &str,
        audience: Audience,
    ) -> Result<SecretString, MicrosoftError> {
        let slot = self.slot(tenant, audience);
        // Holding the slot's lock while fetching makes concurrent callers wait for this one
        // refresh and then reuse its result.
        let mut guard = slot.lock().await;
        if let Some(cached) = guard.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let (token, lifetime) = self.fetch(tenant, audience).await?;
        // Refresh five minutes before expiry (or halfway through a short-lived token).
        let margin = Duration::from_secs(300).min(lifetime / 2);
        *guard = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(token)
    }

    /// Forgets `stale` (e.g. after Microsoft answered 401 with it); a newer token cached in
    /// the meantime by another caller is kept.
    pub async fn invalidate(&self, tenant: &str, audience: Audience, stale: &SecretString) {
        let slot = self.slot(tenant, audience);
        let mut guard = slot.lock().await;
        if guard
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == stale.expose_secret())
        {
            *guard = None;
        }
    }

    async fn fetch(
        &self,
        tenant: &str,
        audience: Audience,
    ) -> Result<(SecretString, Duration), MicrosoftError> {
        self.request(tenant, audience)
            .await
            .map_err(|refusal| refusal.error)
    }

    /// Asks Entra ID for a token without caching it (for `teamline doctor`): the refusal
    /// keeps Entra's own description.
    pub async fn probe(&self, tenant: &str, audience: Audience) -> Result<(), TokenRefusal> {
        self.request(tenant, audience).await.map(|_| ())
    }

    async fn request(
        &self,
        tenant: &str,
        audience: Audience,
    ) -> Result<(SecretString, Duration), TokenRefusal> {
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            odata::trim_base(&self.login_base),
            odata::segment(tenant)
        );
        let what = match audience {
            Audience::Graph => "get an app token for Microsoft Graph",
            Audience::TeamsAdmin => "get an app token for the Teams admin API",
        };
        let form = [
            ("client_id", self.client_id.as_str()),
            ("scope", audience.scope()),
            ("client_secret", self.client_secret.expose_secret()),
            ("grant_type", "client_credentials"),
        ];
        let info = CallInfo {
            what,
            tenant,
            idempotent: true,
            limited: false,
        };
        let reply = self
            .http
            .send(&info, || self.http.client().post(&url).form(&form))
            .await
            .map_err(|e| TokenRefusal::from(e.into_error(aad::request_id)))?;
        if reply.status.is_success() {
            let body: TokenResponse = serde_json::from_slice(&reply.body).map_err(|e| {
                TokenRefusal::from(MicrosoftError::UnexpectedResponse {
                    what: what.into(),
                    detail: format!("token response: {e}"),
                })
            })?;
            let lifetime =
                Duration::from_secs(body.expires_in.as_ref().map_or(3600, ExpiresIn::seconds));
            return Ok((SecretString::from(body.access_token), lifetime));
        }
        match serde_json::from_slice::<OAuthErrorBody>(&reply.body) {
            Ok(err) => {
                let description = err.error_description.as_deref().unwrap_or("");
                Err(TokenRefusal {
                    error: aad::map_error(
                        &err.error,
                        description,
                        &err.error_codes,
                        AadContext {
                            tenant_id: Some(tenant),
                            redirect_uri: None,
                        },
                    ),
                    microsoft_says: Some(format!(
                        "{}: {}",
                        err.error,
                        aad::clean_description(description)
                    )),
                })
            }
            Err(_) => Err(TokenRefusal::from(MicrosoftError::UnexpectedResponse {
                what: what.into(),
                detail: format!("HTTP {} without an OAuth error body", reply.status.as_u16()),
            })),
        }
    }
}
