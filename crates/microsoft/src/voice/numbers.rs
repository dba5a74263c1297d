//! Direct Routing numbers through Graph's `telephoneNumberManagement`: assign and unassign
//! with long-running operation polling, who holds a number, and Microsoft's failure texts
//! turned into errors an admin can act on.
//!
//! Assigning turns enterprise voice on; a user can end up holding the number with enterprise
//! voice off (changed in Teams PowerShell, or a failed change). Assigning the held number
//! again is then answered "already assigned" in some tenants, which would leave the user
//! without calling for good, so an assignment that finds the number already in place checks
//! enterprise voice and, when it is off, removes the number and assigns it again.

use std::time::Duration;

use serde_json::json;

use super::wire::{self, NumberAssignmentWire, OperationWire};
use super::{
    GraphTeamsVoice, NumberAssignment, NumberChange, NumberOperation, NumberRequest, TeamsVoice,
    UserRef,
};
use crate::directory::{Directory, GraphDirectory};
use crate::error::MicrosoftError;
use crate::http::Reply;
use crate::odata::{literal, query};
use crate::tenant::Req;

const NUMBERS: &str = "/admin/teams/telephoneNumberManagement/numberAssignments";

enum OperationOutcome {
    Succeeded,
    Skipped,
    Failed(String),
}

/// A 2xx answer to a number change: an operation to follow when it names one, else done.
fn accepted_or_done(reply: &Reply) -> (NumberRequest, Option<Duration>) {
    match reply.header("location") {
        Some(location) => (
            NumberRequest::Accepted(NumberOperation {
                location: location.to_owned(),
            }),
            crate::http::retry_after(&reply.headers),
        ),
        // Nothing to poll: Microsoft finished the work synchronously.
        None => (NumberRequest::Finished(NumberChange::Applied), None),
    }
}

impl GraphTeamsVoice {
    /// Follows an operation's `Location` until the operation ends, with bounded back-off
    /// (the first wait as the 202's `Retry-After` suggested, when there was one).
    async fn wait_for_operation(
        &self,
        location: &str,
        mut suggested: Option<Duration>,
        what: &str,
    ) -> Result<OperationOutcome, MicrosoftError> {
        let url = self.core.graph_link(location, what)?;
        let policy = &self.core.polling;
        let mut interval = policy.initial_interval;
        let mut waited = Duration::ZERO;
        loop {
            let wait = suggested.map_or(interval, |s| s.min(policy.max_interval));
            if waited + wait > policy.max_total {
                return Err(MicrosoftError::NumberOperationPending {
                    what: what.to_owned(),
                });
            }
            tokio::time::sleep(wait).await;
            waited += wait;
            interval = (interval * 2).min(policy.max_interval);

            let reply = self.core.send_ok(&Req::get(url.clone(), what)).await?;
            suggested = crate::http::retry_after(&reply.headers);
            let op: OperationWire = wire::unwrap_value(&reply.body).map_err(|e| {
                MicrosoftError::UnexpectedResponse {
                    what: what.to_owned(),
                    detail: e.to_string(),
                }
            })?;
            match op.status().as_str() {
                "succeeded" => return Ok(OperationOutcome::Succeeded),
                "skipped" => return Ok(OperationOutcome::Skipped),
                "failed" => return Ok(OperationOutcome::Failed(op.detail())),
                // notStarted, running, or a future value: keep waiting.
                other => tracing::debug!(
                    status = other,
                    operation = op.id.as_deref().unwrap_or(""),
                    "number operation still in progress"
                ),
            }
        }
    }

