//! The `Pbx` trait: everything Teamline asks of a hosted PBX, small enough that other PBX
//! types (FreePBX, PortaSwitch, …) can implement it next to NetSapiens.

use async_trait::async_trait;

use crate::error::PbxError;
use crate::model::{Device, EmergencyAddress, Extension, NewDevice, NewEmergencyAddress};

/// One PBX location: a PBX reached through its API, scoped to one SIP domain (the
/// enterprise's). Object safe, so the engine can hold an `Arc<dyn Pbx>`.
#[async_trait]
pub trait Pbx: Send + Sync {
    /// The PBX type, for messages and logs (e.g. "NetSapiens").
    fn kind(&self) -> &'static str;

    /// The SIP domain this PBX location serves (e.g. `contoso`).
    fn domain(&self) -> &str;

    /// Every extension of the domain with its name and the auth ids of its devices, sorted by
    /// extension.
    async fn list_extensions(&self) -> Result<Vec<Extension>, PbxError>;

    /// The device handles of one extension, with their SIP passwords when disclosed.
    async fn list_devices(&self, extension: &str) -> Result<Vec<Device>, PbxError>;

    /// One device handle with its SIP password (when disclosed; see
    /// [`Device::require_password`]).
    async fn get_device(&self, extension: &str, auth_id: &str) -> Result<Device, PbxError>;

    /// Creates a device handle and returns it as the PBX stored it, including the SIP password
    /// the PBX generated when none was given.
    async fn create_device(&self, extension: &str, device: NewDevice) -> Result<Device, PbxError>;

    /// Deletes a device handle.
    async fn delete_device(&self, extension: &str, auth_id: &str) -> Result<(), PbxError>;

    /// The phone numbers (DIDs) the PBX routes to an extension, in E.164 digits without the
    /// `+` as the PBX stores them (e.g. `12125551000`), sorted.
    async fn list_phone_numbers(&self, extension: &str) -> Result<Vec<String>, PbxError>;

    /// Emergency addresses usable by an extension's devices: its own and the domain's.
    async fn list_emergency_addresses(
        &self,
        extension: &str,
    ) -> Result<Vec<EmergencyAddress>, PbxError>;

    /// Adds an emergency address for an extension.
    async fn create_emergency_address(
        &self,
        extension: &str,
        address: NewEmergencyAddress,
    ) -> Result<EmergencyAddress, PbxError>;

    /// Checks the settings step by step; never fails, the report says what works.
    async fn test_connection(&self) -> ConnectionReport;

    /// `teamline doctor`'s read-only checks of this PBX location (`extension`: also read that
    /// extension's devices), each with the PBX's own error text and the fix.
    async fn doctor(&self, extension: Option<&str>) -> Vec<teamline_domain::diagnosis::Check>;
}

/// Outcome of one connection check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Passed,
    Failed,
    /// Not tried because an earlier check failed.
    Skipped,
}

/// One line of the "Test connection" report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub status: CheckStatus,
    /// What was found, or what is wrong and how to fix it.
    pub message: String,
}

impl Check {
    pub fn passed(message: impl Into<String>) -> Self {
        Check {
            status: CheckStatus::Passed,
            message: message.into(),
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Check {
            status: CheckStatus::Failed,
            message: message.into(),
        }
    }
    pub fn skipped(message: impl Into<String>) -> Self {
        Check {
            status: CheckStatus::Skipped,
            message: message.into(),
        }
    }
    pub fn is_passed(&self) -> bool {
        self.status == CheckStatus::Passed
    }
}

/// What "Test connection" found, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReport {
    /// The API host answers (DNS, TCP, TLS, HTTP).
    pub reachable: Check,
    /// The API key or OAuth credentials are accepted.
    pub authenticated: Check,
    /// The configured SIP domain exists and the credentials may see it.
    pub domain_exists: Check,
    /// The credentials may list the domain's extensions.
    pub can_list_users: Check,
}

impl ConnectionReport {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.checks().iter().all(|(_, c)| c.is_passed())
    }

    /// The checks with their labels, for display.
    pub fn checks(&self) -> [(&'static str, &Check); 4] {
        [
            ("API reachable", &self.reachable),
            ("Credentials accepted", &self.authenticated),
            ("Domain exists", &self.domain_exists),
            ("Can list extensions", &self.can_list_users),
        ]
    }

    /// The first failed check's message: the one thing the admin should fix first.
    pub fn first_failure(&self) -> Option<&str> {
        self.checks()
            .into_iter()
            .find(|(_, c)| c.status == CheckStatus::Failed)
            .map(|(_, c)| c.message.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trait_is_object_safe() {
        fn takes(_: Option<std::sync::Arc<dyn Pbx>>) {}
        takes(None);
    }

    #[test]
    fn report_summarises_the_first_failure() {
        let r = ConnectionReport {
            reachable: Check::passed("up"),
            authenticated: Check::failed("bad key"),
            domain_exists: Check::skipped("-"),
            can_list_users: Check::skipped("-"),
        };
        assert!(!r.ok());
        assert_eq!(r.first_failure(), Some("bad key"));
    }
}
