//! `teamline doctor` for one enterprise, as the command line and the portal's Readiness page
//! run it: what decides on day one whether Teamline works with the enterprise's Microsoft 365
//! tenant and PBX locations, checked against the real services with the settings Teamline
//! stored. Read-only unless a write test on a test user is asked for (the user is put back as
//! before).

use crate::{Engine, EngineError};
use teamline_domain::audit::Actor;
use teamline_domain::diagnosis::{Check, Outcome};
use teamline_domain::ids::EnterpriseId;
use teamline_microsoft::doctor::{DoctorOptions, WriteTest};
use teamline_microsoft::voice::PolicyType;
use teamline_store::AuditRecord;

/// The action of the portal's sign-in audit event, whose `after` holds how the roles were
/// learnt (`teamline_microsoft::doctor::sign_in_check`).
const SIGN_IN_ACTION: &str = "admin.sign_in";
/// How far back in the audit log the last sign-in is looked for.
const AUDIT_LOOKBACK: u32 = 500;

/// What to check beyond the read-only checks of every PBX location.
#[derive(Clone, Debug, Default)]
pub struct DoctorRequest {
    /// Only this PBX location (by name, any case); `None` = every location.
    pub location: Option<String>,
    /// An extension whose devices the PBX checks read.
    pub extension: Option<String>,
    /// The write round trip on a test user.
    pub write_test: Option<WriteTest>,
}

/// The checks of one run.
#[derive(Clone, Debug)]
pub struct DoctorReport {
    /// The enterprise's Microsoft 365 tenant.
    pub tenant_id: String,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// No check failed (warnings and skipped checks do not count against it).
    pub fn ok(&self) -> bool {
        teamline_domain::diagnosis::all_pass(&self.checks)
    }
}

impl Engine {
    /// Runs the doctor's checks for an enterprise: how the last portal sign-in learnt the
    /// admin's roles, the Microsoft tenant's checks (with the policies this enterprise
    /// grants), and each PBX location's. Refused when the enterprise has no tenant yet. A
    /// write test is a change in Microsoft made for `actor`: the audit log records it.
    pub async fn doctor(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        request: &DoctorRequest,
    ) -> Result<DoctorReport, EngineError> {
        let store = &self.inner.store;
        let enterprise = store.get_enterprise(e).await?;
        let tenant_id = enterprise
            .tenant_id
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .ok_or_else(|| {
                EngineError::refused(format!(
                    "{} has not registered its Microsoft 365 tenant yet: its Global Administrator must sign in first",
                    enterprise.name
                ))
            })?;

        let mut checks = vec![self.last_sign_in(e).await?];
        let options = DoctorOptions {
            policies: self.granted_policies(e).await?,
            write_test: request.write_test.clone(),
        };
        checks.extend(self.inner.microsoft.doctor(&tenant_id, &options).await);

        for location in store.list_pbx_locations(e).await? {
            let name = location.settings.name.as_str().to_owned();
            if request
                .location
                .as_deref()
                .is_some_and(|wanted| !wanted.eq_ignore_ascii_case(&name))
            {
                continue;
            }
            match self.pbx().pbx(e, location.id).await {
                Ok(client) => {
                    for mut check in client.doctor(request.extension.as_deref()).await {
                        check.title = format!("{name}: {}", check.title);
                        checks.push(check);
                    }
                }
                Err(err) => checks.push(
                    Check::new(
                        "pbx.settings",
                        format!("{name}: PBX settings"),
                        Outcome::Fail,
                        "Teamline cannot build a client from the stored settings",
                    )
                    .with_error(err.to_string())
                    .with_fix("correct the PBX location's settings in Teamline (PBX settings)"),
                ),
            }
        }
        let registrations = store.list_registrations(Some(e), None).await?;
        checks.extend(crate::registration_check::readiness_check(&registrations));
        let report = DoctorReport { tenant_id, checks };
        // Audited when the round trip touched Teams; a test user the tenant does not have
        // stops it before any write.
        let wrote = report
            .checks
            .iter()
            .any(|c| c.id.starts_with("write.") && c.id != "write.user");
        if let Some(test) = request.write_test.as_ref().filter(|_| wrote) {
            let failed = report
                .checks
                .iter()
                .filter(|c| c.outcome == Outcome::Fail)
                .count();
            store
                .record_audit(&AuditRecord {
                    enterprise_id: Some(e),
                    actor: actor.clone(),
                    action: "doctor.write_test".into(),
                    summary: format!(
                        "Ran the readiness write test on {} in Teams (a number and each policy assigned and put back): {failed} checks failed",
                        test.user
                    ),
                    object_type: "enterprise".into(),
                    object_id: Some(e.to_string()),
                    before: None,
                    after: None,
                })
                .await?;
        }
        Ok(report)
    }

    /// How the last sign-in to the Enterprise portal learnt the admin's roles (the portal
    /// records it with the sign-in; the doctor cannot sign in for anyone).
    async fn last_sign_in(&self, e: EnterpriseId) -> Result<Check, EngineError> {
        let events = self.inner.store.list_audit(Some(e), AUDIT_LOOKBACK).await?;
        let recorded = events.iter().find_map(|event| {
            if event.action != SIGN_IN_ACTION {
                return None;
            }
            let check: Check = serde_json::from_str(event.after.as_deref()?).ok()?;
            Some((event.at_ms, check))
        });
        Ok(match recorded {
            Some((at_ms, mut check)) => {
                check.found = format!("last sign-in ({}): {}", rfc3339(at_ms), check.found);
                check
            }
            None => Check::new(
                "signin.roles",
                "Admin sign-in: directory roles",
                Outcome::Skip,
                "no sign-in recorded yet: sign in to the Enterprise portal once, then run the doctor again to see whether the roles came from the ID token's wids claim or from Microsoft Graph",
            ),
        })
    }

    /// The policies Teamline grants in this enterprise: the dial plan, the no-voicemail
    /// calling policy and the first voice route's routing policy (caller-ID policies are per
    /// caller name, so that type is checked with Global).
    async fn granted_policies(
        &self,
        e: EnterpriseId,
    ) -> Result<Vec<(PolicyType, String)>, EngineError> {
        let settings = &self.inner.settings;
        let mut out = vec![
            (PolicyType::TenantDialPlan, settings.dial_plan.clone()),
            (
                PolicyType::TeamsCallingPolicy,
                settings.no_voicemail_calling_policy.clone(),
            ),
        ];
        if let Some(route) = self.inner.store.list_voice_routes(e).await?.first() {
            out.push((
                PolicyType::OnlineVoiceRoutingPolicy,
                route.policy_name.clone(),
            ));
        }
        Ok(out)
    }
}

fn rfc3339(at_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
