//! What a NetSapiens client needs to know: where the API is, which domain, how to
//! authenticate, where those credentials may be sent, and which network it may reach. Built
//! by the caller from the PBX location settings (the Store decrypts the secrets); this crate
//! stores nothing.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::PbxError;
use crate::network::NetworkPolicy;

/// Settings of one NetSapiens PBX location.
#[derive(Debug, Clone)]
pub struct NetSapiensSettings {
    /// The portal/API host, e.g. `https://pbx.example.com`. A URL ending in `/ns-api` or
    /// `/ns-api/v2` is accepted too.
    pub api_base_url: String,
    /// The enterprise's SIP domain on the PBX, e.g. `contoso`.
    pub domain: String,
    pub auth: NetSapiensAuth,
    /// Where `auth` may be sent: the API and domain the credentials were entered for. The
    /// client refuses to start when this differs from `api_base_url` and `domain`, so a stored
    /// key never reaches a host (or a domain) other than the one it was saved with.
    pub credentials_for: CredentialScope,
    /// Which hosts the client may connect to (default: https on public addresses).
    pub network: NetworkPolicy,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
}

impl NetSapiensSettings {
    /// Settings for credentials entered for this API and domain, with the default network
    /// policy, timeouts and retries.
    pub fn new(
        api_base_url: impl Into<String>,
        domain: impl Into<String>,
        auth: NetSapiensAuth,
    ) -> Self {
        let api_base_url = api_base_url.into();
        let domain = domain.into();
        NetSapiensSettings {
            credentials_for: CredentialScope {
                api_base_url: api_base_url.clone(),
                domain: domain.clone(),
            },
            api_base_url,
            domain,
            auth,
            network: NetworkPolicy::default(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// Says where stored credentials were saved for (they are only used there).
    #[must_use]
    pub fn credentials_saved_for(mut self, scope: CredentialScope) -> Self {
        self.credentials_for = scope;
        self
    }

    #[must_use]
    pub fn network(mut self, network: NetworkPolicy) -> Self {
        self.network = network;
        self
    }

    /// Checks that the credentials belong to this API and domain.
    pub(crate) fn check_credentials_scope(&self, api_root: &Url) -> Result<(), PbxError> {
        let bound = &self.credentials_for;
        let bound_root = self::api_root(&bound.api_base_url)?;
        if bound_root != *api_root {
            return Err(PbxError::CredentialsBoundElsewhere {
                field: "API base URL",
                saved_for: bound_root.as_str().trim_end_matches('/').to_owned(),
                requested: api_root.as_str().trim_end_matches('/').to_owned(),
            });
        }
        if !bound.domain.trim().eq_ignore_ascii_case(self.domain.trim()) {
            return Err(PbxError::CredentialsBoundElsewhere {
                field: "SIP domain",
                saved_for: bound.domain.clone(),
                requested: self.domain.clone(),
            });
        }
        Ok(())
    }
}

/// The API and SIP domain a set of credentials was saved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub api_base_url: String,
    pub domain: String,
}

/// How Teamline authenticates to the NetSapiens API. `Debug` never shows the secrets.
#[derive(Debug, Clone)]
pub enum NetSapiensAuth {
    /// A v44+ API key, sent as `Authorization: Bearer <key>`.
    ApiKey(SecretString),
    /// OAuth password grant (`POST /ns-api/v2/tokens`) with an OAuth client and a masquerade
    /// login (a reseller- or office-manager-scope user).
    OAuth {
        client_id: String,
        client_secret: SecretString,
        username: String,
        password: SecretString,
    },
}

/// Network time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish the TCP (and TLS) connection.
    pub connect: Duration,
    /// For one whole request, from sending to the end of the answer.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(20),
        }
    }
}

/// Retries of requests that failed for a passing reason (5xx, 429, connection refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// Wait before the first retry; doubles for each further retry.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` Teamline waits for; a longer one fails the call at once with a
    /// "try again in N s" message instead of holding a job.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// The v2 API root (`…/ns-api/v2/`, with a trailing slash so paths can be appended).
pub fn api_root(base: &str) -> Result<Url, PbxError> {
    let invalid = |problem: String| PbxError::InvalidSettings {
        field: "API base URL",
        problem,
    };
    let trimmed = base.trim();
    if trimmed.is_empty() {
        return Err(invalid("is empty".to_owned()));
    }
    let mut url =
        Url::parse(trimmed).map_err(|e| invalid(format!("'{trimmed}' is not a URL ({e})")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid(format!(
            "must start with https:// (got {}://)",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host name".to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "must not contain a user name or password; put credentials in the API fields"
                .to_owned(),
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_owned();
    let path = if path.ends_with("/ns-api/v2") {
        path
    } else if path.ends_with("/ns-api") {
        format!("{path}/v2")
    } else {
        format!("{path}/ns-api/v2")
    };
    url.set_path(&format!("{path}/"));
    Ok(url)
}

/// A domain name as it may appear in a path: what NetSapiens documents for `domain`.
pub fn check_domain(domain: &str) -> Result<(), PbxError> {
    let ok = !domain.is_empty()
        && domain.len() <= 64
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(PbxError::InvalidSettings {
            field: "SIP domain",
            problem: format!(
                "'{domain}' must be 1 to 64 letters, digits, dots, hyphens or underscores"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised_to_the_v2_root() {
        for (input, want) in [
            (
                "https://pbx.example.com",
                "https://pbx.example.com/ns-api/v2/",
            ),
            (
                "https://pbx.example.com/",
                "https://pbx.example.com/ns-api/v2/",
            ),
            (
                "https://pbx.example.com/ns-api",
                "https://pbx.example.com/ns-api/v2/",
            ),
            (
                "https://pbx.example.com/ns-api/v2/",
                "https://pbx.example.com/ns-api/v2/",
            ),
            (
                " http://127.0.0.1:8080 ",
                "http://127.0.0.1:8080/ns-api/v2/",
            ),
            (
                "https://h.example/portal",
                "https://h.example/portal/ns-api/v2/",
            ),
        ] {
            assert_eq!(
                api_root(input).map(|u| u.to_string()),
                Ok(want.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn bad_base_urls_are_explained() {
        for bad in [
            "",
            "pbx.example.com",
            "ftp://pbx.example.com",
            "https://user:pw@pbx.example.com",
        ] {
            let err = api_root(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("the PBX settings are invalid: API base URL"),
                "{bad}: {err}"
            );
            assert!(!err.contains("pw@"), "{err}");
        }
    }

    #[test]
    fn domains_with_spaces_are_refused() {
        assert!(check_domain("contoso").is_ok());
        assert!(check_domain("pbx.contoso-1.example").is_ok());
        let err = check_domain("con toso").unwrap_err().to_string();
        assert!(
            err.contains("SIP domain") && err.contains("con toso"),
            "{err}"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0), Duration::from_millis(250));
        assert_eq!(p.backoff(1), Duration::from_millis(500));
        assert_eq!(p.backoff(10), Duration::from_secs(5));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn debug_hides_secrets() {
        let s = NetSapiensSettings::new(
            "https://pbx.example.com",
            "contoso",
            NetSapiensAuth::OAuth {
                client_id: "id".into(),
                client_secret: SecretString::from("client-secret-value"),
                username: "u@d".into(),
                password: SecretString::from("login-password-value"),
            },
        );
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("client-secret-value") && !shown.contains("login-password-value"),
            "{shown}"
        );
        let k = format!(
            "{:?}",
            NetSapiensAuth::ApiKey(SecretString::from("nsr_supersecret"))
        );
        assert!(!k.contains("nsr_supersecret"), "{k}");
    }
}
