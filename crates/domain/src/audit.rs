//! Audit events: who changed what, when, from what to what.

use crate::ids::{AuditEventId, EnterpriseId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Actor {
    /// Signed in with Microsoft (UPN).
    EnterpriseAdmin(String),
    /// A reseller's local account (e-mail).
    ResellerAdmin(String),
    PlatformOperator(String),
    /// A background job, by kind.
    Job(String),
    /// The command line (`teamline demo`, `teamline migrate`, …).
    System(String),
    /// A request to the JSON API, by the name its token was given.
    ApiToken(String),
}

impl Actor {
    /// Stored form: `kind:who`.
    pub fn encode(&self) -> String {
        let (kind, who) = match self {
            Self::EnterpriseAdmin(w) => ("enterprise_admin", w),
            Self::ResellerAdmin(w) => ("reseller_admin", w),
            Self::PlatformOperator(w) => ("platform_operator", w),
            Self::Job(w) => ("job", w),
            Self::System(w) => ("system", w),
            Self::ApiToken(w) => ("api_token", w),
        };
        format!("{kind}:{who}")
    }

    pub fn decode(s: &str) -> Self {
        let (kind, who) = s.split_once(':').unwrap_or(("system", s));
        let who = who.to_owned();
        match kind {
            "enterprise_admin" => Self::EnterpriseAdmin(who),
            "reseller_admin" => Self::ResellerAdmin(who),
            "platform_operator" => Self::PlatformOperator(who),
            "job" => Self::Job(who),
            "api_token" => Self::ApiToken(who),
            _ => Self::System(who),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EnterpriseAdmin(w) | Self::ResellerAdmin(w) | Self::PlatformOperator(w) => {
                f.write_str(w)
            }
            Self::Job(kind) => write!(f, "Teamline ({kind})"),
            Self::System(what) => write!(f, "Teamline {what}"),
            Self::ApiToken(name) => write!(f, "API token \"{name}\""),
        }
    }
}

/// What a change is about, for the log and the "recent activity" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub actor: Actor,
    /// e.g. `pbx_user.create`, `calling.enable`, `sync.completed`.
    pub action: String,
    /// A short human sentence, e.g. "Set up Adele Vance on extension 1000".
    pub summary: String,
}

impl Audit {
    pub fn new(actor: Actor, action: impl Into<String>, summary: impl Into<String>) -> Self {
        Self {
            actor,
            action: action.into(),
            summary: summary.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub enterprise_id: Option<EnterpriseId>,
    pub at_ms: i64,
    pub actor: Actor,
    pub action: String,
    pub summary: String,
    pub object_type: String,
    pub object_id: Option<String>,
    /// JSON of the object before and after the change (secrets never included).
    pub before: Option<String>,
    pub after: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_round_trip() {
        for a in [
            Actor::EnterpriseAdmin("admin@contoso.example".into()),
            Actor::Job("sync_directory".into()),
            Actor::System("demo".into()),
            Actor::ApiToken("billing sync".into()),
        ] {
            assert_eq!(Actor::decode(&a.encode()), a);
        }
    }
}
