//! "A 365 user is not syncing": asks Microsoft directly about a user (even one Teamline has
//! never synced) and lists every cause with its fix.

use crate::directory::SyncReport;
use crate::registration_check;
use crate::{Engine, EngineError};
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::PbxUserState;
use teamline_microsoft::directory::licences::{PROPAGATION_WINDOW, PlanStatus};
use teamline_microsoft::directory::{DirectoryUser, UserType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Pass,
    Fail,
    /// Not wrong, but worth knowing (e.g. a licence assigned hours ago may still propagate).
    Warn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub label: &'static str,
    pub status: CheckStatus,
    pub detail: String,
    /// What to do when it failed.
    pub fix: Option<String>,
    /// The Teamline record it refers to, if any.
    pub pbx_user: Option<PbxUserId>,
}

impl Check {
    fn pass(label: &'static str, detail: impl Into<String>) -> Self {
        Self {
            label,
            status: CheckStatus::Pass,
            detail: detail.into(),
            fix: None,
            pbx_user: None,
        }
    }

    fn fail(label: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            label,
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
            pbx_user: None,
        }
    }

    fn warn(label: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            label,
            status: CheckStatus::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
            pbx_user: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Troubleshooting {
    /// More than one user matches the name: pick one.
    Candidates(Vec<(String, String)>),
    /// The checklist for one user (`None` when no such user exists in the tenant).
    Checklist {
        upn: Option<String>,
        display_name: Option<String>,
        checks: Vec<Check>,
    },
}

impl Troubleshooting {
    pub fn all_passed(&self) -> bool {
        matches!(self, Self::Checklist { checks, .. } if checks.iter().all(|c| c.status != CheckStatus::Fail))
    }
}

const ALL_COMPANY_NAMES: [&str; 3] = ["all company", "all users", "allcompany"];

impl Engine {
    pub async fn troubleshoot(
        &self,
        e: EnterpriseId,
        query: &str,
    ) -> Result<Troubleshooting, EngineError> {
        let store = &self.inner.store;
        let query = query.trim();
        if query.is_empty() {
            return Err(EngineError::refused(
                "type a name or a user principal name (e.g. AdeleV@contoso.example)",
            ));
        }
        let enterprise = store.get_enterprise(e).await?;
        let mut checks = Vec::new();
        let consent = enterprise.consent(ConsentKind::UserSync);
        let consent_check = if consent {
            Check::pass(
                "User-sync consent granted",
                "Teamline may read this tenant's users and groups",
            )
        } else {
            Check::fail(
                "User-sync consent granted",
                "Teamline has not been granted consent to read this tenant",
                "use Grant Consent on the Dashboard, signed in as a Global Administrator",
            )
        };
        if !consent || enterprise.tenant_id.is_none() {
            checks.push(consent_check);
            return Ok(Troubleshooting::Checklist {
                upn: None,
                display_name: None,
                checks,
            });
        }
        let tenant = self.tenant_api(&enterprise)?;
        let by_device = self.user_of_device(e, query).await?;
        let user = if let Some(upn) = by_device {
            tenant.user(&upn).await?
        } else if query.contains('@') {
            tenant.user(query).await?
        } else {
            let mut found = tenant.search_users(query, 10).await?;
            match found.len() {
                0 => None,
                1 => found.pop(),
                _ => {
                    return Ok(Troubleshooting::Candidates(
                        found
                            .into_iter()
                            .map(|u| (u.user_principal_name, u.display_name))
                            .collect(),
                    ));
                }
            }
        };
        let Some(user) = user else {
            checks.push(Check::fail(
                "Exists in the tenant",
                format!("Microsoft 365 has no user with a name, user principal name or e-mail address (any word of it) starting with \"{query}\""),
                "check the spelling, or search by the user's full user principal name (e.g. name@contoso.com)",
            ));
            checks.push(consent_check);
            return Ok(Troubleshooting::Checklist {
                upn: None,
                display_name: None,
                checks,
            });
        };
        checks.push(Check::pass(
            "Exists in the tenant",
            format!("{} ({})", user.display_name, user.user_principal_name),
        ));
        checks.push(if user.account_enabled {
            Check::pass("Account enabled", "the user can sign in")
        } else {
            Check::fail("Account enabled", "the account is blocked from signing in", "unblock it in the Microsoft 365 admin center (Users → Active users → Block sign-in off), then run Sync Teams Users")
        });
        checks.push(member_check(&user));
        checks.extend(licence_checks(&user, store.clock().now_ms()));

        let groups = store.list_sync_groups(e).await?;
        if groups.is_empty() {
            checks.push(Check::pass(
                "In a sync group",
                "no sync group is selected: every enabled member user is synced",
            ));
        } else {
            let user_groups = tenant.user_groups(&user.id).await?;
            let in_sync: Vec<&str> = groups
                .iter()
                .filter(|g| user_groups.iter().any(|ug| ug.id == g.group_object_id))
                .map(|g| g.display_name.as_str())
                .collect();
            let names: Vec<&str> = groups.iter().map(|g| g.display_name.as_str()).collect();
            checks.push(if in_sync.is_empty() {
                Check::fail(
                    "In a sync group",
                    format!("not a member (directly or through nested groups) of {}", names.join(", ")),
                    format!("add the user to {} in the Microsoft 365 admin center, then run Sync Teams Users", names.first().copied().unwrap_or("the sync group")),
                )
            } else {
                Check::pass("In a sync group", format!("member of {}", in_sync.join(", ")))
            });
        }
        let relies_on_all_company = groups
            .iter()
            .any(|g| ALL_COMPANY_NAMES.contains(&g.display_name.to_lowercase().as_str()));
        checks.push(if relies_on_all_company {
            Check::fail(
                "\"All Company\" not relied upon",
                "the built-in All Company group is selected for syncing, and Microsoft does not keep its membership reliably",
                "create a dedicated group such as \"Teammate Sync\", add the users, and select it instead",
            )
        } else {
            Check::pass("\"All Company\" not relied upon", "syncing uses dedicated groups")
        });

        let holder = store.holder_of_teams_user(e, &user.id).await?;
        match &holder {
            Some(h) if h.state == PbxUserState::Disabled => checks.push(Check {
                pbx_user: Some(h.id),
                ..Check::fail(
                    "Not previously disabled in Teamline",
                    format!(
                        "{} is a Disabled PBX user, so it is not offered for SET UP PBX USER",
                        h.display_name
                    ),
                    "open the user (Users → Disabled) and re-enable or delete it",
                )
            }),
            Some(h) => checks.push(Check {
                pbx_user: Some(h.id),
                ..Check::pass(
                    "Not previously disabled in Teamline",
                    "already set up as an active PBX user",
                )
            }),
            None => checks.push(Check::pass(
                "Not previously disabled in Teamline",
                "no Teamline record holds this user",
            )),
        }
        if let Some(h) = holder
            .as_ref()
            .filter(|h| h.state != PbxUserState::Disabled)
        {
            checks.push(self.registration_check(e, h.id).await?);
        }
        checks.push(consent_check);

        let last = self.last_sync(e).await?;
        let synced = store.get_teams_user(e, &user.id).await?;
        checks.push(last_sync_check(last.as_ref(), synced.is_some()));
        Ok(Troubleshooting::Checklist {
            upn: Some(user.user_principal_name.clone()),
            display_name: Some(user.display_name.clone()),
            checks,
        })
    }
}

impl Engine {
    /// Whether the PBX user's device handle registers, from the SIP gateway's last report.
    async fn registration_check(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<Check, EngineError> {
        let store = &self.inner.store;
        let user = store.get_pbx_user(e, id).await?.user;
        let record = store.list_registrations(Some(e), Some(&[id])).await?;
        Ok(registration_check::troubleshoot_check(
            &user,
            record.first(),
        ))
    }

    /// The UPN of the PBX user whose device handle is `query` (e.g. `1000tm`), so a handle
    /// that does not register can be looked up by its name.
    async fn user_of_device(
        &self,
        e: EnterpriseId,
        query: &str,
    ) -> Result<Option<String>, EngineError> {
        if query.contains('@') || query.contains(' ') {
            return Ok(None);
        }
        let store = &self.inner.store;
        let found = store
            .list_registrations(Some(e), None)
            .await?
            .into_iter()
            .find(|r| r.device.as_str().eq_ignore_ascii_case(query));
        Ok(match found {
            Some(r) => Some(store.get_pbx_user(e, r.pbx_user_id).await?.upn),
            None => None,
        })
    }
}

fn member_check(user: &DirectoryUser) -> Check {
    if user.licences.resource_account_phone.is_some() {
        return Check::fail(
            "Member user",
            "this is a resource account (auto attendant or call queue), not a person",
            "resource accounts cannot be PBX users; choose a person's account",
        );
    }
    match &user.user_type {
        UserType::Member => Check::pass("Member user", "a member of the tenant"),
        UserType::Guest => Check::fail(
            "Member user",
            "a guest user from another organisation",
            "only member users can be set up for calling",
        ),
        UserType::Other(t) => Check::fail(
            "Member user",
            format!("user type {t}"),
            "only member users can be set up for calling",
        ),
    }
}

fn licence_checks(user: &DirectoryUser, now_ms: i64) -> Vec<Check> {
    let l = &user.licences;
    let mut out = Vec::new();
    out.push(match &l.teams {
        Some(p) if matches!(p.status, PlanStatus::Enabled | PlanStatus::Warning) => {
            Check::pass("Microsoft Teams licence", "assigned and enabled")
        }
        Some(p) => Check::fail(
            "Microsoft Teams licence",
            format!("assigned but {}", p.status.as_str()),
            "re-enable the licence in the Microsoft 365 admin center",
        ),
        None => Check::fail(
            "Microsoft Teams licence",
            "not assigned",
            "assign a licence that includes Microsoft Teams in the Microsoft 365 admin center",
        ),
    });
    out.push(match &l.teams_phone {
        Some(p) if matches!(p.status, PlanStatus::Enabled | PlanStatus::Warning) => {
            let recent = p.assigned_at.is_some_and(|at| {
                let age_ms = now_ms - i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(now_ms);
                age_ms < i64::try_from(PROPAGATION_WINDOW.whole_milliseconds()).unwrap_or(i64::MAX)
            });
            if recent {
                Check::warn("Teams Phone licence", "assigned in the last 48 hours", "Microsoft can take up to 48 hours to apply a new Teams Phone licence: run Sync Teams Users again later")
            } else {
                Check::pass("Teams Phone licence", "assigned and enabled")
            }
        }
        Some(p) => Check::fail("Teams Phone licence", format!("assigned but {}", p.status.as_str()), "re-enable Teams Phone in the Microsoft 365 admin center"),
        None => Check::fail("Teams Phone licence", "not assigned", "assign Teams Phone in the Microsoft 365 admin center; it can take up to 48 hours to apply"),
    });
    out.push(if l.calling_plan.is_some() {
        Check::fail(
            "No Calling Plan",
            "a Microsoft Calling Plan is assigned, which conflicts with Direct Routing",
            "remove the Calling Plan licence",
        )
    } else {
        Check::pass("No Calling Plan", "no Microsoft Calling Plan")
    });
    out
}

fn last_sync_check(last: Option<&SyncReport>, synced: bool) -> Check {
    match last {
        None => Check::fail(
            "Last sync",
            "Teamline has not synced this tenant yet",
            "click Sync Teams Users",
        ),
        Some(r) if r.error.is_some() => Check::fail(
            "Last sync",
            format!(
                "the last sync failed: {}",
                r.error.clone().unwrap_or_default()
            ),
            "fix the cause, then click Sync Teams Users",
        ),
        Some(r) if synced => Check::pass(
            "Last sync",
            format!("{} · the user is in Teamline's directory", r.summary()),
        ),
        Some(r) => Check::warn(
            "Last sync",
            format!("{} · the user was not part of it", r.summary()),
            "after fixing the lines above, click Sync Teams Users",
        ),
    }
}
