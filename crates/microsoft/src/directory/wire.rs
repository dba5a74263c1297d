//! Graph JSON for users and groups. Only the selected fields are deserialized.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::licences::Licences;
use super::types::{
    DirectoryGroup, DirectoryUser, GroupChange, GroupKind, MemberKind, MemberRef, Removal,
    UserChange, UserDelta, UserType,
};

/// The `$select` for users: exactly what Teamline uses.
pub(crate) const USER_SELECT: &str =
    "id,userPrincipalName,displayName,mail,accountEnabled,userType,assignedPlans,usageLocation";
/// The `$select` for groups.
pub(crate) const GROUP_SELECT: &str =
    "id,displayName,description,mail,mailEnabled,securityEnabled,groupTypes";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserWire {
    id: String,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    account_enabled: Option<bool>,
    #[serde(default)]
    user_type: Option<String>,
    #[serde(default)]
    usage_location: Option<String>,
    #[serde(default)]
    assigned_plans: Option<Vec<AssignedPlanWire>>,
    #[serde(rename = "@removed", default)]
    removed: Option<RemovedWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignedPlanWire {
    #[serde(default)]
    service_plan_id: Option<String>,
    #[serde(default)]
    capability_status: Option<String>,
    #[serde(default)]
    assigned_date_time: Option<String>,
}

#[derive(Deserialize)]
struct RemovedWire {
    #[serde(default)]
    reason: Option<String>,
}

impl RemovedWire {
    fn removal(&self) -> Removal {
        if self.reason.as_deref() == Some("deleted") {
            Removal::Permanent
        } else {
            Removal::Restorable
        }
    }
}

fn licences(plans: &[AssignedPlanWire]) -> Licences {
    Licences::from_plans(plans.iter().filter_map(|p| {
        let at = p
            .assigned_date_time
            .as_deref()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
        Some((
            p.service_plan_id.as_deref()?,
            p.capability_status.as_deref().unwrap_or(""),
            at,
        ))
    }))
}

impl UserWire {
    pub fn into_user(self) -> DirectoryUser {
        DirectoryUser {
            licences: self
                .assigned_plans
                .as_deref()
                .map(licences)
                .unwrap_or_default(),
            id: self.id,
            user_principal_name: self.user_principal_name.unwrap_or_default(),
            display_name: self.display_name.unwrap_or_default(),
            mail: self.mail,
            // A user whose state Microsoft did not say is treated as not usable.
            account_enabled: self.account_enabled.unwrap_or(false),
            user_type: self
                .user_type
                .as_deref()
                .map_or(UserType::Member, UserType::parse),
            usage_location: self.usage_location,
        }
    }

    pub fn into_change(self) -> UserChange {
        if let Some(removed) = &self.removed {
            return UserChange::Removed {
                permanently: removed.removal() == Removal::Permanent,
                id: self.id,
            };
        }
        UserChange::Upserted(Box::new(UserDelta {
            licences: self.assigned_plans.as_deref().map(licences),
            id: self.id,
            user_principal_name: self.user_principal_name,
            display_name: self.display_name,
            mail: self.mail,
            account_enabled: self.account_enabled,
            user_type: self.user_type.as_deref().map(UserType::parse),
            usage_location: self.usage_location,
        }))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupWire {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    mail_enabled: Option<bool>,
    #[serde(default)]
    security_enabled: Option<bool>,
    #[serde(default)]
    group_types: Vec<String>,
    #[serde(rename = "@odata.type", default)]
    odata_type: Option<String>,
    #[serde(rename = "@removed", default)]
    removed: Option<RemovedWire>,
    #[serde(rename = "members@delta", default)]
    members_delta: Vec<MemberWire>,
}

#[derive(Deserialize)]
struct MemberWire {
    id: String,
    #[serde(rename = "@odata.type", default)]
    odata_type: Option<String>,
    #[serde(rename = "@removed", default)]
    removed: Option<RemovedWire>,
}

impl GroupWire {
    /// Whether this directory object is a group (collections like `transitiveMemberOf` also
    /// hold directory roles and administrative units).
    pub fn is_group(&self) -> bool {
        self.odata_type
            .as_deref()
            .is_none_or(|t| t == "#microsoft.graph.group")
    }

    pub fn into_group(self) -> DirectoryGroup {
        let unified = self
            .group_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("Unified"));
        let kind = match (
            unified,
            self.mail_enabled.unwrap_or(false),
            self.security_enabled.unwrap_or(false),
        ) {
            (true, _, _) => GroupKind::Microsoft365,
            (false, true, true) => GroupKind::MailEnabledSecurity,
            (false, true, false) => GroupKind::Distribution,
            (false, false, _) => GroupKind::Security,
        };
        DirectoryGroup {
            dynamic_membership: self
                .group_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case("DynamicMembership")),
            id: self.id,
            display_name: self.display_name.unwrap_or_default(),
            description: self.description,
            mail: self.mail,
            kind,
        }
    }

    pub fn into_change(self) -> GroupChange {
        let mut change = GroupChange {
            removed: self.removed.as_ref().map(RemovedWire::removal),
            id: self.id,
            display_name: self.display_name,
            ..GroupChange::default()
        };
        for m in self.members_delta {
            let kind = match m.odata_type.as_deref() {
                Some("#microsoft.graph.user") => MemberKind::User,
                Some("#microsoft.graph.group") => MemberKind::Group,
                Some(other) => {
                    MemberKind::Other(other.trim_start_matches("#microsoft.graph.").to_owned())
                }
                None => MemberKind::Other("unknown".into()),
            };
            let member = MemberRef { id: m.id, kind };
            if m.removed.is_some() {
                change.members_removed.push(member);
            } else {
                change.members_added.push(member);
            }
        }
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::licences::PlanStatus;
    use crate::graph::Page;

    #[test]
    fn documented_users_page_parses() {
        let json = r##"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users(id,displayName)",
 "@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$select=id&$top=999&$skiptoken=RFNwd",
 "value":[{"id":"87d349ed-44d7-43e1-9a83-5f2406dee5bd","displayName":"Adele Vance","userPrincipalName":"AdeleV@contoso.com",
   "accountEnabled":true,"usageLocation":"US","onPremisesSyncEnabled":null,"userType":"Member",
   "assignedLicenses":[{"disabledPlans":[],"skuId":"06ebc4ee-1bb5-47dd-8120-11324bc54e06"}],
   "assignedPlans":[{"assignedDateTime":"2024-01-07T09:08:50Z","capabilityStatus":"Enabled",
       "service":"MicrosoftCommunicationsOnline","servicePlanId":"4828c8ec-dc2e-4779-b502-87ac9ce28ab7"},
     {"assignedDateTime":"2024-01-07T09:08:50Z","capabilityStatus":"Enabled",
       "service":"TeamspaceAPI","servicePlanId":"57ff2da0-773e-42df-b2af-ffb7a2317929"}]}]}"##;
        let page: Page<UserWire> = serde_json::from_str(json).unwrap();
        assert!(page.next_link.is_some());
        let user = page.value.into_iter().next().unwrap().into_user();
        assert_eq!(user.user_principal_name, "AdeleV@contoso.com");
        assert!(user.account_enabled);
        assert!(user.licences.is_eligible());
        assert_eq!(
            user.licences.teams_phone.unwrap().status,
            PlanStatus::Enabled
        );
    }

    #[test]
    fn group_delta_members_and_removals() {
        let json = r##"{"value":[{"id":"g1","displayName":"Teammate Sync","members@delta":[
            {"@odata.type":"#microsoft.graph.user","id":"u1"},
            {"@odata.type":"#microsoft.graph.group","id":"g2"},
            {"@odata.type":"#microsoft.graph.user","id":"u2","@removed":{"reason":"deleted"}}]},
            {"id":"g3","@removed":{"reason":"changed"}}],
            "@odata.deltaLink":"https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=x"}"##;
        let page: Page<GroupWire> = serde_json::from_str(json).unwrap();
        let changes: Vec<_> = page.value.into_iter().map(GroupWire::into_change).collect();
        assert_eq!(changes[0].members_added.len(), 2);
        assert_eq!(changes[0].members_added[1].kind, MemberKind::Group);
        assert_eq!(changes[0].members_removed[0].id, "u2");
        assert_eq!(changes[1].removed, Some(Removal::Restorable));
    }
}
