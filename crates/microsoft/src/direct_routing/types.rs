//! Tenant-level Direct Routing setup, as Teamline describes it.

/// What an `ensure_*` call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupChange {
    /// The object did not exist and was created.
    Created,
    /// The object existed with other settings and was updated.
    Updated,
    /// The object already had the wanted settings.
    Unchanged,
}

/// A voice route: which dialed numbers go to which gateways, for which PSTN usages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoiceRouteSpec {
    /// Route name, e.g. `US-East-2`.
    pub name: String,
    /// Regular expression of the dialed numbers, e.g. `^\+?\d+$`.
    pub number_pattern: String,
    /// Gateway FQDNs (the tenant's Direct Routing subdomain).
    pub gateways: Vec<String>,
    /// PSTN usages the route serves.
    pub pstn_usages: Vec<String>,
    /// Lower wins.
    pub priority: u32,
    /// Free text.
    pub description: Option<String>,
}

/// An online voice routing policy: the PSTN usages a user may call through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoiceRoutingPolicySpec {
    /// Policy name, e.g. `US-East-2`.
    pub name: String,
    /// PSTN usages, in order.
    pub pstn_usages: Vec<String>,
    /// Free text.
    pub description: Option<String>,
}

/// A tenant dial plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialPlanSpec {
    /// Dial plan name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Normalization rules, applied in order.
    pub normalization_rules: Vec<NormalizationRule>,
}

/// One normalization rule of a dial plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalizationRule {
    /// Rule name.
    pub name: String,
    /// Regular expression the dialed string must match.
    pub pattern: String,
    /// Replacement, e.g. `$1`.
    pub translation: String,
    /// Free text.
    pub description: Option<String>,
    /// Whether the rule matches internal extensions.
    pub is_internal_extension: bool,
}

impl NormalizationRule {
    /// The rule Teamline's enterprise dial plan uses: strings of up to 7 digits, `*`, `#`
    /// or `+` pass unchanged (extensions and feature codes reach the PBX as dialed).
    pub fn pass_short_strings(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            pattern: r"^([0-9*#+]{1,7})$".into(),
            translation: "$1".into(),
            description: Some("Extensions and feature codes reach the PBX as dialed".into()),
            is_internal_extension: false,
        }
    }
}

/// A calling line identity policy (caller ID on outbound calls).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdPolicySpec {
    /// Policy name.
    pub name: String,
    /// Which number is presented.
    pub substitute: CallerIdSubstitute,
    /// The calling party name presented, e.g. the custom name of *Caller Name Policy = Other*.
    pub company_name: Option<String>,
    /// Whether users may hide their number.
    pub enable_user_override: bool,
    /// Free text.
    pub description: Option<String>,
}

/// `CallingIDSubstitute` of a calling line identity policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerIdSubstitute {
    /// The user's own number.
    LineUri,
    /// No number.
    Anonymous,
    /// A service number.
    Service(String),
}

/// A Teams calling policy, used by Teamline for the voicemail choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallingPolicySpec {
    /// Policy name.
    pub name: String,
    /// Whether Teams voicemail answers unanswered calls.
    pub voicemail: VoicemailMode,
}

/// `AllowVoicemail` of a Teams calling policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoicemailMode {
    /// Teams voicemail always on.
    AlwaysEnabled,
    /// Teams voicemail off: unanswered calls stay with the PBX.
    AlwaysDisabled,
    /// The user decides.
    UserOverride,
}

impl VoicemailMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AlwaysEnabled => "AlwaysEnabled",
            Self::AlwaysDisabled => "AlwaysDisabled",
            Self::UserOverride => "UserOverride",
        }
    }
}

/// An online PSTN gateway (SBC trunk) of the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PstnGatewaySpec {
    /// The SBC FQDN (a verified domain of the tenant).
    pub fqdn: String,
    /// SIP signaling port, usually 5061.
    pub sip_signaling_port: u16,
    /// Whether the gateway is used.
    pub enabled: bool,
    /// Concurrent call limit.
    pub max_concurrent_sessions: Option<u32>,
    /// Send History-Info / Referred-By on forwarded calls.
    pub forward_call_history: bool,
    /// Send P-Asserted-Identity.
    pub forward_pai: bool,
    /// Media bypass.
    pub media_bypass: bool,
}

