//! A full read of the directory: every transitive member of the sync groups (or every enabled
//! member user), streamed page by page into the store. Users not seen are flagged, not deleted.

use super::SyncRun;
use super::scope::{self, SyncScope};
use crate::{EngineError, convert};
use futures::TryStreamExt;
use std::collections::HashMap;
use teamline_microsoft::directory::{
    DeltaPage, DeltaStart, DeltaStream, DirectoryUser, PageStream, UserFilter,
};
use teamline_store::TeamsUserUpsert;

/// What a full read leaves for the next delta round.
pub(super) struct Bookmark {
    pub users_delta_link: String,
    pub groups_delta_link: Option<String>,
    pub scope: SyncScope,
}

pub(super) async fn run(run: &mut SyncRun<'_>) -> Result<Bookmark, EngineError> {
    let (tenant, groups) = (run.tenant, run.groups);
    let started = run.store.clock().now_ms();
    run.report.full = true;
    let scope = scope::discover(tenant, groups).await?;
    // Delta links are taken before reading, so changes made while the read runs come back in
    // the next round (applying one twice changes nothing) instead of being lost.
    let users_delta_link = latest_link(tenant.users_delta(DeltaStart::Latest)).await?;
    let groups_delta_link = if groups.is_empty() {
        None
    } else {
        Some(latest_link(tenant.groups_delta(DeltaStart::Latest, &scope.tracked())).await?)
    };

    match groups {
        [] => {
            let pages = tenant.users(UserFilter::EnabledMembers);
            stream(run, pages, &[], "users read from Microsoft 365").await?;
        }
        [only] => {
            let pages = tenant.group_members(&only.group_object_id);
            let what = format!("members read from {}", only.display_name);
            let ids = [only.group_object_id.clone()];
            stream(run, pages, &ids, &what).await?;
        }
        _ => gather(run).await?,
    }
    run.report.flagged += run.store.mark_unseen_out_of_scope(run.e, started).await?;
    Ok(Bookmark {
        users_delta_link,
        groups_delta_link,
        scope,
    })
}

/// The link of a "from now on" delta round (one page, no changes).
async fn latest_link<T: Send + 'static>(mut pages: DeltaStream<T>) -> Result<String, EngineError> {
    while let Some(DeltaPage { delta_link, .. }) = pages.try_next().await? {
        if let Some(link) = delta_link {
            return Ok(link.0);
        }
    }
    Err(EngineError::refused(
        "Microsoft 365 did not return a delta link to track later changes: try the sync again",
    ))
}

/// One group (or everyone): each page goes to the store as it arrives, so memory stays at two
/// pages however large the tenant. The next page is requested while the last one is stored:
/// over a real network the sync then takes about as long as its round trips, not round trips
/// plus writes.
async fn stream(
    run: &mut SyncRun<'_>,
    mut pages: PageStream<DirectoryUser>,
    group_ids: &[String],
    what: &str,
) -> Result<(), EngineError> {
    let mut next = pages.try_next().await?;
    while let Some(page) = next {
        let mut upserts: HashMap<String, TeamsUserUpsert> = HashMap::with_capacity(page.len());
        for u in &page {
            upserts.insert(
                u.id.clone(),
                convert::teams_user(u, group_ids.to_vec(), true),
            );
        }
        run.report.seen += page.len() as u64;
        let (stored, fetched) = futures::join!(
            run.upsert(upserts.into_values().collect()),
            pages.try_next()
        );
        stored?;
        next = fetched?;
        let seen = run.report.seen;
        run.progress(seen, None, &format!("{seen} {what}")).await;
    }
    Ok(())
}

/// Several sync groups: a user in two of them must be stored with both, so memberships are
/// gathered before writing (parsed users only, not Graph JSON).
async fn gather(run: &mut SyncRun<'_>) -> Result<(), EngineError> {
    let mut members: HashMap<String, (DirectoryUser, Vec<String>)> = HashMap::new();
    for g in run.groups {
        let mut pages = run.tenant.group_members(&g.group_object_id);
        while let Some(page) = pages.try_next().await? {
            for u in page {
                members
                    .entry(u.id.clone())
                    .or_insert_with(|| (u, Vec::new()))
                    .1
                    .push(g.group_object_id.clone());
            }
            run.progress(
                members.len() as u64,
                None,
                &format!("{} members read from {}", members.len(), g.display_name),
            )
            .await;
        }
    }
    run.report.seen = members.len() as u64;
    let mut batch = Vec::with_capacity(super::BATCH);
    for (u, in_groups) in members.into_values() {
        batch.push(convert::teams_user(&u, in_groups, true));
        if batch.len() == super::BATCH {
            run.upsert(std::mem::take(&mut batch)).await?;
        }
    }
    run.upsert(batch).await
}
