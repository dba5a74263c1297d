//! A configured PBX user as stored: what the admin configured (the validated form), its
//! lifecycle state and how far its configuration has reached Microsoft.

use super::choices::{CallerNamePolicy, ForwardedCallerId};
use crate::device::DeviceAuthId;
use crate::ids::{EnterpriseId, PbxLocationId, PbxUserId, VoiceRouteId};
use crate::phone::PhoneNumber;
use crate::sip::Extension;
use serde::{Deserialize, Serialize};

/// The lifecycle of a PBX user: Active ⇄ Disabled (Disable User / Enable User) → Deleted (only
/// from Disabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PbxUserState {
    /// Configured; calling may or may not be enabled.
    Active,
    /// Services paused; the extension stays reserved.
    Disabled,
    /// Removed after confirmation; the extension is free.
    Deleted,
}

impl PbxUserState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Disabled => "Disabled",
            Self::Deleted => "Deleted",
        }
    }

    /// Whether a user in this state holds its extension, number and Teams user.
    pub fn reserves(self) -> bool {
        matches!(self, Self::Active | Self::Disabled)
    }
}

/// Where pushing a PBX user's configuration to Microsoft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    /// Changed in Teamline, not yet sent (waits for Sync Teams Users when consent is missing).
    Pending,
    /// A job is sending it now.
    InProgress,
    /// Microsoft accepted it and is still applying it: not a failure.
    Propagating,
    /// Microsoft holds what Teamline configured.
    InSync,
    /// The last push failed; `last_error` says why.
    Failed,
    /// Microsoft's state differs from the configuration (changed outside Teamline).
    Drift,
}

impl PushState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Propagating => "propagating",
            Self::InSync => "in_sync",
            Self::Failed => "failed",
            Self::Drift => "drift",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "in_progress" => Some(Self::InProgress),
            "propagating" => Some(Self::Propagating),
            "in_sync" => Some(Self::InSync),
            "failed" => Some(Self::Failed),
            "drift" => Some(Self::Drift),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::InProgress => "In progress",
            Self::Propagating => "Pending propagation",
            Self::InSync => "In sync",
            Self::Failed => "Failed",
            Self::Drift => "Drift",
        }
    }
}

/// What an admin configured for a PBX user (the validated form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxUserSpec {
    pub pbx_location_id: PbxLocationId,
    pub voice_route_id: VoiceRouteId,
    /// The Teams user's Entra object id.
    pub teams_user_object_id: String,
    pub sip_user: Extension,
    pub phone_number: PhoneNumber,
    pub use_teams_voicemail: bool,
    pub caller_name: CallerNamePolicy,
    pub forwarded_caller_id: ForwardedCallerId,
    pub assign_dial_plan: bool,
    pub device: DeviceAuthId,
    pub tag: Option<String>,
}

/// A configured pairing as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxUser {
    pub id: PbxUserId,
    pub enterprise_id: EnterpriseId,
    pub spec: PbxUserSpec,
    pub state: PbxUserState,
    /// What the admin wants: calling on or off in Teams.
    pub calling_enabled: bool,
    pub push_state: PushState,
    pub last_error: Option<String>,
    /// Bumped on every change, for optimistic concurrency between the portal and jobs.
    pub version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}
