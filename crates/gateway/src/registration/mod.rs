//! Device-handle registrations: what Teamline wants registered (`DesiredRegistration`), the
//! uac_reg record that carries it, and the live state read back from Kamailio.

mod state;

use std::fmt;

use secrecy::SecretString;
use sha2::{Digest, Sha256};
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::{ProxyHost, SipDomain};

use crate::rpc::UacRecord;

pub use state::{
    LastReply, Observed, RegistrationState, SipReply, Unreachable, observe, observe_answer,
};

/// A registration's stable id in Kamailio (uac_reg's `l_uuid`, also the user part of the
/// Contact the PBX sends calls to): `<device>-<12 hex>`, derived from the enterprise, the
/// PBX's SIP domain and the device. The same handle always gets the same id (so a restart of
/// either side finds it again); anything that changes which PBX account is registered gives
/// a new one, so the old account is un-registered rather than silently re-pointed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationId(String);

impl RegistrationId {
    pub fn derive(enterprise: EnterpriseId, sip_domain: &SipDomain, device: &DeviceAuthId) -> Self {
        let mut h = Sha256::new();
        h.update(b"teamline-uac-reg-v1\0");
        h.update(enterprise.0.to_be_bytes());
        h.update(b"\0");
        h.update(sip_domain.as_str().as_bytes());
        h.update(b"\0");
        h.update(device.as_str().as_bytes());
        let digest = h.finalize();
        // Device ids are at most 40 characters: the id stays within uacreg's 64.
        RegistrationId(format!("{}-{}", device.as_str(), hex::encode(&digest[..6])))
    }

    /// An id read back from Kamailio.
    pub fn from_kamailio(l_uuid: &str) -> Self {
        RegistrationId(l_uuid.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lets a map keyed by id be searched by a plain `l_uuid` (the order is the string's).
impl std::borrow::Borrow<str> for RegistrationId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One device handle Teamline wants registered to its PBX.
#[derive(Clone)]
pub struct DesiredRegistration {
    pub id: RegistrationId,
    pub enterprise: EnterpriseId,
    /// The Teams user's number (`+11000`): the local URI's user, what calls from the PBX are
    /// turned into (part 2).
    pub teams_number: PhoneNumber,
    /// The tenant's SBC FQDN (`contoso.sbc.example.net`): the local URI's host.
    pub sbc_fqdn: String,
    /// The device handle (`1000tm`): remote user and authentication user.
    pub device: DeviceAuthId,
    pub sip_domain: SipDomain,
    pub password: SecretString,
    /// The PBX location's SIP domain proxy and how to look it up.
    pub proxy: ProxyHost,
    pub dns_lookup: DnsLookup,
    /// Registration lifetime to ask for, in seconds.
    pub expires_secs: u32,
}

impl fmt::Debug for DesiredRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesiredRegistration")
            .field("id", &self.id)
            .field("enterprise", &self.enterprise)
            .field("teams_number", &self.teams_number.e164())
            .field("sbc_fqdn", &self.sbc_fqdn)
            .field("device", &self.device)
            .field("sip_domain", &self.sip_domain)
            .field("password", &"<redacted>")
            .field("proxy", &self.proxy)
            .field("dns_lookup", &self.dns_lookup)
            .field("expires_secs", &self.expires_secs)
            .finish()
    }
}

impl DesiredRegistration {
    /// A registration with the id derived from the enterprise, SIP domain and device.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        enterprise: EnterpriseId,
        teams_number: PhoneNumber,
        sbc_fqdn: impl Into<String>,
        device: DeviceAuthId,
        sip_domain: SipDomain,
        password: SecretString,
        proxy: ProxyHost,
        dns_lookup: DnsLookup,
    ) -> Self {
        DesiredRegistration {
            id: RegistrationId::derive(enterprise, &sip_domain, &device),
            enterprise,
            teams_number,
            sbc_fqdn: sbc_fqdn.into(),
            device,
            sip_domain,
            password,
            proxy,
            dns_lookup,
            expires_secs: 600,
        }
    }

    /// The local URI: `sip:+11000@contoso.sbc.example.net`.
    pub fn local_uri(&self) -> String {
        format!("sip:{}@{}", self.teams_number.e164(), self.sbc_fqdn)
    }

    /// The PBX account: `sip:1000tm@contoso`.
    pub fn remote_uri(&self) -> String {
        format!("sip:{}@{}", self.device, self.sip_domain)
    }

    /// The uac_reg record that registers this handle through `auth_proxy` (`sip:ip:port`).
    pub fn to_uac(&self, auth_proxy: String) -> UacRecord {
        UacRecord {
            l_uuid: self.id.as_str().to_owned(),
            l_username: self.teams_number.e164(),
            l_domain: self.sbc_fqdn.clone(),
            r_username: self.device.as_str().to_owned(),
            r_domain: self.sip_domain.as_str().to_owned(),
            auth_username: self.device.as_str().to_owned(),
            auth_password: self.password.clone(),
            auth_proxy,
            expires: self.expires_secs,
            reg_delay: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(enterprise: i64, domain: &str, device: &str) -> RegistrationId {
        RegistrationId::derive(
            EnterpriseId(enterprise),
            &SipDomain::parse(domain).unwrap(),
            &DeviceAuthId::parse(device).unwrap(),
        )
    }

    #[test]
    fn ids_are_stable_readable_and_distinct_per_account() {
        let a = handle(1, "contoso", "1000tm");
        assert_eq!(a, handle(1, "contoso", "1000tm"));
        assert!(
            a.as_str().starts_with("1000tm-") && a.as_str().len() == 7 + 12,
            "{a}"
        );
        assert_ne!(a, handle(2, "contoso", "1000tm"));
        assert_ne!(a, handle(1, "fabrikam", "1000tm"));
        assert_ne!(a, handle(1, "contoso", "1001tm"));
        let longest = handle(1, "contoso", &"9".repeat(40));
        assert!(longest.as_str().len() <= 64);
    }

    #[test]
    fn the_record_maps_teams_number_and_pbx_account_and_hides_the_password() {
        let r = DesiredRegistration::new(
            EnterpriseId(1),
            PhoneNumber::parse("+11000").unwrap(),
            "contoso.sbc.example.net",
            DeviceAuthId::parse("1000tm").unwrap(),
            SipDomain::parse("contoso").unwrap(),
            SecretString::from("Pw123456secret".to_owned()),
            ProxyHost::parse("sbc.pbx.example").unwrap(),
            DnsLookup::Srv,
        );
        assert_eq!(r.local_uri(), "sip:+11000@contoso.sbc.example.net");
        assert_eq!(r.remote_uri(), "sip:1000tm@contoso");
        let u = r.to_uac("sip:192.0.2.7:5060".to_owned());
        assert_eq!(
            (u.l_username.as_str(), u.l_domain.as_str()),
            ("+11000", "contoso.sbc.example.net")
        );
        assert_eq!(
            (u.r_username.as_str(), u.r_domain.as_str()),
            ("1000tm", "contoso")
        );
        assert_eq!(u.auth_username, "1000tm");
        assert!(!format!("{r:?}{u:?}").contains("secret"));
    }
}
