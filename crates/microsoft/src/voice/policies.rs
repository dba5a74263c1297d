//! Granting Teams policies to users, Graph first.
//!
//! Graph's `admin/teams/policy` (`getPolicyId`, `userAssignments/assign|unassign`) is
//! documented with meeting-policy examples only. When it refuses one of Teamline's voice
//! policy types (400), the grant goes through the Teams admin REST surface that
//! `Grant-CsOnlineVoiceRoutingPolicy` & co. use (`PUT /Skype.Policy/users/{user}` with
//! `PolicyType` and `PolicyName`, as public clients send it), and the tenant remembers which
//! surface works for each type.
//!
//! `getPolicyId` returns a collection: only an entry whose name is the asked one (with or
//! without Microsoft's `Tag:` prefix) counts. A policy Teamline created a moment ago is looked
//! up again for a bounded time before it is reported missing, since Graph sees it after
//! replication.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::wire::{self, PolicyIdWire};
use super::{GraphTeamsVoice, PolicyType, UserRef};
use crate::error::MicrosoftError;
use crate::http::Reply;
use crate::learned::PolicyPath;
use crate::odata::{function_call, segment, trim_base};
use crate::tenant::Req;

const ASSIGNMENT_TYPE: &str = "#microsoft.graph.teamsAdministration.teamsPolicyUserAssignment";

/// Users per `userAssignments/assign` request. The action takes a list; Microsoft documents no
/// limit, so Teamline stays at the size of a `$batch`.
pub(super) const USERS_PER_ASSIGNMENT: usize = 20;

/// What a Graph policy call answered.
enum GraphAnswer<T> {
    Done(T),
    /// Graph does not handle this policy type in this tenant.
    RefusedType,
}

/// Whether Graph's 400 is about the policy type (and not, say, a malformed user id).
fn refuses_type(reply: &Reply, policy_type: PolicyType) -> bool {
    if reply.status != StatusCode::BAD_REQUEST {
        return false;
    }
    let err = crate::graph::parse_error(&reply.body);
    let m = err.message.to_ascii_lowercase();
    m.contains(&policy_type.as_str().to_ascii_lowercase())
        || m.contains("policy type")
        || m.contains("policytype")
        || m.contains("not supported")
}

