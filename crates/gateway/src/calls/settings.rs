//! Per-user call settings Teamline owns and pushes to Kamailio (htables `cname` and `cfwd`,
//! keyed by the registration's id), applied to calls the PBX sends to Teams.

use serde_json::json;

use crate::registration::RegistrationId;
use crate::rpc::{RpcClient, RpcError};

/// The caller name Teams shows for a call from the PBX.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CallerName {
    /// The PBX's caller name, as it sent it.
    #[default]
    Transparent,
    /// This name instead (e.g. the company's name).
    Other(String),
}

/// The caller Teams shows for a call the PBX forwarded to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedCallerId {
    /// Whoever called in the first place.
    #[default]
    OriginalCaller,
    /// The user whose forward brought the call here (the PBX's Diversion, else History-Info).
    UsersCallerId,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallSettings {
    pub caller_name: CallerName,
    pub forwarded_caller_id: ForwardedCallerId,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "the caller name {0:?} cannot be shown: use at most 64 characters and no double quote, backslash or control character"
    )]
    BadName(String),
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

impl CallSettings {
    fn name_ok(name: &str) -> bool {
        !name.is_empty()
            && name.chars().count() <= 64
            && !name
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
    }
}

impl RpcClient {
    /// Makes Kamailio apply `settings` to the calls of registration `id`.
    pub async fn set_call_settings(
        &self,
        id: &RegistrationId,
        settings: &CallSettings,
    ) -> Result<(), SettingsError> {
        match &settings.caller_name {
            CallerName::Transparent => self.htable_delete("cname", id.as_str()).await?,
            CallerName::Other(name) => {
                if !CallSettings::name_ok(name) {
                    return Err(SettingsError::BadName(name.clone()));
                }
                self.call_value(
                    "htable.sets",
                    vec![json!("cname"), json!(id.as_str()), json!(name)],
                )
                .await?;
            }
        }
        match settings.forwarded_caller_id {
            ForwardedCallerId::OriginalCaller => self.htable_delete("cfwd", id.as_str()).await?,
            ForwardedCallerId::UsersCallerId => {
                self.call_value(
                    "htable.sets",
                    vec![json!("cfwd"), json!(id.as_str()), json!("user")],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// What Kamailio applies to registration `id` now.
    pub async fn call_settings(&self, id: &RegistrationId) -> Result<CallSettings, RpcError> {
        let name = self.htable_get("cname", id.as_str()).await?;
        let fwd = self.htable_get("cfwd", id.as_str()).await?;
        Ok(CallSettings {
            caller_name: name.map_or(CallerName::Transparent, CallerName::Other),
            forwarded_caller_id: if fwd.as_deref() == Some("user") {
                ForwardedCallerId::UsersCallerId
            } else {
                ForwardedCallerId::OriginalCaller
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_break_the_from_header_are_refused() {
        assert!(CallSettings::name_ok("Contoso Reception"));
        assert!(!CallSettings::name_ok("Bad \"name\""));
        assert!(!CallSettings::name_ok(""));
        assert!(!CallSettings::name_ok(&"x".repeat(65)));
    }
}