    /// Turns Microsoft's reason for a failed number change into the error an admin can act
    /// on. The phrases are those Teams uses (seen in Teams PowerShell and in third-party
    /// tools); anything else is reported verbatim.
    async fn explain_failure(
        &self,
        user: &UserRef,
        number: &str,
        detail: &str,
        what: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        let d = detail.to_ascii_lowercase();
        if d.contains("already assigned") {
            let holder = self
                .number_assignment(number)
                .await
                .ok()
                .flatten()
                .and_then(|a| a.target_id);
            if holder.as_deref() == Some(user.id.as_str()) {
                return Ok(NumberChange::AlreadyInPlace);
            }
            let holder = match holder {
                Some(id) => Some(self.upn_of(&id).await.unwrap_or(id)),
                None => None,
            };
            return Err(MicrosoftError::NumberAlreadyAssigned {
                number: number.to_owned(),
                holder,
            });
        }
        if d.contains("already has a phone number") || d.contains("already has a number") {
            return Err(MicrosoftError::UserAlreadyHasNumber {
                user: user.upn.clone(),
                detail: detail.to_owned(),
            });
        }
        // "not a valid target" is also how Teams refuses guests; only a licence wording
        // (or an unlicensed-target wording without "guest") means a missing Teams Phone.
        let licence_wording = d.contains("licen")
            || d.contains("not enabled for enterprise voice")
            || d.contains("phone system");
        if licence_wording || (d.contains("not a valid target") && !d.contains("guest")) {
            return Err(MicrosoftError::NoTeamsPhoneLicence {
                user: user.upn.clone(),
            });
        }
        if d.contains("could not find user") || d.contains("management object not found") {
            return Err(MicrosoftError::NotYetInTeams {
                user: user.upn.clone(),
            });
        }
        Err(MicrosoftError::NumberOperationFailed {
            what: what.to_owned(),
            detail: detail.to_owned(),
        })
    }

    async fn upn_of(&self, user_id: &str) -> Option<String> {
        let dir = GraphDirectory {
            core: self.core.clone(),
        };
        dir.user(user_id)
            .await
            .ok()
            .flatten()
            .map(|u| u.user_principal_name)
            .filter(|u| !u.is_empty())
    }

    /// Sends assignNumber / unassignNumber: finished (or refused and explained) at once, or
    /// accepted with an operation to follow, and the wait the 202 suggested.
    async fn start_number_change(
        &self,
        action: &str,
        body: serde_json::Value,
        user: &UserRef,
        number: &str,
        what: &str,
    ) -> Result<(NumberRequest, Option<Duration>), MicrosoftError> {
        let url = self.core.graph_url(&format!("{NUMBERS}/{action}"));
        let reply = self.core.send(&Req::post(url, &body, what)).await?;
        if !reply.status.is_success() {
            let err = crate::graph::parse_error(&reply.body);
            // A 4xx with a reason Microsoft would also have put in statusDetail.
            if reply.status.is_client_error()
                && !matches!(reply.status.as_u16(), 401 | 403 | 404)
                && !err.message.is_empty()
            {
                let change = self
                    .explain_failure(user, number, &err.message, what)
                    .await?;
                return Ok((NumberRequest::Finished(change), None));
            }
            return Err(self.core.error_from(&reply, what));
        }
        Ok(accepted_or_done(&reply))
    }

    /// Follows an accepted number change's operation and explains the outcome.
    async fn follow_number_change(
        &self,
        operation: &NumberOperation,
        suggested: Option<Duration>,
        user: &UserRef,
        number: &str,
        what: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        match self
            .wait_for_operation(&operation.location, suggested, what)
            .await?
        {
            OperationOutcome::Succeeded => Ok(NumberChange::Applied),
            OperationOutcome::Skipped => Ok(NumberChange::AlreadyInPlace),
            OperationOutcome::Failed(detail) => {
                self.explain_failure(user, number, &detail, what).await
            }
        }
    }

    /// Runs assignNumber / unassignNumber and explains the outcome.
    async fn number_change(
        &self,
        action: &str,
        body: serde_json::Value,
        user: &UserRef,
        number: &str,
        what: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        match self
            .start_number_change(action, body, user, number, what)
            .await?
        {
            (NumberRequest::Finished(change), _) => Ok(change),
            (NumberRequest::Accepted(op), suggested) => {
                self.follow_number_change(&op, suggested, user, number, what)
                    .await
            }
        }
    }

    fn assign_what(user: &UserRef, number: &str) -> String {
        format!("assign {number} to {}", user.upn)
    }

