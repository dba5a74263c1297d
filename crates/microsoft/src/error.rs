//! The one error type of this crate. Every message says what failed, for which object, and
//! what an administrator should do about it. No message ever contains a token or a secret.

use std::time::Duration;

/// A failed call to Microsoft, as an admin-facing, typed error.
///
/// The engine uses [`is_retryable`](Self::is_retryable) and
/// [`retry_after`](Self::retry_after) to decide whether a durable job reschedules itself;
/// [`request_id`](Self::request_id) is Microsoft's `request-id`, to quote to Microsoft support.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MicrosoftError {
    /// Teamline's own Microsoft settings are wrong.
    #[error("the Microsoft connection is misconfigured: {0}")]
    Config(String),

    // ----- Entra ID: sign-in, consent, app-only tokens -----
    /// The app has no consent (no permission grant) in the tenant (AADSTS65001).
    #[error(
        "Teamline has not been granted consent in tenant {tenant_id}: sign in as a Global Administrator of that tenant and grant consent"
    )]
    ConsentRequired {
        /// The customer tenant.
        tenant_id: String,
    },
    /// The app does not exist in the tenant: admin consent was never given there, or was
    /// removed (AADSTS700016).
    #[error(
        "Teamline's app is not registered in tenant {tenant_id} (AADSTS700016): a Global Administrator of that tenant must sign in and grant admin consent"
    )]
    AppNotInTenant {
        /// The customer tenant.
        tenant_id: String,
    },
    /// Consent needs an administrator (AADSTS90094 / AADSTS90008).
    #[error(
        "granting consent needs an administrator: sign in with a Global Administrator account of the tenant and grant consent again"
    )]
    AdminConsentRequired,
    /// The administrator declined consent, or was not allowed to give it (e.g. AADSTS65004).
    #[error(
        "consent was not granted: {description}. Sign in as a Global Administrator and accept the permissions Teamline asks for"
    )]
    ConsentDeclined {
        /// Microsoft's explanation.
        description: String,
    },
    /// Microsoft rejected Teamline's client secret (AADSTS7000215, AADSTS7000222).
    #[error(
        "Microsoft rejected Teamline's client secret ({code}): create a new client secret for the app registration and update Teamline's configuration"
    )]
    InvalidClientSecret {
        /// The AADSTS code.
        code: String,
    },
    /// The redirect URI is not registered on the app (AADSTS50011).
    #[error(
        "the sign-in redirect URI {redirect_uri} is not registered on Teamline's app (AADSTS50011): add it under Authentication in the app registration, or fix Teamline's public URL"
    )]
    RedirectUriMismatch {
        /// The redirect URI Teamline sent.
        redirect_uri: String,
    },
    /// No such tenant in Entra ID (AADSTS90002).
    #[error(
        "Microsoft does not know the tenant {tenant_id} (AADSTS90002): check the enterprise's Microsoft tenant id"
    )]
    UnknownTenant {
        /// The tenant Teamline asked for.
        tenant_id: String,
    },
    /// Any other sign-in or token error from Entra ID.
    #[error("Microsoft sign-in failed ({code}): {description}")]
    SignInRejected {
        /// OAuth error or AADSTS code.
        code: String,
        /// Microsoft's description (without trace ids).
        description: String,
    },
    /// The `state` of the callback does not match the sign-in this browser started.
    #[error(
        "the Microsoft sign-in answer does not belong to this browser session: start the sign-in again"
    )]
    StateMismatch,
    /// The id_token failed validation.
    #[error(
        "Microsoft's sign-in answer could not be verified ({problem}): start the sign-in again; if this keeps happening check this server's clock"
    )]
    InvalidIdToken {
        /// What was wrong, without the token.
        problem: String,
    },

    /// Microsoft Graph did not tell which directory roles the signed-in admin holds (only
    /// asked when the ID token carries no `wids` claim).
    #[error(
        "Teamline could not read your directory roles from Microsoft Graph (HTTP {status}, {code}: {message}): make sure Teamline's app registration has the delegated Microsoft Graph permission User.Read, then sign in again"
    )]
    RoleCheckFailed {
        /// HTTP status of Graph's answer.
        status: u16,
        /// Graph's error code.
        code: String,
        /// Graph's message.
        message: String,
    },

    // ----- Graph and Teams administration, generic -----
    /// Microsoft did not accept Teamline's app token for the tenant.
    #[error(
        "Microsoft rejected Teamline's credentials for tenant {tenant_id} (HTTP 401{}): check that consent is still granted in that tenant",
        fmt_request_id(.request_id)
    )]
    Unauthorized {
        /// The customer tenant.
        tenant_id: String,
        /// Microsoft's request id.
        request_id: Option<String>,
    },
    /// The app lacks a permission or an admin role in the tenant (HTTP 403).
    #[error(
        "Teamline is not allowed to {what} in tenant {tenant_id} ({code}: {message}{}): a Global Administrator must grant consent again so Teamline gets the permissions it needs",
        fmt_request_id(.request_id)
    )]
    AccessDenied {
        /// The customer tenant.
        tenant_id: String,
        /// What Teamline tried to do.
        what: String,
        /// Graph error code, e.g. `Authorization_RequestDenied`.
        code: String,
        /// Microsoft's message.
        message: String,
        /// Microsoft's request id.
        request_id: Option<String>,
    },
    /// The object does not exist (HTTP 404).
    #[error("{what} was not found in Microsoft 365{}", fmt_request_id(.request_id))]
    NotFound {
        /// The object, e.g. `the user AdeleV@contoso.example`.
        what: String,
        /// Microsoft's request id.
        request_id: Option<String>,
    },
    /// A delta link expired or was invalidated; the caller must run a full resync.
    #[error(
        "Microsoft no longer accepts the stored change-tracking link (delta token expired): run a full directory sync"
    )]
    DeltaExpired {
        /// Microsoft's request id.
        request_id: Option<String>,
    },
    /// Microsoft kept throttling past the client's retry budget.
    #[error(
        "Microsoft is throttling requests for tenant {tenant_id}: Teamline will try again in {} s",
        .retry_after.as_secs().max(1)
    )]
    Throttled {
        /// The customer tenant (or `login` for the sign-in service).
        tenant_id: String,
        /// How long Microsoft asked us to wait.
        retry_after: Duration,
        /// Microsoft's request id.
        request_id: Option<String>,
    },
    /// Microsoft answered 5xx past the retry budget.
    #[error("Microsoft 365 is temporarily unavailable (HTTP {status}) while trying to {what}: Teamline will try again{}", fmt_request_id(.request_id))]
    Unavailable {
        /// What Teamline tried to do.
        what: String,
        /// HTTP status.
        status: u16,
        /// Suggested wait, when Microsoft sent one.
        retry_after: Option<Duration>,
        /// Microsoft's request id.
        request_id: Option<String>,
    },
    /// Microsoft refused the request (another 4xx).
    #[error("Microsoft refused to {what}: {message} ({code}, HTTP {status}{})", fmt_request_id(.request_id))]
    Rejected {
        /// What Teamline tried to do.
        what: String,
        /// HTTP status.
        status: u16,
        /// Graph error code.
        code: String,
        /// Microsoft's message.
        message: String,
        /// Microsoft's request id.
        request_id: Option<String>,
    },
    /// Microsoft could not be reached, or did not answer in time.
    #[error(
        "could not reach Microsoft to {what}: {detail}; check this server's network access to Microsoft"
    )]
    Network {
        /// What Teamline tried to do.
        what: String,
        /// The transport error (never contains credentials).
        detail: String,
    },
    /// Microsoft answered something this client does not understand.
    #[error("Microsoft's answer to {what} was not understood: {detail}")]
    UnexpectedResponse {
        /// What Teamline tried to do.
        what: String,
        /// What was wrong with the answer.
        detail: String,
    },

    /// The Teams admin REST surface refused the app (it needs an admin role there).
    #[error(
        "Teamline is not allowed to {what} in tenant {tenant_id} (HTTP {status}{}): give Teamline's app the Teams Administrator role in that tenant (Microsoft Entra admin center, Roles and administrators) and make sure admin consent includes the Skype and Teams Tenant Admin API",
        fmt_request_id(.request_id)
    )]
    TeamsAdminRoleMissing {
        /// The customer tenant.
        tenant_id: String,
        /// What Teamline tried to do.
        what: String,
        /// HTTP status (401 or 403).
        status: u16,
        /// Microsoft's request id.
        request_id: Option<String>,
    },
    /// Microsoft could not verify a domain yet (usually the DNS record is not visible yet).
    #[error(
        "Microsoft could not verify the domain {domain} yet ({detail}): publish the TXT record Teamline shows in DNS; DNS changes can take a while to be seen"
    )]
    DomainNotVerified {
        /// The domain.
        domain: String,
        /// Microsoft's explanation.
        detail: String,
    },

    // ----- Teams voice -----
    /// The user lacks an enabled Teams Phone (MCOEV) service plan.
    #[error(
        "{user} has no Teams Phone licence: assign one in the Microsoft 365 admin center; it can take up to 48 hours to apply"
    )]
    NoTeamsPhoneLicence {
        /// UPN of the user.
        user: String,
    },
    /// The user is licensed but Teams has not provisioned them yet.
    #[error(
        "{user} is not set up in Teams yet (a licence assigned recently can take up to 48 hours to apply): Teamline will try again"
    )]
    NotYetInTeams {
        /// UPN of the user.
        user: String,
    },
    /// The number belongs to someone else.
    #[error("the number {number} is already assigned to {}", .holder.as_deref().unwrap_or("another user or resource account"))]
    NumberAlreadyAssigned {
        /// The number.
        number: String,
        /// UPN (or object id) of the current holder, when Microsoft tells.
        holder: Option<String>,
    },
    /// The user already holds a different number.
    #[error(
        "{user} already has a different phone number in Teams ({detail}): disable calling for the user, or remove the number in the Teams admin center, then try again"
    )]
    UserAlreadyHasNumber {
        /// UPN of the user.
        user: String,
        /// Microsoft's explanation.
        detail: String,
    },
    /// The user holds the number with enterprise voice off, and assigning the number again
    /// after removing it did not change that.
    #[error(
        "{user} holds {number} in Teams but enterprise voice stays off: in Teams PowerShell run Set-CsPhoneNumberAssignment -Identity {user} -EnterpriseVoiceEnabled $true, then Repair the user"
    )]
    EnterpriseVoiceOff {
        /// UPN of the user.
        user: String,
        /// The number.
        number: String,
    },
    /// A named policy does not exist in the tenant.
    #[error(
        "the {policy_type} \"{name}\" does not exist in tenant {tenant_id}: run Sync Voice Routes to create it, then try again"
    )]
    PolicyNotFound {
        /// The customer tenant.
        tenant_id: String,
        /// Policy type, e.g. `OnlineVoiceRoutingPolicy`.
        policy_type: String,
        /// Policy name.
        name: String,
    },
    /// A number operation ended in `failed`.
    #[error("Microsoft could not {what}: {detail}")]
    NumberOperationFailed {
        /// e.g. `assign +11000 to AdeleV@contoso.example`.
        what: String,
        /// The operation's `statusDetail`.
        detail: String,
    },
    /// A number operation is still running after the polling budget.
    #[error("Microsoft is still working on the request to {what}: Teamline will check again")]
    NumberOperationPending {
        /// e.g. `assign +11000 to AdeleV@contoso.example`.
        what: String,
    },
}