impl GraphTeamsVoice {
    fn cached_ids(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<(PolicyType, String), String>> {
        self.policy_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn path_of(&self, policy_type: PolicyType) -> Option<PolicyPath> {
        self.core.learned.policy_path(policy_type)
    }

    fn learn(&self, policy_type: PolicyType, path: PolicyPath) {
        if self.path_of(policy_type) != Some(path) {
            tracing::info!(
                tenant = %self.core.tenant_id,
                %policy_type,
                ?path,
                "policy type is granted through this surface in this tenant"
            );
        }
        self.core.learned.set_policy_path(policy_type, path);
    }

    /// `getPolicyId` once: the id of the exactly named policy, `None` when Graph has none.
    async fn graph_policy_id_once(
        &self,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<GraphAnswer<Option<String>>, MicrosoftError> {
        let what = format!("look up the {policy_type} \"{name}\"");
        let function = function_call(
            "getPolicyId",
            &[("type", policy_type.as_str()), ("name", name)],
        );
        let url = self
            .core
            .graph_url(&format!("/admin/teams/policy/{function}"));
        let reply = self.core.send(&Req::get(url, &what)).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(GraphAnswer::Done(None));
        }
        // getPolicyId takes only the type and the name: a 400 refuses the type.
        if reply.status == StatusCode::BAD_REQUEST {
            return Ok(GraphAnswer::RefusedType);
        }
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, &what));
        }
        let ids: Vec<PolicyIdWire> =
            wire::collection(&reply.body).map_err(|e| MicrosoftError::UnexpectedResponse {
                what: what.clone(),
                detail: e.to_string(),
            })?;
        let tagged = format!("Tag:{name}");
        Ok(GraphAnswer::Done(
            ids.into_iter()
                .find(|p| {
                    p.name.as_deref().is_some_and(|n| {
                        n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(&tagged)
                    })
                })
                .map(|p| p.policy_id),
        ))
    }

    /// `getPolicyId`, asking again while a policy Teamline just created replicates to Graph.
    async fn graph_policy_id(
        &self,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<GraphAnswer<Option<String>>, MicrosoftError> {
        let poll = &self.core.polling;
        let mut interval = poll.initial_interval;
        loop {
            let answer = self.graph_policy_id_once(policy_type, name).await?;
            let left = self.core.learned.replication_left(
                policy_type,
                name,
                self.core.policy_replication_wait,
            );
            match answer {
                GraphAnswer::Done(None) if !left.is_zero() => {
                    tokio::time::sleep(interval.min(left)).await;
                    interval = (interval * 2).min(poll.max_interval);
                }
                other => return Ok(other),
            }
        }
    }

    /// The policy as the Teams admin REST surface names it (`Tag:Name`), `None` when the
    /// tenant has no such policy.
    async fn admin_policy_identity(
        &self,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Option<String>, MicrosoftError> {
        let what = format!("look up the {policy_type} \"{name}\"");
        let base = trim_base(&self.core.teams_admin_base);
        for identity in [name.to_owned(), format!("Tag:{name}")] {
            let url = format!(
                "{base}/Skype.Policy/configurations/{}/configuration/{}",
                policy_type.as_str(),
                segment(&identity)
            );
            let reply = self.core.teams_admin(Method::GET, url, None, &what).await?;
            if reply.status == StatusCode::NOT_FOUND {
                continue;
            }
            if !reply.status.is_success() {
                return Err(self.core.admin_error_from(&reply, &what));
            }
            let found = serde_json::from_slice::<Value>(&reply.body)
                .ok()
                .and_then(|v| v.get("Identity").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or(identity);
            return Ok(Some(found));
        }
        Ok(None)
    }

    /// The id of a named policy through whichever surface serves the type in this tenant.
    pub(super) async fn lookup_policy(
        &self,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Option<String>, MicrosoftError> {
        if self.path_of(policy_type) != Some(PolicyPath::TeamsAdmin) {
            let key = (policy_type, name.to_ascii_lowercase());
            if let Some(id) = self.cached_ids().get(&key) {
                return Ok(Some(id.clone()));
            }
            match self.graph_policy_id(policy_type, name).await? {
                GraphAnswer::Done(found) => {
                    self.learn(policy_type, PolicyPath::Graph);
                    if let Some(id) = &found {
                        self.cached_ids().insert(key, id.clone());
                    }
                    return Ok(found);
                }
                GraphAnswer::RefusedType => self.learn(policy_type, PolicyPath::TeamsAdmin),
            }
        }
        self.admin_policy_identity(policy_type, name).await
    }

    /// Graph `assign` (with a policy id) or `unassign` (without) for several users.
    async fn graph_assignments(
        &self,
        users: &[UserRef],
        policy_type: PolicyType,
        policy_id: Option<&str>,
        what: &str,
    ) -> Result<GraphAnswer<()>, MicrosoftError> {
        let action = if policy_id.is_some() {
            "assign"
        } else {
            "unassign"
        };
        for chunk in users.chunks(USERS_PER_ASSIGNMENT) {
            let value: Vec<Value> = chunk
                .iter()
                .map(|u| {
                    let mut item = json!({
                        "@odata.type": ASSIGNMENT_TYPE,
                        "userId": u.id,
                        "policyType": policy_type.as_str(),
                    });
                    if let (Some(id), Some(m)) = (policy_id, item.as_object_mut()) {
                        m.insert("policyId".into(), Value::from(id));
                    }
                    item
                })
                .collect();
            let body = json!({ "value": value });
            let url = self
                .core
                .graph_url(&format!("/admin/teams/policy/userAssignments/{action}"));
            let mut req = Req::post(url, &body, what);
            // Assigning the same policy twice has the effect of assigning it once.
            req.idempotent = true;
            let reply = self.core.send(&req).await?;
            if refuses_type(&reply, policy_type) {
                return Ok(GraphAnswer::RefusedType);
            }
            if !reply.status.is_success() {
                return Err(self.core.error_from(&reply, what));
            }
        }
        Ok(GraphAnswer::Done(()))
    }

    /// `Grant-Cs…Policy -Identity <user> -PolicyName <name|$null>` over the Teams admin REST
    /// surface.
    async fn admin_grant(
        &self,
        user: &UserRef,
        policy_type: PolicyType,
        name: Option<&str>,
        what: &str,
    ) -> Result<(), MicrosoftError> {
        let url = format!(
            "{}/Skype.Policy/users/{}",
            trim_base(&self.core.teams_admin_base),
            segment(&user.id)
        );
        let body = json!({ "PolicyType": policy_type.as_str(), "PolicyName": name });
        let reply = self
            .core
            .teams_admin(Method::PUT, url, Some(&body), what)
            .await?;
        if reply.status.is_success() {
            return Ok(());
        }
        if reply.status == StatusCode::NOT_FOUND {
            // The policy was found before the grant, so the missing object is the user
            // (Teams PowerShell: "Management object not found for identity").
            return Err(MicrosoftError::NotYetInTeams {
                user: user.upn.clone(),
            });
        }
        Err(self.core.admin_error_from(&reply, what))
    }

    /// Grants the named policy (or Global for `None`) to every user, through the surface that
    /// serves the type, learning it on the way.
    pub(super) async fn grant(
        &self,
        users: &[UserRef],
        policy_type: PolicyType,
        name: Option<&str>,
    ) -> Result<(), MicrosoftError> {
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("Global"));
        let who = match users {
            [one] => one.upn.clone(),
            many => format!("{} users", many.len()),
        };
        let what = match name {
            Some(n) => format!("give {who} the {policy_type} \"{n}\""),
            None => format!("reset the {policy_type} of {who} to Global"),
        };
        let policy_id = match name {
            Some(n) => match self.lookup_policy(policy_type, n).await? {
                Some(id) => Some(id),
                None => {
                    return Err(MicrosoftError::PolicyNotFound {
                        tenant_id: self.core.tenant_id.clone(),
                        policy_type: policy_type.to_string(),
                        name: n.to_owned(),
                    });
                }
            },
            None => None,
        };
        if self.path_of(policy_type) != Some(PolicyPath::TeamsAdmin) {
            match self
                .graph_assignments(users, policy_type, policy_id.as_deref(), &what)
                .await?
            {
                GraphAnswer::Done(()) => {
                    self.learn(policy_type, PolicyPath::Graph);
                    return Ok(());
                }
                GraphAnswer::RefusedType => self.learn(policy_type, PolicyPath::TeamsAdmin),
            }
        }
        for user in users {
            self.admin_grant(user, policy_type, name, &what).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: reqwest::header::HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn only_a_400_about_the_type_counts_as_refusing_it() {
        let t = PolicyType::OnlineVoiceRoutingPolicy;
        assert!(refuses_type(
            &reply(
                400,
                r#"{"error":{"code":"BadRequest","message":"The policy type 'OnlineVoiceRoutingPolicy' is not supported."}}"#
            ),
            t
        ));
        assert!(!refuses_type(
            &reply(
                400,
                r#"{"error":{"code":"BadRequest","message":"The 'userId' parameter is required."}}"#
            ),
            t
        ));
        assert!(!refuses_type(
            &reply(
                403,
                r#"{"error":{"code":"Forbidden","message":"not supported"}}"#
            ),
            t
        ));
    }
}
