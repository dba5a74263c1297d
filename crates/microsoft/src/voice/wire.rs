//! Graph JSON of the Teams administration APIs (`/admin/teams/...`).

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::types::{
    AccountType, EffectivePolicy, NumberAssignment, PolicySource, TelephoneNumber, UserVoiceConfig,
};

/// Several documented examples of these APIs wrap a single object in `{"value": {...}}`
/// and show collections with `value` as an object; accept every shape.
pub(crate) fn unwrap_value<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    let v: serde_json::Value = serde_json::from_slice(body)?;
    if let Some(inner) = v.get("value")
        && inner.is_object()
    {
        return serde_json::from_value(inner.clone());
    }
    serde_json::from_value(v)
}

/// A collection whose `value` may be an array or (in the docs) a single object.
pub(crate) fn collection<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, serde_json::Error> {
    let v: serde_json::Value = serde_json::from_slice(body)?;
    match v.get("value") {
        Some(serde_json::Value::Array(items)) => {
            items.iter().cloned().map(serde_json::from_value).collect()
        }
        Some(obj @ serde_json::Value::Object(_)) => Ok(vec![serde_json::from_value(obj.clone())?]),
        _ => Ok(Vec::new()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperationWire {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub numbers: Vec<OperationNumberWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperationNumberWire {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_detail: Option<String>,
}

impl OperationWire {
    /// The overall status; when absent, derived from the per-number statuses.
    pub fn status(&self) -> String {
        if let Some(s) = &self.status {
            return s.clone();
        }
        let statuses: Vec<&str> = self
            .numbers
            .iter()
            .filter_map(|n| n.status.as_deref())
            .collect();
        if statuses.contains(&"failed") {
            "failed".into()
        } else if !statuses.is_empty() && statuses.iter().all(|s| *s == "succeeded") {
            "succeeded".into()
        } else {
            "running".into()
        }
    }

    pub fn detail(&self) -> String {
        let details: Vec<&str> = self
            .numbers
            .iter()
            .filter_map(|n| n.status_detail.as_deref())
            .filter(|d| !d.trim().is_empty())
            .collect();
        if details.is_empty() {
            "Microsoft gave no reason".into()
        } else {
            details.join("; ")
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NumberAssignmentWire {
    telephone_number: String,
    #[serde(default)]
    assignment_target_id: Option<String>,
    #[serde(default)]
    assignment_status: Option<String>,
    #[serde(default)]
    activation_state: Option<String>,
    #[serde(default)]
    number_type: Option<String>,
}

impl From<NumberAssignmentWire> for NumberAssignment {
    fn from(w: NumberAssignmentWire) -> Self {
        Self {
            number: w.telephone_number,
            target_id: w.assignment_target_id.filter(|t| !t.is_empty()),
            assignment_status: w.assignment_status.unwrap_or_else(|| "unknown".into()),
            activation_state: w.activation_state,
            number_type: w.number_type,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyIdWire {
    #[serde(default)]
    pub name: Option<String>,
    pub policy_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserConfigurationWire {
    id: String,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    is_enterprise_voice_enabled: Option<bool>,
    #[serde(default)]
    account_type: Option<String>,
    #[serde(default)]
    feature_types: Vec<String>,
    #[serde(default)]
    telephone_numbers: Vec<TelephoneNumberWire>,
    #[serde(default)]
    effective_policy_assignments: Vec<EffectivePolicyWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TelephoneNumberWire {
    telephone_number: String,
    #[serde(default)]
    assignment_category: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EffectivePolicyWire {
    policy_type: String,
    #[serde(default)]
    policy_assignment: Option<PolicyAssignmentWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyAssignmentWire {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    assignment_type: Option<String>,
    #[serde(default)]
    policy_id: Option<String>,
    #[serde(default)]
    group_id: Option<String>,
}

impl From<UserConfigurationWire> for UserVoiceConfig {
    fn from(w: UserConfigurationWire) -> Self {
        Self {
            user_id: w.id,
            user_principal_name: w.user_principal_name,
            enterprise_voice_enabled: w.is_enterprise_voice_enabled.unwrap_or(false),
            account_type: w
                .account_type
                .as_deref()
                .map_or(AccountType::Unknown, AccountType::parse),
            feature_types: w.feature_types,
            telephone_numbers: w
                .telephone_numbers
                .into_iter()
                .map(|n| TelephoneNumber {
                    number: n.telephone_number,
                    category: n.assignment_category,
                })
                .collect(),
            policies: w
                .effective_policy_assignments
                .into_iter()
                .map(|p| {
                    let a = p.policy_assignment.unwrap_or(PolicyAssignmentWire {
                        display_name: None,
                        assignment_type: None,
                        policy_id: None,
                        group_id: None,
                    });
                    let source = match a.assignment_type.as_deref() {
                        Some("direct") => PolicySource::Direct,
                        Some("group") => PolicySource::Group {
                            group_id: a.group_id,
                        },
                        Some(other) => PolicySource::Other(other.to_owned()),
                        None => PolicySource::Other("unknown".into()),
                    };
                    EffectivePolicy {
                        policy_type: p.policy_type,
                        name: a.display_name.unwrap_or_else(|| "Global".into()),
                        policy_id: a.policy_id,
                        source,
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::types::PolicyType;

    #[test]
    fn documented_user_configuration_parses() {
        let body = br##"{"value":{"@odata.context":"https://graph.microsoft.com/beta/$metadata#admin/teams/userConfigurations/$entity",
      "id":"5c802b19-3600-83f1-1767-7b9edc7f38ab","userPrincipalName":"AdeleV@contoso.com","tenantId":"87d349ed-44d7-43e1-9a83-5f2406dee5bd",
      "effectivePolicyAssignments":[{"policyType":"TeamsCallingPolicy","policyAssignment":{"displayName":"AllOn","assignmentType":"group","policyId":"f759","groupId":"75ae"}},
        {"policyType":"TeamsMeetingPolicy","policyAssignment":{"displayName":"CustomPolicy","assignmentType":"direct","policyId":"J93P"}}],
      "telephoneNumbers":[{"telephoneNumber":"+13235533696","assignmentCategory":"primary"}],
      "isEnterpriseVoiceEnabled":false,"featureTypes":["Teams","CallingPlan"],"accountType":"user",
      "createdDateTime":"2025-01-07T09:08:50.9115993Z","modifiedDateTime":"2025-01-07T09:08:50.9115993Z"}}"##;
        let c: UserVoiceConfig = unwrap_value::<UserConfigurationWire>(body).unwrap().into();
        assert_eq!(c.primary_number(), Some("+13235533696"));
        assert!(!c.enterprise_voice_enabled);
        assert!(!c.has_teams_phone());
        assert_eq!(c.policy_name(PolicyType::TeamsCallingPolicy), "AllOn");
        assert_eq!(
            c.policy(PolicyType::TeamsCallingPolicy).unwrap().source,
            PolicySource::Group {
                group_id: Some("75ae".into())
            }
        );
        assert_eq!(
            c.policy_name(PolicyType::OnlineVoiceRoutingPolicy),
            "Global"
        );
        assert_eq!(c.account_type, AccountType::User);
    }

    #[test]
    fn documented_operation_and_number_shapes_parse() {
        let body = br##"{"value":{"@odata.type":"#microsoft.graph.teamsAdministration.telephoneNumberLongRunningOperation",
    "id":"QXNz","createdDateTime":"2025-02-03T22:03:26Z","status":"succeeded",
    "numbers":[{"resourceLocation":"https://graph.microsoft.com/v1.0/admin/teams/telephoneNumberManagement/numberAssignments/N2Ey","status":"succeeded"}]}}"##;
        let op: OperationWire = unwrap_value(body).unwrap();
        assert_eq!(op.status(), "succeeded");
        let bare = br##"{"id":"x","status":"failed","numbers":[{"status":"failed","statusDetail":"The number is already assigned to another user."}]}"##;
        let op: OperationWire = unwrap_value(bare).unwrap();
        assert_eq!(
            (op.status().as_str(), op.detail().as_str()),
            ("failed", "The number is already assigned to another user.")
        );

        let single = br##"{"value":{"telephoneNumber":"+12052582895","numberType":"directRouting","assignmentTargetId":null,"assignmentStatus":"unassigned"}}"##;
        let numbers: Vec<NumberAssignmentWire> = collection(single).unwrap();
        let n: NumberAssignment = numbers.into_iter().next().unwrap().into();
        assert!(!n.is_assigned());
    }
}