impl MicrosoftError {
    /// Whether running the same call again later can succeed without anyone changing
    /// anything (throttling, outages, network, Microsoft still propagating).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. }
                | Self::Unavailable { .. }
                | Self::Network { .. }
                | Self::NumberOperationPending { .. }
                | Self::NotYetInTeams { .. }
                | Self::DomainNotVerified { .. }
        )
    }

    /// How long to wait before retrying, when Microsoft said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } => Some(*retry_after),
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Microsoft's `request-id` for the failed request, to quote to Microsoft support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Unauthorized { request_id, .. }
            | Self::AccessDenied { request_id, .. }
            | Self::NotFound { request_id, .. }
            | Self::DeltaExpired { request_id }
            | Self::Throttled { request_id, .. }
            | Self::Unavailable { request_id, .. }
            | Self::Rejected { request_id, .. }
            | Self::TeamsAdminRoleMissing { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// Whether the failure means the tenant's consent is missing or incomplete, so the
    /// Dashboard should offer *Grant consent*.
    pub fn needs_consent(&self) -> bool {
        matches!(
            self,
            Self::ConsentRequired { .. }
                | Self::AppNotInTenant { .. }
                | Self::AdminConsentRequired
                | Self::AccessDenied { .. }
                | Self::Unauthorized { .. }
                | Self::TeamsAdminRoleMissing { .. }
        )
    }
}

