//! The HTTP layer every Microsoft call goes through: one shared reqwest client, a
//! `client-request-id` on every request, `request-id` kept for support, honouring of
//! `Retry-After` on 429/503/504 with a bounded budget, and a per-tenant concurrency limit.
//!
//! `Retry-After` is honoured per tenant, not only per request: once Microsoft asks Teamline
//! to wait, no request to that tenant leaves before the time is up. Calls either wait for it
//! (within their budget, see [`crate::throttle`]) or fail at once with
//! [`MicrosoftError::Throttled`] so a durable job can step aside for other tenants.
//!
//! The transport knows HTTP, not any service's error format: it hands back status, headers and
//! body, or a [`TransportError`] that the calling surface words with its own envelope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{RequestBuilder, StatusCode};
use tokio::sync::Semaphore;

use crate::config::{MicrosoftConfig, RetryPolicy};
use crate::error::MicrosoftError;

/// Header Microsoft uses to correlate a request with its logs; we send a fresh one per call.
pub(crate) const CLIENT_REQUEST_ID: &str = "client-request-id";

/// An HTTP answer that the retry layer did not absorb (anything but a retried 429/5xx).
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Why [`Http::send`] has no answer for its caller. The surface that made the call (Graph, the
/// Teams admin REST surface, Entra ID) turns it into a [`MicrosoftError`] with
/// [`TransportError::into_error`], reading the request id from its own error envelope.
pub(crate) enum TransportError {
    /// Microsoft kept answering 429 / 503 / 504 past the retry budget: its last answer, and
    /// the wait it asked for (or the back-off that would have come next).
    GaveUp {
        what: String,
        tenant: String,
        reply: Reply,
        wait: Duration,
    },
    /// An earlier `Retry-After` holds the tenant for longer than this call may wait; nothing
    /// was sent.
    Held { tenant: String, wait: Duration },
    /// Microsoft was not reached, or did not answer in time.
    Network { what: String, detail: String },
    /// The per-tenant limiter was closed.
    LimiterClosed,
}

impl TransportError {
    /// The admin-facing error; `request_id` reads Microsoft's request id from a reply in the
    /// calling surface's format.
    pub fn into_error(self, request_id: impl FnOnce(&Reply) -> Option<String>) -> MicrosoftError {
        match self {
            Self::GaveUp {
                tenant,
                reply,
                wait,
                ..
            } if reply.status == StatusCode::TOO_MANY_REQUESTS => MicrosoftError::Throttled {
                tenant_id: tenant,
                retry_after: wait,
                request_id: request_id(&reply),
            },
            Self::GaveUp { what, reply, .. } => MicrosoftError::Unavailable {
                what,
                status: reply.status.as_u16(),
                retry_after: retry_after(&reply.headers),
                request_id: request_id(&reply),
            },
            Self::Held { tenant, wait } => MicrosoftError::Throttled {
                tenant_id: tenant,
                retry_after: wait,
                request_id: None,
            },
            Self::Network { what, detail } => MicrosoftError::Network { what, detail },
            Self::LimiterClosed => {
                MicrosoftError::Config("the per-tenant request limiter was closed".into())
            }
        }
    }
}

/// What the retry layer needs to know about one logical call.
pub(crate) struct CallInfo<'a> {
    /// Admin-facing description of the call, e.g. "list the users of the tenant".
    pub what: &'a str,
    /// The customer tenant the call is about; also the key of the concurrency limit.
    pub tenant: &'a str,
    /// Whether the request may be sent again after a transport error that may have reached
    /// the server (GETs and other idempotent requests).
    pub idempotent: bool,
    /// Whether the call counts against the tenant's concurrency limit. Token requests do
    /// not: they are made while a tenant call waits for its token.
    pub limited: bool,
}

pub(crate) struct Http {
    client: reqwest::Client,
    retry: RetryPolicy,
    tenant_concurrency: usize,
    limits: Mutex<HashMap<String, Arc<TenantLimit>>>,
}

/// What limits the requests to one tenant: how many may run at once, and the time before
/// which none may be sent (the latest `Retry-After` Microsoft gave).
struct TenantLimit {
    in_flight: Semaphore,
    not_before: Mutex<Option<Instant>>,
}

