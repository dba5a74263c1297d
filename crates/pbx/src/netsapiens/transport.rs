//! Sending requests to the NetSapiens API: authentication (API key or OAuth token with
//! refresh), retries with back-off on 5xx/429, timeouts, and turning network failures into
//! admin-readable errors.

use std::error::Error as StdError;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use super::settings::{RetryPolicy, Timeouts};
use super::wire;
use crate::error::PbxError;

/// Refresh an OAuth access token this long before it expires, so that a request never leaves
/// with a token about to lapse. Tokens that live shorter than this are refreshed before each
/// use.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// Token lifetime assumed when the token answer has no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// One API request, described well enough to retry it and to explain its failure.
pub(crate) struct Call {
    pub method: Method,
    /// Path segments after `/ns-api/v2/` (each is percent-encoded).
    pub path: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// What Teamline was trying to do, for error messages ("create device 1002tm on …").
    pub action: String,
    /// Safe to send again when the outcome of an attempt is unknown (GET, DELETE, tokens).
    pub idempotent: bool,
}

impl Call {
    pub fn get(path: Vec<String>, action: String) -> Self {
        Call {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            action,
            idempotent: true,
        }
    }
}

/// The PBX's answer to a call that was not retried away.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    /// How many times the request was sent (more than 1 after retries).
    pub attempts: u32,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The PBX's explanation of a failure, or `HTTP <status>` when it gave none.
    pub fn message(&self) -> String {
        wire::error_message(&self.body).unwrap_or_else(|| format!("HTTP {}", self.status.as_u16()))
    }
}

pub(crate) enum Auth {
    ApiKey(SecretString),
    OAuth(OAuth),
}

pub(crate) struct OAuth {
    pub client_id: String,
    pub client_secret: SecretString,
    pub username: String,
    pub password: SecretString,
    state: Mutex<TokenState>,
}

impl OAuth {
    pub fn new(
        client_id: String,
        client_secret: SecretString,
        username: String,
        password: SecretString,
    ) -> Self {
        OAuth {
            client_id,
            client_secret,
            username,
            password,
            state: Mutex::new(TokenState::default()),
        }
    }
}

#[derive(Default)]
struct TokenState {
    current: Option<Token>,
    /// Bumped for each new token, so that a 401 only invalidates the token it was seen with.
    generation: u64,
}

struct Token {
    access: SecretString,
    refresh: Option<SecretString>,
    expires_at: Instant,
}

enum Grant<'a> {
    Password,
    Refresh(&'a SecretString),
}

pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub api_root: Url,
    /// `api_root` without the trailing slash, for messages.
    pub display_url: String,
    pub auth: Auth,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
}

