//! The tenant's alternative behaviours, and the states of a user that only those alternatives
//! (or a real tenant) produce: roles held only through Privileged Identity Management, and
//! a number held with enterprise voice off.

use super::{ControlError, TenantControl};
use crate::microsoft::behaviour::Behaviour;
use crate::microsoft::model::{now_unix, well_known};

impl TenantControl {
    /// Which way the tenant behaves where the documentation leaves it open.
    pub fn behaviour(&self) -> Behaviour {
        self.with(|t| t.behaviour.clone())
    }

    /// Replaces the tenant's behaviour switches.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.with(|t| t.behaviour = behaviour);
    }

    /// Edits the tenant's behaviour switches in place.
    pub fn update_behaviour(&self, f: impl FnOnce(&mut Behaviour)) {
        self.with(|t| f(&mut t.behaviour));
    }

    /// Sets a user's directory roles (template ids): `active` ones show in `wids` and
    /// `memberOf`, `eligible` ones only in Privileged Identity Management until activated.
    pub fn set_user_roles(
        &self,
        user: &str,
        active: &[&str],
        eligible: &[&str],
    ) -> Result<(), ControlError> {
        self.with(|t| {
            let idx = t
                .user_idx(user)
                .ok_or_else(|| ControlError::UnknownUser(user.to_string()))?;
            let u = t.user_mut(idx);
            u.wids = active.iter().map(|r| r.to_string()).collect();
            if !u.guest {
                u.wids.push(well_known::ROLE_DEFAULT_USER.to_string());
            }
            u.eligible_roles = eligible.iter().map(|r| r.to_string()).collect();
            Ok(())
        })
    }

    /// Turns a user's enterprise voice on or off without touching their numbers: the state
    /// a Teams admin leaves behind with `Set-CsPhoneNumberAssignment -EnterpriseVoiceEnabled
    /// $false` (or that a tenant shows after a failed change).
    pub fn set_enterprise_voice(&self, user: &str, enabled: bool) -> Result<(), ControlError> {
        self.with(|t| {
            let idx = t
                .user_idx(user)
                .ok_or_else(|| ControlError::UnknownUser(user.to_string()))?;
            let u = t.user_mut(idx);
            u.teams.ev = enabled;
            u.teams.modified = now_unix();
            Ok(())
        })
    }
}