impl TenantLimit {
    fn wait_needed(&self) -> Option<Duration> {
        let gate = *self
            .not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        gate.and_then(|at| at.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    fn pause_until(&self, at: Instant) {
        let mut gate = self
            .not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if gate.is_none_or(|g| g < at) {
            *gate = Some(at);
        }
    }
}

impl Http {
    pub fn new(config: &MicrosoftConfig) -> Result<Self, MicrosoftError> {
        // One crypto provider for the whole process; an error only means it is already set.
        let _ = rustls::crypto::ring::default_provider().install_default();

        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .timeout(config.timeouts.request)
            .user_agent(concat!("Teamline/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(60));
        if let Some(pem) = &config.extra_root_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                MicrosoftError::Config(format!(
                    "the extra trusted root CA is not a valid PEM certificate: {e}"
                ))
            })?;
            if certs.is_empty() {
                return Err(MicrosoftError::Config(
                    "the extra trusted root CA contains no PEM certificate".into(),
                ));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| {
            MicrosoftError::Config(format!("could not set up the HTTPS client: {e}"))
        })?;
        Ok(Self {
            client,
            retry: config.retry.clone(),
            tenant_concurrency: config.tenant_concurrency,
            limits: Mutex::new(HashMap::new()),
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    fn limit_for(&self, tenant: &str) -> Arc<TenantLimit> {
        let mut map = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(tenant.to_owned())
            .or_insert_with(|| {
                Arc::new(TenantLimit {
                    in_flight: Semaphore::new(self.tenant_concurrency),
                    not_before: Mutex::new(None),
                })
            })
            .clone()
    }

    /// Holds every request to `tenant` for `wait` (a `Retry-After` seen outside [`Http::send`],
    /// e.g. on one item of a `$batch`).
    pub fn pause_tenant(&self, tenant: &str, wait: Duration) {
        self.limit_for(tenant).pause_until(Instant::now() + wait);
    }

    /// How long this call may still wait for Microsoft, given what it already waited.
    fn budget_left(&self, waited: Duration) -> Duration {
        crate::throttle::max_wait()
            .unwrap_or(self.retry.max_total_wait)
            .min(self.retry.max_total_wait)
            .saturating_sub(waited)
    }

    /// Sends the request built by `build` (called once per attempt), retrying throttling and
    /// transient failures within the retry budget. Any other answer is returned as is.
    pub async fn send(
        &self,
        info: &CallInfo<'_>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Reply, TransportError> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let limit = info.limited.then(|| self.limit_for(info.tenant));
        let mut attempt: u32 = 0;
        let mut waited = Duration::ZERO;
        loop {
            attempt += 1;
            let outcome = {
                // Held for the request only, never while sleeping, so a throttled tenant
                // does not block its own other calls longer than needed.
                let _permit = match &limit {
                    Some(limit) => {
                        let permit = limit
                            .in_flight
                            .acquire()
                            .await
                            .map_err(|_| TransportError::LimiterClosed)?;
                        // Checked with the permit held: a request that was answered 429
                        // sets the gate before it gives its permit back, so no other call
                        // can slip through in between.
                        if let Some(wait) = limit.wait_needed() {
                            drop(permit);
                            if wait > self.budget_left(waited) {
                                return Err(TransportError::Held {
                                    tenant: info.tenant.to_owned(),
                                    wait,
                                });
                            }
                            tracing::debug!(
                                tenant = info.tenant,
                                what = info.what,
                                wait_ms = wait.as_millis() as u64,
                                "Microsoft asked to wait before the next request to this tenant"
                            );
                            waited += wait;
                            tokio::time::sleep(wait).await;
                            attempt -= 1;
                            continue;
                        }
                        Some(permit)
                    }
                    None => None,
                };
                let request = build().header(CLIENT_REQUEST_ID, client_request_id.as_str());
                match request.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        let headers = resp.headers().clone();
                        if let (Some(limit), true) = (&limit, is_transient(status))
                            && let Some(server) = retry_after(&headers)
                        {
                            // The whole tenant waits, not just this request; set before the
                            // permit is released (see above).
                            limit.pause_until(Instant::now() + server);
                        }
                        match resp.bytes().await {
                            Ok(body) => Ok(Reply {
                                status,
                                headers,
                                body: Vec::from(body),
                            }),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            };

            match outcome {
                Ok(reply) if is_transient(reply.status) => {
                    let suggested = retry_after(&reply.headers);
                    let wait = suggested.unwrap_or_else(|| self.backoff(attempt));
                    if attempt >= self.retry.max_attempts || wait > self.budget_left(waited) {
                        return Err(TransportError::GaveUp {
                            what: info.what.to_owned(),
                            tenant: info.tenant.to_owned(),
                            reply,
                            wait: suggested.unwrap_or(wait),
                        });
                    }
                    tracing::debug!(
                        tenant = info.tenant,
                        what = info.what,
                        status = reply.status.as_u16(),
                        wait_ms = wait.as_millis() as u64,
                        request_id = reply.header("request-id").unwrap_or(""),
                        "Microsoft asked us to slow down; waiting before retrying"
                    );
                    waited += wait;
                    tokio::time::sleep(wait).await;
                }
                Ok(reply) => return Ok(reply),
                Err(e) => {
                    // A connect error never reached Microsoft, so even a POST is safe to resend.
                    let resendable = info.idempotent || e.is_connect();
                    let wait = self.backoff(attempt);
                    if !resendable
                        || attempt >= self.retry.max_attempts
                        || waited + wait > self.retry.max_total_wait
                    {
                        return Err(TransportError::Network {
                            what: info.what.to_owned(),
                            detail: describe(&e),
                        });
                    }
                    tracing::debug!(tenant = info.tenant, what = info.what, error = %describe(&e), "retrying after a transport error");
                    waited += wait;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Exponential back-off with full jitter: a random wait in [0, min(max, base·2^(n-1))].
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.retry.max_delay);
        let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(if cap_ms == 0 {
            0
        } else {
            rand::random_range(0..=cap_ms)
        })
    }
}

fn is_transient(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// `Retry-After` as delta-seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header_str(headers, "retry-after")?;
    parse_retry_after(value, SystemTime::now())
}

pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A transport error as text: reqwest's top-level message plus its causes, without the URL.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "the request timed out".to_owned()
    } else {
        String::new()
    };
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        let part = err.to_string();
        if !part.is_empty() && !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        source = err.source();
    }
    if text.is_empty() {
        "unknown transport error".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("10", now), Some(Duration::from_secs(10)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
