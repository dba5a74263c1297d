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

/// Several sync groups: a user in two of them must be stored once with both. Each group's
/// pages are staged in the database as they arrive (the next page is fetched while the last is
/// staged), then the staged users, deduplicated there with all their groups, are merged into
/// the directory a batch at a time: memory stays at a page or a batch however many members.
async fn gather(run: &mut SyncRun<'_>) -> Result<(), EngineError> {
    let (store, e) = (run.store, run.e);
    // Left over from a sync that stopped half-way (one sync per enterprise runs at a time).
    store.clear_staged_sync_members(e).await?;
    let staged = stage_groups(run).await;
    let merged = match staged {
        Ok(()) => merge_staged(run).await,
        Err(err) => Err(err),
    };
    let cleared = store.clear_staged_sync_members(e).await;
    merged?;
    cleared?;
    Ok(())
}

async fn stage_groups(run: &mut SyncRun<'_>) -> Result<(), EngineError> {
    let (store, e) = (run.store, run.e);
    let mut read = 0u64;
    for g in run.groups {
        let mut pages = run.tenant.group_members(&g.group_object_id);
        let mut next = pages.try_next().await?;
        while let Some(page) = next {
            let users: Vec<TeamsUserUpsert> = page
                .iter()
                .map(|u| convert::teams_user(u, Vec::new(), true))
                .collect();
            read += users.len() as u64;
            let (stored, fetched) = futures::join!(
                store.stage_sync_members(e, &g.group_object_id, &users),
                pages.try_next()
            );
            stored?;
            next = fetched?;
            run.progress(
                read,
                None,
                &format!("{read} memberships read (now from {})", g.display_name),
            )
            .await;
        }
    }
    Ok(())
}

async fn merge_staged(run: &mut SyncRun<'_>) -> Result<(), EngineError> {
    let mut after: Option<String> = None;
    loop {
        let batch = run
            .store
            .staged_sync_members(run.e, after.as_deref(), super::BATCH as u32)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = Some(last.object_id.clone());
        run.report.seen += batch.len() as u64;
        run.upsert(batch).await?;
        let seen = run.report.seen;
        run.progress(seen, None, &format!("{seen} members stored"))
            .await;
    }
}
