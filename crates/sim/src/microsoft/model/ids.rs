//! How the simulator names objects: GUIDs derived from a hash of a scope and a name, so that the
//! same seed yields the same ids on every run and every machine.

use sha2::{Digest, Sha256};

/// A GUID derived from a hash of `scope` and `name`: stable across runs and machines.
pub fn stable_guid(scope: &str, name: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update([0u8]);
    hasher.update(name.to_lowercase().as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Object id of a user of a tenant, from its UPN.
pub fn user_id(tenant_id: &str, upn: &str) -> String {
    stable_guid(&format!("{tenant_id}/user"), upn)
}

/// Object id of a group of a tenant, from its display name.
pub fn group_id(tenant_id: &str, display_name: &str) -> String {
    stable_guid(&format!("{tenant_id}/group"), display_name)
}

/// Object id of an app's service principal in a tenant (exists once consent was granted).
pub fn service_principal_id(tenant_id: &str, client_id: &str) -> String {
    stable_guid(&format!("{tenant_id}/servicePrincipal"), client_id)
}

/// The `MS=msNNNNNNNN` TXT value of a domain (stable).
pub(crate) fn verification_code(domain: &str) -> String {
    let g = stable_guid("domain-verification", domain);
    let digits: String = g
        .chars()
        .filter(char::is_ascii_digit)
        .chain("00000000".chars())
        .take(8)
        .collect();
    format!("MS=ms{digits}")
}
