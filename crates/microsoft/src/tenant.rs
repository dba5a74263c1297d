//! Calls on behalf of one customer tenant, to Graph or to the Teams admin REST surface: the
//! app token (renewed once on a 401), the status of a failed answer mapped to an admin-facing
//! error (each surface reads its own error envelope: `graph`, `teams_admin`), JSON bodies and
//! pages. Only this crate knows Graph JSON; these helpers turn it into typed results and errors.

use std::sync::Arc;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::{PollPolicy, RetryPolicy};
use crate::error::{ErrorBody, MicrosoftError};
use crate::graph::{self, Page};
use crate::http::{CallInfo, Http, Reply};
use crate::tokens::{AppTokens, Audience};
use crate::{odata, teams_admin};

/// Microsoft's request id of a reply, read the way the surface it came from writes it.
fn request_id(audience: Audience, reply: &Reply) -> Option<String> {
    match audience {
        Audience::Graph => graph::request_id(reply),
        Audience::TeamsAdmin => teams_admin::request_id(reply),
    }
}

/// A request against Graph or the Teams admin REST surface.
pub(crate) struct Req<'a> {
    pub method: Method,
    pub url: String,
    pub audience: Audience,
    pub body: Option<&'a serde_json::Value>,
    pub headers: &'a [(&'static str, &'a str)],
    pub what: &'a str,
    pub idempotent: bool,
}

impl<'a> Req<'a> {
    pub fn get(url: String, what: &'a str) -> Self {
        Self {
            method: Method::GET,
            url,
            audience: Audience::Graph,
            body: None,
            headers: &[],
            what,
            idempotent: true,
        }
    }

    pub fn post(url: String, body: &'a serde_json::Value, what: &'a str) -> Self {
        Self {
            method: Method::POST,
            url,
            audience: Audience::Graph,
            body: Some(body),
            headers: &[],
            what,
            idempotent: false,
        }
    }
}

pub(crate) struct TenantCore {
    pub tenant_id: String,
    pub http: Arc<Http>,
    pub tokens: Arc<AppTokens>,
    pub graph_base: Url,
    pub teams_admin_base: Url,
    pub polling: PollPolicy,
    pub retry: RetryPolicy,
    pub policy_replication_wait: std::time::Duration,
    /// How this tenant turned out to behave (shared by voice, setup and the doctor).
    pub learned: crate::learned::Learned,
}

impl TenantCore {
    /// `https://graph.microsoft.com/v1.0` + `path_and_query` (which starts with `/`).
    pub fn graph_url(&self, path_and_query: &str) -> String {
        format!(
            "{}/v1.0{path_and_query}",
            odata::trim_base(&self.graph_base)
        )
    }

    /// Checks that a link Microsoft handed us (next page, delta, operation) points at the
    /// configured Graph host before sending Teamline's token to it.
    pub fn graph_link(&self, link: &str, what: &str) -> Result<String, MicrosoftError> {
        let base = &self.graph_base;
        let url = Url::parse(link).or_else(|_| base.join(link)).map_err(|e| {
            MicrosoftError::UnexpectedResponse {
                what: what.to_owned(),
                detail: format!("the link {link:?} is not a URL: {e}"),
            }
        })?;
        if !odata::same_origin(base, &url) {
            return Err(MicrosoftError::UnexpectedResponse {
                what: what.to_owned(),
                detail: format!(
                    "Microsoft pointed to {} which is not the configured Graph host",
                    url.origin().ascii_serialization()
                ),
            });
        }
        Ok(url.to_string())
    }

