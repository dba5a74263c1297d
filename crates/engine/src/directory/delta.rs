//! A delta round: only what changed since the last round, from the stored delta links.
//!
//! Group membership comes first (from the groups delta of the sync groups and the groups
//! nested in them), then user changes (from the users delta). A change to how groups are
//! nested, a deleted sync group, or an expired token sends the sync back to a full read.

use super::SyncRun;
use super::scope::SyncScope;
use crate::{EngineError, convert};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use teamline_domain::teams_user::{TeamsUser, UserType};
use teamline_microsoft::MicrosoftError;
use teamline_microsoft::directory::{DeltaLink, DeltaStart, MemberKind, UserChange};
use teamline_store::{SyncState, TeamsUserUpsert};

/// Why a round stopped.
pub(super) enum Stop {
    /// Only a full read can bring Teamline up to date (the reason is shown in the report).
    NeedsFull(String),
    Failed(EngineError),
}

impl From<EngineError> for Stop {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Microsoft(MicrosoftError::DeltaExpired { .. }) => Self::NeedsFull(
                "Microsoft no longer had the changes since the last sync (its delta token expired), so everything was read again".into(),
            ),
            other => Self::Failed(other),
        }
    }
}

impl From<MicrosoftError> for Stop {
    fn from(e: MicrosoftError) -> Self {
        EngineError::from(e).into()
    }
}

impl From<teamline_store::StoreError> for Stop {
    fn from(e: teamline_store::StoreError) -> Self {
        Self::Failed(e.into())
    }
}

/// The links for the next round.
pub(super) struct Links {
    pub users: String,
    pub groups: Option<String>,
}

/// How many membership checks run at once (each is one request; the client's per-tenant limit
/// applies on top).
const CHECKS_AT_ONCE: usize = 4;

/// Group membership first, then user changes; returns where the next round starts.
pub(super) async fn round(
    run: &mut SyncRun<'_>,
    scope: &SyncScope,
    state: &SyncState,
) -> Result<Links, Stop> {
    let users_link = state
        .users_delta_link
        .clone()
        .ok_or_else(|| Stop::NeedsFull("first sync".into()))?;
    let groups_link = if scope.groups.is_empty() {
        None
    } else {
        let link = state
            .groups_delta_link
            .clone()
            .ok_or_else(|| Stop::NeedsFull("first sync of the sync groups".into()))?;
        Some(membership(run, scope, link).await?)
    };
    let users = user_changes(run, scope, users_link).await?;
    Ok(Links {
        users,
        groups: groups_link,
    })
}