/// A domain of the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainState {
    /// The fully qualified name.
    pub name: String,
    /// Whether ownership is verified.
    pub is_verified: bool,
    /// Services enabled on the domain (`Email`, `OfficeCommunicationsOnline`, ...).
    pub supported_services: Vec<String>,
}

/// A DNS record Microsoft wants to see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// `Txt`, `Mx`, ...
    pub record_type: String,
    /// Host name the record belongs to.
    pub label: String,
    /// Text of a TXT record, e.g. `MS=ms12345678`.
    pub text: Option<String>,
    /// Mail exchange of an MX record.
    pub mail_exchange: Option<String>,
    /// Time to live in seconds.
    pub ttl: Option<u32>,
}

/// One of the tenant's subscriptions (`subscribedSkus`), with the service plans it brings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscribedSku {
    pub sku_id: String,
    /// e.g. `ENTERPRISEPREMIUM` (Office 365 E5), `MCOEV` (Teams Phone Standard).
    pub part_number: String,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted` or `LockedOut`.
    pub capability_status: String,
    /// `User` or `Company`: only `User` SKUs can be assigned.
    pub applies_to: String,
    /// Licences bought and active (`prepaidUnits.enabled`).
    pub enabled_units: i64,
    /// Licences assigned (`consumedUnits`); more than enabled when a trial expired.
    pub consumed_units: i64,
    /// Service plan ids of the SKU.
    pub service_plans: Vec<String>,
}

impl SubscribedSku {
    /// Licences left to assign (negative when more are assigned than bought).
    pub fn spare(&self) -> i64 {
        self.enabled_units - self.consumed_units
    }

    /// Whether it brings a plan (e.g. Teams Phone) and can be assigned to a user.
    pub fn assignable_with(&self, plan_id: &str) -> bool {
        self.applies_to.eq_ignore_ascii_case("User")
            && self.capability_status == "Enabled"
            && self
                .service_plans
                .iter()
                .any(|p| p.eq_ignore_ascii_case(plan_id))
    }
}

/// Where the tenant's organization says it is (`GET /organization`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationInfo {
    pub display_name: String,
    /// `defaultUsageLocation`: the country the tenant gives new users' licences, if set.
    pub default_usage_location: Option<String>,
    /// `countryLetterCode`: the country of the organization's address.
    pub country_letter_code: Option<String>,
}

impl OrganizationInfo {
    /// The usage location for a user Teamline creates: the tenant's default usage location,
    /// else the organization's country; `None` when neither holds a two-letter code.
    pub fn usage_location(&self) -> Option<String> {
        [&self.default_usage_location, &self.country_letter_code]
            .into_iter()
            .flatten()
            .map(|c| c.trim())
            .find(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase)
    }
}

/// A user Teamline keeps in the tenant, licensed with one SKU: the Direct Routing activation
/// user of an SBC subdomain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LicensedUserSpec {
    pub upn: String,
    pub display_name: String,
    /// Two letters (`US`, the tenant's own: `OrganizationInfo::usage_location`); Microsoft
    /// assigns no licence to a user without one.
    pub usage_location: String,
    pub sku_id: String,
}

#[cfg(test)]
mod organization_tests {
    use super::OrganizationInfo;

    fn org(default: Option<&str>, country: Option<&str>) -> OrganizationInfo {
        OrganizationInfo {
            display_name: "Fabrikam".into(),
            default_usage_location: default.map(str::to_owned),
            country_letter_code: country.map(str::to_owned),
        }
    }

    #[test]
    fn the_default_usage_location_wins_over_the_address_country() {
        assert_eq!(
            org(Some("de"), Some("GB")).usage_location().as_deref(),
            Some("DE")
        );
        assert_eq!(
            org(None, Some("GB")).usage_location().as_deref(),
            Some("GB")
        );
        assert_eq!(
            org(Some(""), Some(" gb ")).usage_location().as_deref(),
            Some("GB")
        );
        assert_eq!(org(None, Some("United Kingdom")).usage_location(), None);
        assert_eq!(org(None, None).usage_location(), None);
    }
}