    /// Sends the request with an app token, refreshing the token once if Microsoft answers
    /// 401. Returns any non-retried answer, successful or not.
    pub async fn send(&self, req: &Req<'_>) -> Result<Reply, MicrosoftError> {
        let info = CallInfo {
            what: req.what,
            tenant: &self.tenant_id,
            idempotent: req.idempotent,
            limited: true,
        };
        let mut token = self.tokens.token(&self.tenant_id, req.audience).await?;
        let mut refreshed = false;
        loop {
            let build = || {
                let mut rb = self
                    .http
                    .client()
                    .request(req.method.clone(), &req.url)
                    .bearer_auth(token.expose_secret())
                    .header(reqwest::header::ACCEPT, "application/json");
                for (name, value) in req.headers {
                    rb = rb.header(*name, *value);
                }
                if let Some(body) = req.body {
                    rb = rb.json(body);
                }
                rb
            };
            let reply = self
                .http
                .send(&info, build)
                .await
                .map_err(|e| e.into_error(|r| request_id(req.audience, r)))?;
            if reply.status == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
                // The cached token may have been revoked or expired early: get a new one once.
                self.tokens
                    .invalidate(&self.tenant_id, req.audience, &token)
                    .await;
                token = self.tokens.token(&self.tenant_id, req.audience).await?;
                refreshed = true;
                continue;
            }
            return Ok(reply);
        }
    }

    /// A call to the Teams admin REST surface with the headers the Teams admin center and
    /// Teams PowerShell send. 401/403 there mean the app's service principal lacks its Teams
    /// admin role ([`MicrosoftError::TeamsAdminRoleMissing`]); any other answer is returned.
    pub async fn teams_admin(
        &self,
        method: Method,
        url: String,
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<Reply, MicrosoftError> {
        let req = Req {
            idempotent: method != Method::POST,
            method,
            url,
            audience: Audience::TeamsAdmin,
            body,
            headers: &[("x-authz-scope", "tenant")],
            what,
        };
        let reply = self.send(&req).await?;
        if let Some(warning) = reply.header("X-Ms-ConfigApi-PowerShell-WarningMessage") {
            tracing::warn!(tenant = %self.tenant_id, what, warning, "Teams admin API warning");
        }
        if matches!(reply.status.as_u16(), 401 | 403) {
            return Err(MicrosoftError::TeamsAdminRoleMissing {
                tenant_id: self.tenant_id.clone(),
                what: what.to_owned(),
                status: reply.status.as_u16(),
                request_id: teams_admin::request_id(&reply)
                    .or_else(|| reply.header("x-ms-correlation-id").map(str::to_owned)),
            });
        }
        Ok(reply)
    }

    /// Like [`send`](Self::send) but turns every non-2xx answer into an error.
    pub async fn send_ok(&self, req: &Req<'_>) -> Result<Reply, MicrosoftError> {
        let reply = self.send(req).await?;
        if reply.status.is_success() {
            Ok(reply)
        } else {
            Err(match req.audience {
                Audience::Graph => self.error_from(&reply, req.what),
                Audience::TeamsAdmin => self.admin_error_from(&reply, req.what),
            })
        }
    }

    /// The generic admin-facing error for a failed Graph answer.
    pub fn error_from(&self, reply: &Reply, what: &str) -> MicrosoftError {
        self.error_for(reply, graph::read_error(reply), what)
    }

    /// The generic admin-facing error for a failed Teams admin REST answer.
    pub fn admin_error_from(&self, reply: &Reply, what: &str) -> MicrosoftError {
        self.error_for(reply, teams_admin::read_error(reply), what)
    }

    fn error_for(&self, reply: &Reply, err: ErrorBody, what: &str) -> MicrosoftError {
        let request_id = err.request_id;
        let status = reply.status.as_u16();
        match status {
            401 => MicrosoftError::Unauthorized {
                tenant_id: self.tenant_id.clone(),
                request_id,
            },
            403 => MicrosoftError::AccessDenied {
                tenant_id: self.tenant_id.clone(),
                what: what.to_owned(),
                code: if err.code.is_empty() {
                    "Forbidden".into()
                } else {
                    err.code
                },
                message: err.message,
                request_id,
            },
            404 => MicrosoftError::NotFound {
                what: what.to_owned(),
                request_id,
            },
            500..=599 => MicrosoftError::Unavailable {
                what: what.to_owned(),
                status,
                retry_after: crate::http::retry_after(&reply.headers),
                request_id,
            },
            _ => MicrosoftError::Rejected {
                what: what.to_owned(),
                status,
                code: err.code,
                message: err.message,
                request_id,
            },
        }
    }

    pub fn json<T: DeserializeOwned>(
        &self,
        reply: &Reply,
        what: &str,
    ) -> Result<T, MicrosoftError> {
        serde_json::from_slice(&reply.body).map_err(|e| MicrosoftError::UnexpectedResponse {
            what: what.to_owned(),
            detail: e.to_string(),
        })
    }

    /// Fetches one page of a collection.
    pub async fn page<T: DeserializeOwned>(
        &self,
        req: &Req<'_>,
    ) -> Result<Page<T>, MicrosoftError> {
        let reply = self.send_ok(req).await?;
        self.json(&reply, req.what)
    }
}