    fn assign_body(user: &UserRef, number: &str) -> serde_json::Value {
        json!({
            "telephoneNumber": number,
            "assignmentTargetId": user.id,
            "numberType": "directRouting",
            "assignmentCategory": "primary",
        })
    }

    /// Assigns the number once, as Microsoft answers it.
    async fn assign_once(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        let what = Self::assign_what(user, number);
        self.number_change(
            "assignNumber",
            Self::assign_body(user, number),
            user,
            number,
            &what,
        )
        .await
    }

    /// Sends the assignment; an answer that is final already (including "already in place",
    /// with enterprise voice checked) is [`NumberRequest::Finished`].
    pub(super) async fn request_assign(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberRequest, MicrosoftError> {
        let what = Self::assign_what(user, number);
        let (request, _) = self
            .start_number_change(
                "assignNumber",
                Self::assign_body(user, number),
                user,
                number,
                &what,
            )
            .await?;
        match request {
            NumberRequest::Finished(NumberChange::AlreadyInPlace) => self
                .ensure_voice_on(user, number)
                .await
                .map(NumberRequest::Finished),
            other => Ok(other),
        }
    }

    /// Follows an accepted assignment to its end (see [`TeamsVoice::finish_number_assignment`]).
    pub(super) async fn finish_assign(
        &self,
        user: &UserRef,
        number: &str,
        operation: &NumberOperation,
    ) -> Result<NumberChange, MicrosoftError> {
        let what = Self::assign_what(user, number);
        match self
            .follow_number_change(operation, None, user, number, &what)
            .await?
        {
            NumberChange::Applied => Ok(NumberChange::Applied),
            NumberChange::AlreadyInPlace => self.ensure_voice_on(user, number).await,
        }
    }

    pub(super) async fn assign(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        match self.assign_once(user, number).await? {
            NumberChange::Applied => Ok(NumberChange::Applied),
            NumberChange::AlreadyInPlace => self.ensure_voice_on(user, number).await,
        }
    }

    /// The user holds the number already: make sure that also means enterprise voice is on.
    async fn ensure_voice_on(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        if self.user_voice_config(user).await?.enterprise_voice_enabled {
            return Ok(NumberChange::AlreadyInPlace);
        }
        tracing::info!(
            tenant = %self.core.tenant_id,
            user = %user.upn,
            number,
            "the user holds the number with enterprise voice off: removing and assigning it again"
        );
        self.unassign(user, number).await?;
        match self.assign_once(user, number).await? {
            NumberChange::Applied => Ok(NumberChange::Applied),
            NumberChange::AlreadyInPlace => Err(MicrosoftError::EnterpriseVoiceOff {
                user: user.upn.clone(),
                number: number.to_owned(),
            }),
        }
    }

    pub(super) async fn unassign(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        // unassignNumber names only the number; make sure it is this user's before removing
        // it, so a stale request can never take someone else's number away.
        match self.holder(number).await? {
            Some(a) if a.is_assigned() && a.target_id.as_deref() == Some(user.id.as_str()) => {}
            _ => return Ok(NumberChange::AlreadyInPlace),
        }
        let what = format!("remove {number} from {}", user.upn);
        let body = json!({ "telephoneNumber": number, "numberType": "directRouting" });
        self.number_change("unassignNumber", body, user, number, &what)
            .await
    }

    pub(super) async fn holder(
        &self,
        number: &str,
    ) -> Result<Option<NumberAssignment>, MicrosoftError> {
        let what = format!("look up who holds {number}");
        let filter = format!("telephoneNumber eq {}", literal(number));
        let url = self
            .core
            .graph_url(&format!("{NUMBERS}?{}", query(&[("$filter", &filter)])));
        let reply = self.core.send_ok(&Req::get(url, &what)).await?;
        let items: Vec<NumberAssignmentWire> =
            wire::collection(&reply.body).map_err(|e| MicrosoftError::UnexpectedResponse {
                what: what.clone(),
                detail: e.to_string(),
            })?;
        let wanted = number.trim_start_matches('+');
        Ok(items
            .into_iter()
            .map(NumberAssignment::from)
            .find(|a| a.number.trim_start_matches('+') == wanted))
    }
}