/// Applies the membership changes of the tracked groups; returns the next groups link.
async fn membership(
    run: &mut SyncRun<'_>,
    scope: &SyncScope,
    link: String,
) -> Result<String, Stop> {
    let tenant = run.tenant;
    // user → the sync groups a join credits; users who left some group (or whose changes
    // were replayed both ways) are asked about instead.
    let mut joined: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut left: BTreeSet<String> = BTreeSet::new();
    let mut next = None;
    let mut pages = tenant.groups_delta(DeltaStart::Resume(DeltaLink(link)), &scope.tracked());
    while let Some(page) = pages.try_next().await? {
        for change in page.changes {
            if change.removed.is_some() {
                return Err(Stop::NeedsFull(
                    "a sync group or a group nested in it was deleted".into(),
                ));
            }
            let credited = scope.sync_groups_containing(&change.id);
            for m in change.members_added {
                match m.kind {
                    MemberKind::User => joined
                        .entry(m.id)
                        .or_default()
                        .extend(credited.iter().cloned()),
                    MemberKind::Group => {
                        return Err(Stop::NeedsFull(
                            "a group was nested into a sync group".into(),
                        ));
                    }
                    MemberKind::Other(_) => {}
                }
            }
            for m in change.members_removed {
                match m.kind {
                    MemberKind::User => {
                        left.insert(m.id);
                    }
                    MemberKind::Group => {
                        return Err(Stop::NeedsFull(
                            "a nested group was taken out of a sync group".into(),
                        ));
                    }
                    MemberKind::Other(_) => {}
                }
            }
        }
        if let Some(l) = page.delta_link {
            next = Some(l.0);
        }
    }
    let next = next.ok_or_else(|| {
        Stop::Failed(EngineError::refused(
            "Microsoft 365 ended the group changes without a link for the next round: try the sync again",
        ))
    })?;
    if joined.is_empty() && left.is_empty() {
        return Ok(next);
    }

    // Leaving one group does not mean leaving the scope (another path may remain): ask
    // Microsoft which groups those users are in now.
    let configured: HashMap<String, String> = run
        .groups
        .iter()
        .map(|g| {
            (
                g.group_object_id.to_ascii_lowercase(),
                g.group_object_id.clone(),
            )
        })
        .collect();
    let to_configured = |keys: &mut dyn Iterator<Item = String>| -> Vec<String> {
        let mut v: Vec<String> = keys
            .filter_map(|k| configured.get(&k.to_ascii_lowercase()).cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let checks: Vec<(String, Result<Vec<String>, MicrosoftError>)> =
        futures::stream::iter(left.iter().cloned())
            .map(|id| async move {
                let groups = tenant.user_groups(&id).await.map(|gs| {
                    gs.into_iter()
                        .map(|g| g.id.to_ascii_lowercase())
                        .collect::<Vec<_>>()
                });
                (id, groups)
            })
            .buffer_unordered(CHECKS_AT_ONCE)
            .collect()
            .await;
    let mut now_in: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, groups) in checks {
        let groups = match groups {
            Ok(g) => g,
            // Deleted since: the users delta reports it.
            Err(MicrosoftError::NotFound { .. }) => Vec::new(),
            Err(err) => return Err(err.into()),
        };
        let mine: Vec<String> = groups
            .into_iter()
            .filter(|g| scope.groups.contains(g))
            .collect();
        now_in.insert(id, to_configured(&mut mine.into_iter()));
    }
    let ids: Vec<String> = joined.keys().chain(left.iter()).cloned().collect();
    let known: HashMap<String, TeamsUser> = run
        .store
        .get_teams_users(run.e, &ids)
        .await?
        .into_iter()
        .map(|u| (u.object_id.clone(), u))
        .collect();
    for (id, credited) in joined {
        if now_in.contains_key(&id) {
            continue; // asked Microsoft already
        }
        let before = known
            .get(&id)
            .filter(|u| u.in_scope)
            .map(|u| u.sync_groups.clone())
            .unwrap_or_default();
        now_in.insert(id, to_configured(&mut before.into_iter().chain(credited)));
    }

    let mut upserts = Vec::new();
    let mut out_of_scope = Vec::new();
    let mut unknown = Vec::new();
    for (id, in_groups) in &now_in {
        match (known.get(id), in_groups.is_empty()) {
            (Some(_), true) => out_of_scope.push(id.clone()),
            (None, true) => {}
            (Some(stored), false) => upserts.push(from_stored(stored, in_groups.clone(), true)),
            (None, false) => unknown.push(id.clone()),
        }
    }
    for item in tenant.users_by_id(&unknown).await {
        match item.result {
            Ok(Some(u)) => {
                let in_groups = now_in.get(&item.id).cloned().unwrap_or_default();
                upserts.push(convert::teams_user(&u, in_groups, true));
            }
            Ok(None) => {} // deleted since
            Err(err) if err.is_retryable() => return Err(err.into()),
            Err(err) => run.warn(format!("user {}: {err}", item.id)),
        }
    }
    run.report.seen += now_in.len() as u64;
    run.upsert(upserts).await?;
    run.report.flagged += run.store.mark_out_of_scope(run.e, &out_of_scope).await?;
    // An idle round (most of a fleet's, most of the time) has nothing to show.
    if !now_in.is_empty() {
        let seen = run.report.seen;
        run.progress(seen, None, &format!("{seen} membership changes applied"))
            .await;
    }
    Ok(next)
}

/// Applies the users delta; returns the next users link.
async fn user_changes(
    run: &mut SyncRun<'_>,
    scope: &SyncScope,
    link: String,
) -> Result<String, Stop> {
    let (tenant, store) = (run.tenant, run.store);
    let everyone = scope.groups.is_empty();
    let mut next = None;
    let mut pages = tenant.users_delta(DeltaStart::Resume(DeltaLink(link)));
    while let Some(page) = pages.try_next().await? {
        let ids: Vec<String> = page
            .changes
            .iter()
            .map(|c| match c {
                UserChange::Upserted(d) => d.id.clone(),
                UserChange::Removed { id, .. } => id.clone(),
            })
            .collect();
        let known: HashMap<String, TeamsUser> = store
            .get_teams_users(run.e, &ids)
            .await?
            .into_iter()
            .map(|u| (u.object_id.clone(), u))
            .collect();
        // The same user can come more than once in a round: the last change wins.
        let mut upserts: HashMap<String, TeamsUserUpsert> = HashMap::new();
        let mut deleted = Vec::new();
        let mut fetch = Vec::new();
        for change in &page.changes {
            match change {
                UserChange::Removed { id, .. } => {
                    upserts.remove(id);
                    if known.contains_key(id) {
                        deleted.push(id.clone());
                    }
                }
                UserChange::Upserted(d) => {
                    if let Some(stored) = known.get(&d.id) {
                        let mut merged = convert::merge_delta(stored, d);
                        if everyone {
                            merged.in_scope = in_everyone_scope(&merged);
                        }
                        upserts.insert(d.id.clone(), merged);
                    } else if everyone {
                        match d.to_user() {
                            Some(u) => {
                                let u = convert::teams_user(&u, Vec::new(), true);
                                if u.in_scope && in_everyone_scope(&u) {
                                    upserts.insert(d.id.clone(), u);
                                }
                            }
                            // Only some fields came: read the whole user.
                            None => fetch.push(d.id.clone()),
                        }
                    }
                    // Not a sync group member: the groups delta says when one joins.
                }
            }
        }
        for item in tenant.users_by_id(&fetch).await {
            match item.result {
                Ok(Some(u)) => {
                    let u = convert::teams_user(&u, Vec::new(), true);
                    if in_everyone_scope(&u) {
                        upserts.insert(item.id, u);
                    }
                }
                Ok(None) => {}
                Err(err) if err.is_retryable() => return Err(err.into()),
                Err(err) => run.warn(format!("user {}: {err}", item.id)),
            }
        }
        let applied = (upserts.len() + deleted.len()) as u64;
        run.report.seen += applied;
        run.upsert(upserts.into_values().collect()).await?;
        run.report.flagged += store.mark_deleted_in_tenant(run.e, &deleted).await?;
        if applied > 0 {
            let seen = run.report.seen;
            run.progress(seen, None, &format!("{seen} changes applied"))
                .await;
        }
        if let Some(l) = page.delta_link {
            next = Some(l.0);
        }
    }
    next.ok_or_else(|| {
        Stop::Failed(EngineError::refused(
            "Microsoft 365 ended the user changes without a link for the next round: try the sync again",
        ))
    })
}

/// Without sync groups the scope is every enabled member user (guests are not in it).
fn in_everyone_scope(u: &TeamsUserUpsert) -> bool {
    u.account_enabled && u.user_type != UserType::Guest
}

/// A stored user with new sync groups (membership changed, attributes did not).
fn from_stored(u: &TeamsUser, sync_groups: Vec<String>, in_scope: bool) -> TeamsUserUpsert {
    TeamsUserUpsert {
        object_id: u.object_id.clone(),
        upn: u.upn.clone(),
        display_name: u.display_name.clone(),
        account_enabled: u.account_enabled,
        user_type: u.user_type,
        licences: u.licences,
        sync_groups,
        in_scope,
    }
}
