//! Configuration of the Microsoft client: where Microsoft lives, who Teamline is to Entra ID,
//! and how patient the client is with a slow or throttling service.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::MicrosoftError;

/// Microsoft's public sign-in endpoint (Entra ID).
pub const DEFAULT_LOGIN_BASE: &str = "https://login.microsoftonline.com";
/// Microsoft Graph.
pub const DEFAULT_GRAPH_BASE: &str = "https://graph.microsoft.com";
/// The REST surface the Teams PowerShell module talks to ("ConfigAPI").
pub const DEFAULT_TEAMS_ADMIN_BASE: &str = "https://api.interfaces.records.teams.microsoft.com";

/// Everything the client needs to reach Microsoft on behalf of Teamline's multi-tenant app.
///
/// Every base URL is configurable so the same client can talk to the simulator; the defaults
/// are Microsoft's public endpoints. `Debug` never shows the client secret.
#[derive(Clone, Debug)]
pub struct MicrosoftConfig {
    /// Entra ID sign-in base, e.g. `https://login.microsoftonline.com`.
    pub login_base: Url,
    /// Microsoft Graph base (without `/v1.0`), e.g. `https://graph.microsoft.com`.
    pub graph_base: Url,
    /// Teams admin REST base used by Teams PowerShell.
    pub teams_admin_base: Url,
    /// The application (client) id of Teamline's multi-tenant app registration.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: SecretString,
    /// Where Entra ID sends the admin back after sign-in (must be registered on the app).
    pub redirect_uri: Url,
    /// Where Entra ID sends the admin back after granting admin consent; defaults to
    /// `redirect_uri` when absent.
    pub consent_redirect_uri: Option<Url>,
    /// An extra trusted root CA (PEM), e.g. the simulator's self-signed CA. Added to, not
    /// replacing, the system roots.
    pub extra_root_ca_pem: Option<String>,
    /// At most this many requests run at once against one customer tenant; other tenants
    /// are not affected.
    pub tenant_concurrency: usize,
    /// Connection and request time limits.
    pub timeouts: Timeouts,
    /// How throttling (429) and transient failures (503, 504) are retried.
    pub retry: RetryPolicy,
    /// How long-running Teams number operations are polled (also the pace of waiting for a
    /// policy Teamline just created to replicate to Graph).
    pub operation_polling: PollPolicy,
    /// How long after creating a policy Teamline keeps asking Graph for it before reporting
    /// it missing (Graph's policy service sees new policies after replication).
    pub policy_replication_wait: Duration,
}

impl MicrosoftConfig {
    /// A configuration for Microsoft's public cloud with default limits.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: SecretString,
        redirect_uri: Url,
    ) -> Self {
        Self {
            login_base: fixed_url(DEFAULT_LOGIN_BASE),
            graph_base: fixed_url(DEFAULT_GRAPH_BASE),
            teams_admin_base: fixed_url(DEFAULT_TEAMS_ADMIN_BASE),
            client_id: client_id.into(),
            client_secret,
            redirect_uri,
            consent_redirect_uri: None,
            extra_root_ca_pem: None,
            tenant_concurrency: 4,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            operation_polling: PollPolicy::default(),
            policy_replication_wait: Duration::from_secs(120),
        }
    }

    /// Points every base URL at one host, as the simulator serves Entra ID, Graph and the
    /// Teams admin REST surface from a single origin.
    pub fn with_single_base(mut self, base: Url) -> Self {
        self.login_base = base.clone();
        self.graph_base = base.clone();
        self.teams_admin_base = base;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), MicrosoftError> {
        if self.client_id.trim().is_empty() {
            return Err(MicrosoftError::Config(
                "the Microsoft application (client) id is empty: set it to the app registration's id".into(),
            ));
        }
        if self.tenant_concurrency == 0 {
            return Err(MicrosoftError::Config(
                "the per-tenant concurrency limit must be at least 1".into(),
            ));
        }
        for (name, url) in [
            ("login", &self.login_base),
            ("Graph", &self.graph_base),
            ("Teams admin", &self.teams_admin_base),
        ] {
            if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
                return Err(MicrosoftError::Config(format!(
                    "the Microsoft {name} base URL {url} is not an http(s) URL"
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn consent_redirect(&self) -> &Url {
        self.consent_redirect_uri
            .as_ref()
            .unwrap_or(&self.redirect_uri)
    }
}

/// Connection and per-request time limits.
#[derive(Clone, Debug)]
pub struct Timeouts {
    /// Time allowed to open a connection.
    pub connect: Duration,
    /// Time allowed for one whole request (one attempt), including reading the body.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// Retry policy for 429 / 503 / 504 and connection failures.
///
/// `Retry-After` is honoured when Microsoft sends it; otherwise the wait is exponential
/// back-off with full jitter. When the attempts or the total wait would be exceeded the
/// call fails with [`MicrosoftError::Throttled`] so a durable job can reschedule itself
/// instead of holding a worker.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per call, including the first.
    pub max_attempts: u32,
    /// The most the client sleeps in total for one call before giving up.
    pub max_total_wait: Duration,
    /// First back-off step when Microsoft gives no `Retry-After`.
    pub base_delay: Duration,
    /// Largest single back-off step.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            max_total_wait: Duration::from_secs(60),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Polling of Teams long-running number operations (assign / unassign).
#[derive(Clone, Debug)]
pub struct PollPolicy {
    /// Wait before the first poll.
    pub initial_interval: Duration,
    /// Largest wait between polls (the wait doubles up to this).
    pub max_interval: Duration,
    /// Give up (the operation may still complete) after this long.
    pub max_total: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            max_total: Duration::from_secs(120),
        }
    }
}

// The defaults are compile-time constants checked by the unit test below; parsing them
// cannot fail at run time.
#[allow(clippy::expect_used)]
fn fixed_url(s: &str) -> Url {
    Url::parse(s).expect("default Microsoft endpoint constants are valid URLs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_microsofts_public_endpoints() {
        let c = MicrosoftConfig::new(
            "app",
            SecretString::from("s3cret"),
            Url::parse("https://teamline.example/auth/callback").unwrap(),
        );
        assert_eq!(c.login_base.as_str(), "https://login.microsoftonline.com/");
        assert_eq!(c.graph_base.as_str(), "https://graph.microsoft.com/");
        assert_eq!(
            c.teams_admin_base.as_str(),
            "https://api.interfaces.records.teams.microsoft.com/"
        );
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
