//! The Dashboard's "Enterprise Admin Action Items": derived from the enterprise's state, so an
//! item disappears by itself once what it asks for is done.

use crate::enterprise::ConsentKind;
use crate::registration::RegistrationStatus;
use serde::{Deserialize, Serialize};

/// The facts the action items are computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnterpriseFacts {
    pub user_sync_consent: bool,
    pub management_consent_requested: bool,
    pub management_consent: bool,
    /// PBX users whose changes are waiting to be pushed to Microsoft.
    pub pending_pushes: u64,
    /// PBX users whose last push failed.
    pub failed_users: u64,
    /// Voice routes not yet provisioned in the tenant.
    pub pending_voice_routes: u64,
    /// A Sync Teams Users job is queued or running.
    pub sync_running: bool,
    /// Device handles Teamline wants registered that do not register, and the most common
    /// reason among them.
    pub failing_registrations: u64,
    pub registration_cause: Option<RegistrationStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionItem {
    GrantConsent(ConsentKind),
    SyncTeamsUsers {
        pending: u64,
        running: bool,
    },
    SyncVoiceRoutes {
        pending: u64,
    },
    FixUsers {
        failed: u64,
    },
    /// Device handles that do not register to the PBX, with the most common cause.
    FixRegistrations {
        failing: u64,
        cause: RegistrationStatus,
    },
}

impl ActionItem {
    pub fn title(&self) -> String {
        match self {
            Self::GrantConsent(kind) => format!("Grant {} consent", kind.label().to_lowercase()),
            Self::SyncTeamsUsers { pending, .. } => {
                format!(
                    "{pending} pending change{} to sync to Teams",
                    plural(*pending)
                )
            }
            Self::SyncVoiceRoutes { pending } => {
                format!(
                    "{pending} voice route{} not yet set up in Teams",
                    plural(*pending)
                )
            }
            Self::FixUsers { failed } => {
                format!("{failed} user{} could not be configured", plural(*failed))
            }
            Self::FixRegistrations { failing, cause } => format!(
                "{failing} device handle{} not registered to the PBX ({})",
                plural(*failing),
                cause.label().to_lowercase()
            ),
        }
    }

    /// What to do, when the title alone does not say it.
    pub fn fix(&self) -> Option<&'static str> {
        match self {
            Self::FixRegistrations { cause, .. } => cause.fix(),
            _ => None,
        }
    }

    pub fn status(&self) -> &'static str {
        match self {
            Self::GrantConsent(_) => "Action required",
            Self::SyncTeamsUsers { running: true, .. } => "Syncing",
            Self::SyncTeamsUsers { .. } | Self::SyncVoiceRoutes { .. } => "Pending",
            Self::FixUsers { .. } | Self::FixRegistrations { .. } => "Failed",
        }
    }

    /// The button's words.
    pub fn button(&self) -> &'static str {
        match self {
            Self::GrantConsent(_) => "Grant Consent",
            Self::SyncTeamsUsers { .. } => "Sync Teams Users",
            Self::SyncVoiceRoutes { .. } => "Sync Voice Routes",
            Self::FixUsers { .. } => "Fix Users",
            Self::FixRegistrations { .. } => "Troubleshoot",
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub fn action_items(f: &EnterpriseFacts) -> Vec<ActionItem> {
    let mut items = Vec::new();
    if !f.user_sync_consent {
        items.push(ActionItem::GrantConsent(ConsentKind::UserSync));
    }
    if f.management_consent_requested && !f.management_consent {
        items.push(ActionItem::GrantConsent(ConsentKind::Management));
    }
    if f.pending_voice_routes > 0 {
        items.push(ActionItem::SyncVoiceRoutes {
            pending: f.pending_voice_routes,
        });
    }
    if f.pending_pushes > 0 {
        items.push(ActionItem::SyncTeamsUsers {
            pending: f.pending_pushes,
            running: f.sync_running,
        });
    }
    if f.failed_users > 0 {
        items.push(ActionItem::FixUsers {
            failed: f.failed_users,
        });
    }
    if f.failing_registrations > 0 {
        items.push(ActionItem::FixRegistrations {
            failing: f.failing_registrations,
            cause: f
                .registration_cause
                .unwrap_or(RegistrationStatus::PbxUnreachable),
        });
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_do() {
        let f = EnterpriseFacts {
            user_sync_consent: true,
            ..Default::default()
        };
        assert!(action_items(&f).is_empty());
    }

    #[test]
    fn pending_changes_offer_sync_teams_users_with_count() {
        let f = EnterpriseFacts {
            user_sync_consent: true,
            pending_pushes: 1,
            ..Default::default()
        };
        let items = action_items(&f);
        assert_eq!(
            items,
            vec![ActionItem::SyncTeamsUsers {
                pending: 1,
                running: false
            }]
        );
        assert_eq!(items[0].button(), "Sync Teams Users");
        assert_eq!(items[0].title(), "1 pending change to sync to Teams");
    }

    #[test]
    fn handles_that_do_not_register_say_why_and_what_to_do() {
        let f = EnterpriseFacts {
            user_sync_consent: true,
            failing_registrations: 2,
            registration_cause: Some(RegistrationStatus::AuthFailed),
            ..Default::default()
        };
        let items = action_items(&f);
        assert_eq!(
            items[0].title(),
            "2 device handles not registered to the PBX (authentication failed)"
        );
        assert!(items[0].fix().unwrap().contains("password"));
        assert_eq!(items[0].status(), "Failed");
    }

    #[test]
    fn consent_comes_first() {
        let f = EnterpriseFacts {
            failed_users: 2,
            management_consent_requested: true,
            ..Default::default()
        };
        let items = action_items(&f);
        assert_eq!(items[0], ActionItem::GrantConsent(ConsentKind::UserSync));
        assert_eq!(items[1], ActionItem::GrantConsent(ConsentKind::Management));
        assert_eq!(items[2].title(), "2 users could not be configured");
    }
}