impl Transport {
    pub fn url(&self, path: &[String]) -> Url {
        let mut url = self.api_root.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path);
        }
        url
    }

    pub fn token_url(&self) -> String {
        self.url(&["tokens".to_owned()]).to_string()
    }

    /// Sends an authenticated call. A 401 becomes an error here: for an API key at once
    /// (the key is wrong), for OAuth after one retry with a refreshed token.
    pub async fn execute(&self, call: &Call) -> Result<Answer, PbxError> {
        match &self.auth {
            Auth::ApiKey(key) => {
                let answer = self.send(call, Some(key), self.retry).await?;
                if answer.status == StatusCode::UNAUTHORIZED {
                    return Err(PbxError::InvalidApiKey {
                        url: self.display_url.clone(),
                    });
                }
                Ok(answer)
            }
            Auth::OAuth(oauth) => {
                let mut refreshed_after_401 = false;
                loop {
                    let (token, generation) = self.bearer(oauth).await?;
                    let answer = self.send(call, Some(&token), self.retry).await?;
                    if answer.status != StatusCode::UNAUTHORIZED {
                        return Ok(answer);
                    }
                    if refreshed_after_401 {
                        return Err(PbxError::InvalidOAuthCredentials {
                            url: self.token_url(),
                            detail: format!(
                                "the API refused a freshly issued access token: {}",
                                answer.message()
                            ),
                        });
                    }
                    // The token expired or was revoked early: get another one and try once more.
                    self.invalidate(oauth, generation).await;
                    refreshed_after_401 = true;
                }
            }
        }
    }

    /// A valid access token, from cache, by refresh grant, or by password grant.
    pub async fn bearer(&self, oauth: &OAuth) -> Result<(SecretString, u64), PbxError> {
        // Held across the token request on purpose: concurrent callers wait for one refresh
        // instead of each spending the (single-use) refresh token.
        let mut st = oauth.state.lock().await;
        if let Some(t) = &st.current
            && t.expires_at > Instant::now() + REFRESH_MARGIN
        {
            return Ok((t.access.clone(), st.generation));
        }
        let old_refresh = st.current.as_ref().and_then(|t| t.refresh.clone());
        let answer = match &old_refresh {
            Some(refresh) => match self.token_request(oauth, Grant::Refresh(refresh)).await {
                Ok(a) => a,
                // A refused refresh token (expired, revoked, already used): sign in again.
                Err(PbxError::InvalidOAuthCredentials { .. }) => {
                    self.token_request(oauth, Grant::Password).await?
                }
                Err(e) => return Err(e),
            },
            None => self.token_request(oauth, Grant::Password).await?,
        };
        let lifetime = answer
            .expires_in_secs
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        st.generation += 1;
        st.current = Some(Token {
            access: answer.access_token.clone(),
            refresh: answer.refresh_token.or(old_refresh),
            expires_at: Instant::now() + lifetime,
        });
        tracing::debug!(
            lifetime_secs = lifetime.as_secs(),
            "obtained a NetSapiens access token"
        );
        Ok((answer.access_token, st.generation))
    }

    async fn invalidate(&self, oauth: &OAuth, generation: u64) {
        let mut st = oauth.state.lock().await;
        if st.generation == generation
            && let Some(t) = st.current.as_mut()
        {
            t.expires_at = Instant::now();
        }
    }

    async fn token_request(
        &self,
        oauth: &OAuth,
        grant: Grant<'_>,
    ) -> Result<wire::TokenAnswer, PbxError> {
        let body = match grant {
            Grant::Password => json!({
                "grant_type": "password",
                "client_id": oauth.client_id,
                "client_secret": oauth.client_secret.expose_secret(),
                "username": oauth.username,
                "password": oauth.password.expose_secret(),
            }),
            Grant::Refresh(refresh) => json!({
                "grant_type": "refresh_token",
                "client_id": oauth.client_id,
                "client_secret": oauth.client_secret.expose_secret(),
                "refresh_token": refresh.expose_secret(),
            }),
        };
        let call = Call {
            method: Method::POST,
            path: vec!["tokens".to_owned()],
            query: Vec::new(),
            body: Some(body),
            action: "sign in to the NetSapiens API".to_owned(),
            idempotent: true,
        };
        let answer = self.send(&call, None, self.retry).await?;
        match answer.status.as_u16() {
            200..=299 => answer
                .json()
                .as_ref()
                .and_then(wire::token_answer)
                .ok_or_else(|| PbxError::UnexpectedResponse {
                    action: call.action.clone(),
                    detail: "the token answer has no access_token".to_owned(),
                }),
            400 | 401 | 403 => Err(PbxError::InvalidOAuthCredentials {
                url: self.token_url(),
                detail: answer.message(),
            }),
            404 => Err(PbxError::InvalidSettings {
                field: "API base URL",
                problem: format!(
                    "has no NetSapiens v2 token endpoint ({} answered 404)",
                    self.token_url()
                ),
            }),
            status => Err(PbxError::UnexpectedResponse {
                action: call.action.clone(),
                detail: format!("the token endpoint answered HTTP {status}"),
            }),
        }
    }

    /// Sends `call` with retries; returns every answer that is not a retryable failure.
    pub async fn send(
        &self,
        call: &Call,
        bearer: Option<&SecretString>,
        retry: RetryPolicy,
    ) -> Result<Answer, PbxError> {
        let url = self.url(&call.path);
        let mut retries = 0u32;
        loop {
            let attempts = retries + 1;
            let mut req = self
                .http
                .request(call.method.clone(), url.clone())
                .header(ACCEPT, "application/json");
            if !call.query.is_empty() {
                req = req.query(&call.query);
            }
            if let Some(token) = bearer {
                req = req.bearer_auth(token.expose_secret());
            }
            if let Some(body) = &call.body {
                req = req.json(body);
            }
            let sent = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(resp.headers());
                    resp.bytes()
                        .await
                        .map(|b| (status, retry_after, b.to_vec()))
                }
                Err(e) => Err(e),
            };
            let (status, retry_after, body) = match sent {
                Ok(parts) => parts,
                Err(e) => {
                    let err = self.transport_error(&e);
                    // A refused connection never reached the PBX, so even a create is safe to
                    // resend; other failures leave the outcome unknown.
                    let resend_ok =
                        (call.idempotent || e.is_connect()) && !matches!(err, PbxError::Tls { .. });
                    if resend_ok && retries < retry.max_retries {
                        tracing::debug!(action = %call.action, error = %err, "retrying NetSapiens request");
                        tokio::time::sleep(retry.backoff(retries)).await;
                        retries += 1;
                        continue;
                    }
                    return Err(err);
                }
            };
            tracing::debug!(method = %call.method, path = %url.path(), status = status.as_u16(), attempts, "NetSapiens API answer");
            if status == StatusCode::TOO_MANY_REQUESTS {
                if let Some(wait) = retry_after
                    && wait > retry.max_retry_after
                {
                    return Err(PbxError::RateLimited {
                        action: call.action.clone(),
                        retry_after: Some(wait),
                    });
                }
                if retries < retry.max_retries {
                    tokio::time::sleep(retry_after.unwrap_or_else(|| retry.backoff(retries))).await;
                    retries += 1;
                    continue;
                }
                return Err(PbxError::RateLimited {
                    action: call.action.clone(),
                    retry_after,
                });
            }
            if status.is_server_error() {
                // 502/503/504 come from in front of the application: the request was not
                // processed, so a create may be resent too.
                let resend_ok = call.idempotent || matches!(status.as_u16(), 502..=504);
                if resend_ok && retries < retry.max_retries {
                    let wait = retry_after
                        .filter(|d| *d <= retry.max_retry_after)
                        .unwrap_or_else(|| retry.backoff(retries));
                    tokio::time::sleep(wait).await;
                    retries += 1;
                    continue;
                }
                return Err(PbxError::ServerError {
                    action: call.action.clone(),
                    status: status.as_u16(),
                    url: self.display_url.clone(),
                });
            }
            return Ok(Answer {
                status,
                body,
                attempts,
            });
        }
    }

    pub fn transport_error(&self, e: &reqwest::Error) -> PbxError {
        let url = self.display_url.clone();
        if let Some(detail) = tls_problem(e) {
            return PbxError::Tls { url, detail };
        }
        if e.is_timeout() && !e.is_connect() {
            return PbxError::Timeout {
                url,
                after: self.timeouts.request,
            };
        }
        let detail = if e.is_timeout() {
            "the connection timed out".to_owned()
        } else {
            root_cause(e)
        };
        // For the operator only: the admin's message does not say why (see `Unreachable`).
        tracing::warn!(%url, %detail, "could not reach a PBX API");
        PbxError::Unreachable { url, detail }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare on APIs and falls back to back-off).
