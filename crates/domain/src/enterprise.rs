//! Enterprises: one customer, one Microsoft 365 tenant.

use crate::error::{FieldError, FieldErrors};
use crate::ids::{EnterpriseId, ResellerId, SbcRegionId};
use crate::text::{Email, Name, Slug};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A Microsoft Entra tenant id (a GUID), lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim().to_ascii_lowercase();
        if is_guid(&s) {
            Ok(Self(s))
        } else {
            Err(FieldError::new(
                "Microsoft Tenant ID",
                format!(
                    "'{}' is not a tenant id: use the GUID shown in the Entra admin center (e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47)",
                    input.trim()
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for TenantId {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantId> for String {
    fn from(value: TenantId) -> Self {
        value.0
    }
}

/// Where an enterprise is in its onboarding. A reseller creates the enterprise and invites its
/// Global Administrator; when that admin signs in with Microsoft, the tenant is known and the
/// enterprise is registered (signing in again never moves it back); once a voice route is
/// provisioned in its tenant, it is ready for Direct Routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseState {
    /// The reseller created it and invited the Global Administrator.
    Invited,
    /// The Global Administrator signed in; the tenant id is known.
    Registered,
    /// At least one voice route is provisioned in the tenant.
    DirectRoutingReady,
}

impl EnterpriseState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Registered => "registered",
            Self::DirectRoutingReady => "direct_routing_ready",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invited" => Some(Self::Invited),
            "registered" => Some(Self::Registered),
            "direct_routing_ready" => Some(Self::DirectRoutingReady),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Invited => "Invited",
            Self::Registered => "Registered",
            Self::DirectRoutingReady => "Direct Routing ready",
        }
    }
}

/// The Microsoft permissions an enterprise grants Teamline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    /// Read users and groups, assign numbers and policies (the Teamline app's admin consent).
    UserSync,
    /// Let the reseller act inside the enterprise.
    Management,
}

impl ConsentKind {
    pub const ALL: [ConsentKind; 2] = [ConsentKind::UserSync, ConsentKind::Management];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserSync => "user_sync",
            Self::Management => "management",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user_sync" => Some(Self::UserSync),
            "management" => Some(Self::Management),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::UserSync => "User sync",
            Self::Management => "Enterprise management",
        }
    }
}

/// A consent as recorded: when and by whom it was granted (`None` = not granted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub kind: ConsentKind,
    pub granted_at_ms: Option<i64>,
    pub granted_by: Option<String>,
}

