//! A device handle's registration to its PBX through the SIP gateway: which state it is in, as
//! Teamline stores and shows it. What each state means for the admin, and what to do about it,
//! is decided here once for every page, the CLI and the metrics.

use serde::{Deserialize, Serialize};

/// Where a device handle's registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    /// The PBX accepted the handle's REGISTER: Teams is one more device of the extension.
    Registered,
    /// Handed to the gateway; the PBX has not answered yet.
    Registering,
    /// The PBX refused the handle's SIP password (401/407 to an authenticated REGISTER, 403).
    AuthFailed,
    /// The PBX does not answer, answers that it cannot serve (5xx), or its proxy does not
    /// resolve.
    PbxUnreachable,
    /// The PBX refused the registration for another reason (e.g. 404, 423).
    Rejected,
    /// Someone disabled the record on the gateway by hand; reconcile enables it again.
    Disabled,
    /// Teamline does not register it (calling disabled, user disabled or deleted).
    NotRegistered,
    /// Teamline cannot reach the gateway's Kamailio: nothing is known.
    GatewayDown,
}

impl RegistrationStatus {
    pub const ALL: [Self; 8] = [
        Self::Registered,
        Self::Registering,
        Self::AuthFailed,
        Self::PbxUnreachable,
        Self::Rejected,
        Self::Disabled,
        Self::NotRegistered,
        Self::GatewayDown,
    ];

    /// The word stored, printed by `teamline gateway status` and used as the metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Registering => "registering",
            Self::AuthFailed => "auth_failed",
            Self::PbxUnreachable => "pbx_unreachable",
            Self::Rejected => "rejected",
            Self::Disabled => "disabled",
            Self::NotRegistered => "not_registered",
            Self::GatewayDown => "gateway_down",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Registered => "Registered",
            Self::Registering => "Registering",
            Self::AuthFailed => "Authentication failed",
            Self::PbxUnreachable => "PBX unreachable",
            Self::Rejected => "Rejected by the PBX",
            Self::Disabled => "Disabled on the gateway",
            Self::NotRegistered => "Not registered",
            Self::GatewayDown => "Gateway down",
        }
    }

    /// A handle Teamline wants registered that is not, for a reason an admin must look at.
    pub fn is_failing(self) -> bool {
        matches!(
            self,
            Self::AuthFailed | Self::PbxUnreachable | Self::Rejected | Self::GatewayDown
        )
    }

    /// What the admin can do about a failing handle, in a sentence.
    pub fn fix(self) -> Option<&'static str> {
        match self {
            Self::AuthFailed => Some(
                "the device's SIP password was probably changed on the PBX: Teamline reads it again from the PBX API and re-registers by itself; if it keeps failing (or the PBX answered 403), check on the PBX that the device is enabled, that its password is 8 to 64 letters and digits and that the PBX accepts SIP from the gateway's address, then use Repair on the user",
            ),
            Self::PbxUnreachable => Some(
                "check the PBX location's SIP domain proxy and DNS lookup type (PBX page), that the name resolves, and that the PBX accepts SIP from the gateway's address; Teamline keeps retrying and tries the next DNS target",
            ),
            Self::Rejected => Some(
                "check that the device exists on the PBX in the PBX location's SIP domain and accepts registrations",
            ),
            Self::GatewayDown => Some(
                "start the gateway's Kamailio (e.g. systemctl start kamailio) and check Teamline's --gateway-rpc address; every registration is restored by itself once it answers",
            ),
            _ => None,
        }
    }
}

impl std::fmt::Display for RegistrationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_failures_have_a_fix() {
        for k in RegistrationStatus::ALL {
            assert_eq!(RegistrationStatus::parse(k.as_str()), Some(k));
            assert_eq!(k.is_failing(), k.fix().is_some(), "{k:?}");
        }
        assert_eq!(RegistrationStatus::parse("online"), None);
    }
}