/// `Retry-After` in seconds or as an HTTP date (RFC 9110 allows both).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(v, std::time::SystemTime::now())
}

fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The innermost cause of a network error ("Connection refused (os error 111)", "dns error:
/// …"), without the URL and request details reqwest wraps around it.
fn root_cause(e: &reqwest::Error) -> String {
    let mut cur: &(dyn StdError + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A TLS failure somewhere in the error chain (certificate, handshake, protocol).
fn tls_problem(e: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r.to_string());
        }
        // `io::Error` hides its payload from `source()`, and connectors nest them
        // (`Custom { Other, Custom { InvalidData, rustls::Error } }`): unwrap every layer.
        let mut io = err.downcast_ref::<std::io::Error>();
        while let Some(inner) = io.and_then(std::io::Error::get_ref) {
            if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                return Some(r.to_string());
            }
            io = inner.downcast_ref::<std::io::Error>();
        }
        cur = err.source();
    }
    let text = root_cause(e).to_ascii_lowercase();
    (text.contains("certificate") || text.contains("handshake") || text.contains("tls"))
        .then(|| root_cause(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_are_read() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn retry_after_as_an_http_date_is_the_time_left() {
        // Wed, 21 Oct 2015 07:28:00 GMT
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at - Duration::from_secs(5)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at + Duration::from_secs(5)),
            Some(Duration::ZERO)
        );
    }
}
