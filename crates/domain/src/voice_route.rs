//! SBC regions (the platform's gateways) and voice routes (a region provisioned in one tenant).

use crate::error::{FieldError, FieldErrors};
use crate::ids::{EnterpriseId, SbcRegionId, VoiceRouteId};
use crate::text::{HostName, Name};
use serde::{Deserialize, Serialize};

/// A regional gateway of the platform, e.g. "US East 2" at `useast2.sbc.example.net`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbcRegion {
    pub id: SbcRegionId,
    pub name: Name,
    /// The gateway's FQDN; each enterprise gets a subdomain of it for Direct Routing.
    pub gateway_fqdn: HostName,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSbcRegion {
    pub name: Name,
    pub gateway_fqdn: HostName,
}

impl NewSbcRegion {
    pub fn parse(name: &str, gateway_fqdn: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check(Name::parse("Region Name", name));
        let fqdn = errors.check(HostName::parse("Gateway FQDN", gateway_fqdn));
        match (name, fqdn) {
            (Some(name), Some(gateway_fqdn)) => Ok(Self { name, gateway_fqdn }),
            _ => Err(errors),
        }
    }
}

/// How far a voice route's Microsoft-side setup has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoiceRouteState {
    Pending,
    Provisioned,
    Failed,
}

impl VoiceRouteState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Provisioned => "provisioned",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "provisioned" => Some(Self::Provisioned),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A region provisioned in an enterprise's tenant: the per-tenant subdomain, and the PSTN usage,
/// voice route and online voice routing policy named after the region. Users are pinned to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceRoute {
    pub id: VoiceRouteId,
    pub enterprise_id: EnterpriseId,
    pub region_id: SbcRegionId,
    /// Shown in "Available Voice Routes", e.g. "US East 2".
    pub name: Name,
    /// The tenant's Direct Routing subdomain, e.g. `cust0042.useast2.sbc.example.net`.
    pub subdomain: HostName,
    /// The online voice routing policy granted to users on this route.
    pub policy_name: String,
    pub state: VoiceRouteState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVoiceRoute {
    pub region_id: SbcRegionId,
    pub name: Name,
    pub subdomain: HostName,
    pub policy_name: String,
    pub state: VoiceRouteState,
}

impl NewVoiceRoute {
    /// The voice route Teamline provisions for a region in a tenant: policy named after the
    /// region, subdomain `<tenant label>.<gateway fqdn>`.
    pub fn for_region(region: &SbcRegion, tenant_label: &str) -> Result<Self, FieldError> {
        let subdomain = HostName::parse(
            "Subdomain",
            &format!("{tenant_label}.{}", region.gateway_fqdn),
        )?;
        Ok(Self {
            region_id: region.id,
            name: region.name.clone(),
            subdomain,
            policy_name: region.name.as_str().to_owned(),
            state: VoiceRouteState::Pending,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_for_region() {
        let region = SbcRegion {
            id: SbcRegionId(1),
            name: Name::parse("n", "US East 2").unwrap(),
            gateway_fqdn: HostName::parse("g", "useast2.sbc.example.net").unwrap(),
        };
        let r = NewVoiceRoute::for_region(&region, "contoso").unwrap();
        assert_eq!(r.subdomain.as_str(), "contoso.useast2.sbc.example.net");
        assert_eq!(r.policy_name, "US East 2");
        assert!(NewSbcRegion::parse("", "bad host").unwrap_err().len() == 2);
    }
}
