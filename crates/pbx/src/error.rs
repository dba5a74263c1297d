//! Errors of PBX calls, written for the admin who reads them: what failed, which object,
//! what to do. They never carry keys, passwords, tokens or raw HTTP bodies.

use std::time::Duration;

/// Why a PBX call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PbxError {
    /// The PBX settings themselves are unusable (e.g. a malformed API base URL).
    #[error("the PBX settings are invalid: {field} {problem}")]
    InvalidSettings {
        field: &'static str,
        problem: String,
    },

    /// A value passed by Teamline cannot be sent to the PBX (e.g. an empty device id).
    #[error("{what} is not valid: {problem}")]
    InvalidInput { what: String, problem: String },

    /// Nothing usable answered: refused, unresolvable, blocked by the network policy, or
    /// closed. The message never says which (that would map the network behind Teamline);
    /// `detail` goes to the log only.
    #[error(
        "could not reach the PBX API at {url}: check the API Base URL in PBX settings and that the PBX is reachable from Teamline"
    )]
    Unreachable { url: String, detail: String },

    /// Stored credentials asked to go somewhere other than where they were saved for.
    #[error(
        "the stored PBX credentials were saved for the {field} {saved_for}, so Teamline does not send them to {requested}: enter the credentials again in PBX settings"
    )]
    CredentialsBoundElsewhere {
        field: &'static str,
        saved_for: String,
        requested: String,
    },

    #[error(
        "the secure (TLS) connection to {url} failed: {detail}. Check that the API base URL uses the PBX portal's host name and that its certificate is valid"
    )]
    Tls { url: String, detail: String },

    #[error("the NetSapiens API at {url} did not answer within {} s; try again, or check the PBX's load", .after.as_secs_f32())]
    Timeout { url: String, after: Duration },

    #[error("the NetSapiens API rejected the API key for {url}: check the key in PBX settings")]
    InvalidApiKey { url: String },

    #[error(
        "the NetSapiens token endpoint {url} rejected the OAuth credentials ({detail}): check the client id, client secret, masquerade login and password in PBX settings"
    )]
    InvalidOAuthCredentials { url: String, detail: String },

    #[error(
        "the NetSapiens API credentials are not allowed to {action} ({detail}): check that the API key is not read-only and that the key or masquerade login has Office Manager or Reseller scope for domain {domain}"
    )]
    PermissionDenied {
        action: String,
        domain: String,
        detail: String,
    },

    #[error(
        "domain {domain} does not exist on the NetSapiens PBX at {url}: check the SIP domain in PBX settings"
    )]
    DomainNotFound { domain: String, url: String },

    #[error("extension {extension} does not exist in domain {domain}")]
    ExtensionNotFound { extension: String, domain: String },

    #[error("device {device} does not exist on extension {extension} in domain {domain}")]
    DeviceNotFound {
        device: String,
        extension: String,
        domain: String,
    },

    #[error("device {device} already exists on extension {extension} in domain {domain}")]
    DeviceExists {
        device: String,
        extension: String,
        domain: String,
    },

    #[error(
        "the PBX requires an emergency address to create device {device} on extension {extension} in domain {domain}: choose one of the extension's emergency addresses or add one ({detail})"
    )]
    EmergencyAddressRequired {
        device: String,
        extension: String,
        domain: String,
        detail: String,
    },

    #[error(
        "the PBX accepted device {device} on extension {extension} in domain {domain} but it is not readable yet; check again in a minute"
    )]
    DeviceNotVisibleYet {
        device: String,
        extension: String,
        domain: String,
    },

    #[error(
        "the PBX did not disclose the SIP password of device {device} on extension {extension} in domain {domain}: the API credentials need a scope that can read device passwords"
    )]
    PasswordNotDisclosed {
        device: String,
        extension: String,
        domain: String,
    },

    /// The PBX refused the request (400/409/422…) for a reason not covered above; `message` is
    /// the PBX's own explanation.
    #[error("the NetSapiens PBX refused to {action}: {message}")]
    Rejected {
        action: String,
        status: u16,
        message: String,
    },

    #[error(
        "the NetSapiens API is rate limiting Teamline (HTTP 429) while trying to {action}; try again{}",
        retry_hint(.retry_after)
    )]
    RateLimited {
        action: String,
        retry_after: Option<Duration>,
    },

    #[error(
        "the NetSapiens API at {url} failed (HTTP {status}) while trying to {action}, also after retrying; the PBX may be down or overloaded, try again later"
    )]
    ServerError {
        action: String,
        status: u16,
        url: String,
    },

    #[error(
        "the NetSapiens API answered in a way Teamline does not understand while trying to {action}: {detail}"
    )]
    UnexpectedResponse { action: String, detail: String },
}

fn retry_hint(after: &Option<Duration>) -> String {
    match after {
        Some(d) => format!(" in {} s", d.as_secs().max(1)),
        None => " later".to_owned(),
    }
}

impl PbxError {
    /// Errors worth retrying later without anybody changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PbxError::Unreachable { .. }
                | PbxError::Timeout { .. }
                | PbxError::RateLimited { .. }
                | PbxError::ServerError { .. }
                | PbxError::DeviceNotVisibleYet { .. }
        )
    }

    /// Errors that mean the PBX settings (URL, credentials, domain) must be fixed.
    pub fn is_settings_problem(&self) -> bool {
        matches!(
            self,
            PbxError::InvalidSettings { .. }
                | PbxError::CredentialsBoundElsewhere { .. }
                | PbxError::Tls { .. }
                | PbxError::InvalidApiKey { .. }
                | PbxError::InvalidOAuthCredentials { .. }
                | PbxError::PermissionDenied { .. }
                | PbxError::DomainNotFound { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_object() {
        let e = PbxError::DeviceExists {
            device: "1002tm".into(),
            extension: "1002".into(),
            domain: "contoso".into(),
        };
        assert_eq!(
            e.to_string(),
            "device 1002tm already exists on extension 1002 in domain contoso"
        );
        let e = PbxError::ExtensionNotFound {
            extension: "1099".into(),
            domain: "contoso".into(),
        };
        assert_eq!(
            e.to_string(),
            "extension 1099 does not exist in domain contoso"
        );
        let e = PbxError::InvalidApiKey {
            url: "https://pbx.example/ns-api/v2".into(),
        };
        assert_eq!(
            e.to_string(),
            "the NetSapiens API rejected the API key for https://pbx.example/ns-api/v2: check the key in PBX settings"
        );
        let e = PbxError::RateLimited {
            action: "list extensions".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        assert!(e.to_string().ends_with("try again in 30 s"), "{e}");
    }
}