impl Consent {
    pub fn is_granted(&self) -> bool {
        self.granted_at_ms.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enterprise {
    pub id: EnterpriseId,
    pub reseller_id: ResellerId,
    pub name: Name,
    pub slug: Slug,
    pub tenant_id: Option<TenantId>,
    pub global_admin_email: Email,
    pub user_limit: Option<u32>,
    pub pbx_music_on_hold: bool,
    pub access_sip_data: bool,
    pub request_management_consent: bool,
    pub state: EnterpriseState,
    pub consents: Vec<Consent>,
    pub sbc_regions: Vec<SbcRegionId>,
    /// The reseller's own reference for billing (a contract or customer number).
    pub billing_reference: Option<String>,
    /// Raised by every change: the API's ETag.
    pub version: i64,
}

impl Enterprise {
    pub fn consent(&self, kind: ConsentKind) -> bool {
        self.consents
            .iter()
            .any(|c| c.kind == kind && c.is_granted())
    }
}

/// The enterprise form of the Reseller portal, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EnterpriseForm {
    pub name: String,
    pub global_admin_email: String,
    pub user_limit: String,
    pub pbx_music_on_hold: bool,
    pub access_sip_data: bool,
    pub request_management_consent: bool,
    pub sbc_regions: Vec<SbcRegionId>,
    pub billing_reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnterprise {
    pub name: Name,
    pub slug: Slug,
    pub global_admin_email: Email,
    pub user_limit: Option<u32>,
    pub pbx_music_on_hold: bool,
    pub access_sip_data: bool,
    pub request_management_consent: bool,
    pub sbc_regions: Vec<SbcRegionId>,
    pub billing_reference: Option<String>,
}

/// The longest billing reference kept: room for any contract or customer number.
pub const BILLING_REFERENCE_MAX: usize = 100;

impl EnterpriseForm {
    /// The form of an enterprise as stored (Edit Enterprise starts from it).
    pub fn of(e: &Enterprise) -> Self {
        Self {
            name: e.name.as_str().to_owned(),
            global_admin_email: e.global_admin_email.as_str().to_owned(),
            user_limit: e.user_limit.map(|n| n.to_string()).unwrap_or_default(),
            pbx_music_on_hold: e.pbx_music_on_hold,
            access_sip_data: e.access_sip_data,
            request_management_consent: e.request_management_consent,
            sbc_regions: e.sbc_regions.clone(),
            billing_reference: e.billing_reference.clone().unwrap_or_default(),
        }
    }

    /// `known_regions` are the SBC regions the platform offers.
    pub fn validate(&self, known_regions: &[SbcRegionId]) -> Result<NewEnterprise, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check(Name::parse("Enterprise Name", &self.name));
        let email = errors.check(Email::parse(
            "Global Admin E-mail",
            &self.global_admin_email,
        ));
        let user_limit = errors.check(parse_user_limit(&self.user_limit));
        let billing_reference = errors.check(parse_billing_reference(&self.billing_reference));
        if let Some(unknown) = self.sbc_regions.iter().find(|r| !known_regions.contains(r)) {
            errors.push(FieldError::new(
                "SBC Regions",
                format!("region {unknown} does not exist: choose from the listed regions"),
            ));
        }
        match (name, email, user_limit, billing_reference) {
            (Some(name), Some(global_admin_email), Some(user_limit), Some(billing_reference))
                if errors.is_empty() =>
            {
                Ok(NewEnterprise {
                    slug: Slug::from_name(&name),
                    name,
                    global_admin_email,
                    user_limit,
                    pbx_music_on_hold: self.pbx_music_on_hold,
                    access_sip_data: self.access_sip_data,
                    request_management_consent: self.request_management_consent,
                    sbc_regions: {
                        let mut r = self.sbc_regions.clone();
                        r.sort();
                        r.dedup();
                        r
                    },
                    billing_reference,
                })
            }
            _ => Err(errors),
        }
    }

    /// Edit Enterprise: the form's own rules, and against the enterprise as it is: the Global
    /// Admin e-mail changes only while the invitation is open (afterwards the tenant is bound
    /// to the admin who registered it), and the user limit never drops below the users already
    /// configured (`configured_users`: active and disabled PBX users). The slug, and with it
    /// the Direct Routing subdomain, stays what it was.
    pub fn validate_edit(
        &self,
        known_regions: &[SbcRegionId],
        current: &Enterprise,
        configured_users: u64,
    ) -> Result<NewEnterprise, FieldErrors> {
        let mut errors = match self.validate(known_regions) {
            Ok(edit) => {
                let mut errors = FieldErrors::new();
                check_edit(&edit, current, configured_users, &mut errors);
                if errors.is_empty() {
                    return Ok(NewEnterprise {
                        slug: current.slug.clone(),
                        ..edit
                    });
                }
                errors
            }
            Err(errors) => errors,
        };
        // Report the e-mail rule even when another field is wrong, so every problem comes at once.
        if current.state != EnterpriseState::Invited
            && !self
                .global_admin_email
                .trim()
                .eq_ignore_ascii_case(current.global_admin_email.as_str())
            && !errors.iter().any(|e| e.field == "Global Admin E-mail")
        {
            errors.push(email_locked(current));
        }
        Err(errors)
    }
}

fn email_locked(current: &Enterprise) -> FieldError {
    FieldError::new(
        "Global Admin E-mail",
        format!(
            "{} is {} and bound to the Microsoft tenant its Global Administrator registered: the e-mail can change only while the enterprise is invited; keep {}",
            current.name,
            current.state.label().to_lowercase(),
            current.global_admin_email.as_str()
        ),
    )
}

fn check_edit(
    edit: &NewEnterprise,
    current: &Enterprise,
    configured_users: u64,
    errors: &mut FieldErrors,
) {
    if current.state != EnterpriseState::Invited
        && !edit
            .global_admin_email
            .as_str()
            .eq_ignore_ascii_case(current.global_admin_email.as_str())
    {
        errors.push(email_locked(current));
    }
    if let Some(limit) = edit.user_limit
        && u64::from(limit) < configured_users
    {
        errors.push(FieldError::new(
                "User Limit",
                format!(
                    "{} already has {configured_users} configured users, more than a limit of {limit}: set the limit to {configured_users} or more, or delete users first",
                    current.name
                ),
            ));
    }
}

fn parse_billing_reference(input: &str) -> Result<Option<String>, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        Ok(None)
    } else if s.chars().count() > BILLING_REFERENCE_MAX || s.chars().any(char::is_control) {
        Err(FieldError::new(
            "Billing Reference",
            format!(
                "use at most {BILLING_REFERENCE_MAX} characters on one line (a contract or customer number), or leave it blank"
            ),
        ))
    } else {
        Ok(Some(s.to_owned()))
    }
}

fn parse_user_limit(input: &str) -> Result<Option<u32>, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(FieldError::new(
            "User Limit",
            format!(
                "'{s}' is not a user limit: use a whole number above 0, or leave it blank for no limit"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids() {
        let t = TenantId::parse(" 72F988BF-86f1-41af-91ab-2d7cd011db47 ").unwrap();
        assert_eq!(t.as_str(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert!(TenantId::parse("contoso.example").is_err());
        assert!(TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db4").is_err());
    }

    #[test]
    fn enterprise_form_reports_every_field() {
        let form = EnterpriseForm {
            name: "".into(),
            global_admin_email: "admin".into(),
            user_limit: "-3".into(),
            sbc_regions: vec![SbcRegionId(9)],
            ..Default::default()
        };
        let errors = form.validate(&[SbcRegionId(1)]).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "Enterprise Name",
                "Global Admin E-mail",
                "User Limit",
                "SBC Regions"
            ]
        );
    }

    #[test]
    fn enterprise_form_ok() {
        let form = EnterpriseForm {
            name: "Contoso".into(),
            global_admin_email: "admin@contoso.example".into(),
            user_limit: "".into(),
            sbc_regions: vec![SbcRegionId(1)],
            ..Default::default()
        };
        let e = form.validate(&[SbcRegionId(1)]).unwrap();
        assert_eq!(e.slug.as_str(), "contoso");
        assert_eq!(e.user_limit, None);
    }
}
