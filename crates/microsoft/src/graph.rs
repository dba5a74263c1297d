//! Calls on behalf of one customer tenant: app token, 401 refresh, error envelope, paging.
//! Only this crate knows Graph JSON; these helpers turn it into typed results and errors.

use std::sync::Arc;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::{PollPolicy, RetryPolicy};
use crate::error::MicrosoftError;
use crate::http::{CallInfo, Http, Reply};
use crate::odata;
use crate::tokens::{AppTokens, Audience};

/// One page of an OData collection. Only `value` and the paging links are read; each item
/// type deserializes just the fields it needs.
#[derive(Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

/// Graph's error envelope `{"error":{"code","message","innerError":{...}}}`.
#[derive(Deserialize)]
struct Envelope {
    error: GraphError,
}

#[derive(Deserialize, Default)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(rename = "innerError", alias = "innererror", default)]
    inner: Option<Box<InnerError>>,
}

#[derive(Deserialize, Default)]
struct InnerError {
    #[serde(default)]
    code: Option<String>,
    #[serde(rename = "request-id", default)]
    request_id: Option<String>,
    #[serde(rename = "innerError", alias = "innererror", default)]
    inner: Option<Box<InnerError>>,
}

impl GraphError {
    /// The top-level code and every nested one, most general first, as Graph's docs ask
    /// clients to check.
    pub fn codes(&self) -> Vec<&str> {
        let mut codes = vec![self.code.as_str()];
        let mut inner = self.inner.as_deref();
        while let Some(i) = inner {
            if let Some(c) = i.code.as_deref() {
                codes.push(c);
            }
            inner = i.inner.as_deref();
        }
        codes
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.codes().iter().any(|c| c.eq_ignore_ascii_case(code))
    }

    pub fn request_id(&self) -> Option<String> {
        let mut inner = self.inner.as_deref();
        while let Some(i) = inner {
            if let Some(id) = &i.request_id {
                return Some(id.clone());
            }
            inner = i.inner.as_deref();
        }
        None
    }
}

/// The error in a reply: Graph's envelope, or the looser shapes of the Teams admin REST
/// surface (`{"code","message"}`, `{"Message"}`, plain text).
pub(crate) fn parse_error(body: &[u8]) -> GraphError {
    if let Ok(env) = serde_json::from_slice::<Envelope>(body) {
        return env.error;
    }
    #[derive(Deserialize)]
    struct Loose {
        #[serde(alias = "Code", alias = "errorCode", alias = "ErrorCode", default)]
        code: Option<serde_json::Value>,
        #[serde(
            alias = "Message",
            alias = "errorMessage",
            alias = "ErrorMessage",
            default
        )]
        message: Option<String>,
    }
    if let Ok(loose) = serde_json::from_slice::<Loose>(body)
        && (loose.code.is_some() || loose.message.is_some())
    {
        let code = match loose.code {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        return GraphError {
            code,
            message: loose.message.unwrap_or_default(),
            inner: None,
        };
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().take(300).collect();
    GraphError {
        code: String::new(),
        message: text,
        inner: None,
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
            let reply = self.http.send(&info, build).await?;
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

    /// Like [`send`](Self::send) but turns every non-2xx answer into an error.
    pub async fn send_ok(&self, req: &Req<'_>) -> Result<Reply, MicrosoftError> {
        let reply = self.send(req).await?;
        if reply.status.is_success() {
            Ok(reply)
        } else {
            Err(self.error_from(&reply, req.what))
        }
    }

    /// The generic admin-facing error for a failed answer.
    pub fn error_from(&self, reply: &Reply, what: &str) -> MicrosoftError {
        let err = parse_error(&reply.body);
        let request_id = reply.request_id().or_else(|| err.request_id());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_envelope_with_nested_codes() {
        let body = br#"{"error":{"code":"TooManyRequests","message":"Please retry again later.","innerError":{"code":"429","date":"2020-08-18T12:51:51","request-id":"94fb3b52"}}}"#;
        let e = parse_error(body);
        assert_eq!(e.code, "TooManyRequests");
        assert_eq!(e.codes(), vec!["TooManyRequests", "429"]);
        assert_eq!(e.request_id().as_deref(), Some("94fb3b52"));
    }

    #[test]
    fn loose_error_shapes_are_understood() {
        let e = parse_error(br#"{"code":40301,"message":"Forbidden"}"#);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("40301", "Forbidden")
        );
        let e = parse_error(b"Service down");
        assert_eq!(e.message, "Service down");
    }
}