/// A failed answer as the surface that sent it describes it, read from that surface's own
/// error envelope; the status decides which [`MicrosoftError`] it becomes.
pub(crate) struct ErrorBody {
    /// The service's error code (empty when it gave none).
    pub code: String,
    /// The service's message.
    pub message: String,
    /// Microsoft's request id.
    pub request_id: Option<String>,
}

fn fmt_request_id(request_id: &Option<String>) -> String {
    match request_id {
        Some(id) => format!(", request-id {id}"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_tell_the_admin_what_to_do() {
        let e = MicrosoftError::NoTeamsPhoneLicence {
            user: "MeganB@contoso.example".into(),
        };
        assert_eq!(
            e.to_string(),
            "MeganB@contoso.example has no Teams Phone licence: assign one in the Microsoft 365 admin center; it can take up to 48 hours to apply"
        );
        let e = MicrosoftError::NumberAlreadyAssigned {
            number: "+11000".into(),
            holder: Some("AdeleV@contoso.example".into()),
        };
        assert_eq!(
            e.to_string(),
            "the number +11000 is already assigned to AdeleV@contoso.example"
        );
        let e = MicrosoftError::ConsentRequired {
            tenant_id: "X".into(),
        };
        assert_eq!(
            e.to_string(),
            "Teamline has not been granted consent in tenant X: sign in as a Global Administrator of that tenant and grant consent"
        );
    }

    #[test]
    fn throttling_is_retryable_with_its_wait() {
        let e = MicrosoftError::Throttled {
            tenant_id: "t".into(),
            retry_after: Duration::from_secs(30),
            request_id: Some("r-1".into()),
        };
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(e.request_id(), Some("r-1"));
        assert!(!MicrosoftError::StateMismatch.is_retryable());
    }
}
