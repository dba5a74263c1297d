use crate::{
    Page, StoreResult, SyncGroup, SyncRunRecord, SyncState, TeamsUserQuery, TeamsUserUpsert,
    UpsertCounts,
};
use async_trait::async_trait;
use teamline_domain::audit::Audit;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_domain::teams_user::TeamsUser;

/// The tenant's Teams users as the directory sync last saw them. Users who leave the scope,
/// are disabled or deleted are flagged, never removed.
#[async_trait]
pub trait DirectoryStore: Send + Sync + 'static {
    /// Inserts or updates synced users; `last_seen` becomes now. One transaction.
    async fn upsert_teams_users(
        &self,
        enterprise: EnterpriseId,
        users: &[TeamsUserUpsert],
    ) -> StoreResult<UpsertCounts>;
    /// After a full sync: users not seen since `since_ms` left the scope (kept, flagged).
    async fn mark_unseen_out_of_scope(
        &self,
        enterprise: EnterpriseId,
        since_ms: i64,
    ) -> StoreResult<u64>;
    /// Delta: these users left every sync group.
    async fn mark_out_of_scope(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<u64>;
    /// Delta: Microsoft reports these users deleted.
    async fn mark_deleted_in_tenant(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<u64>;
    async fn get_teams_user(
        &self,
        enterprise: EnterpriseId,
        object_id: &str,
    ) -> StoreResult<Option<TeamsUser>>;
    /// The known users among `object_ids` (unknown ids are left out), for applying delta
    /// changes that carry only the changed fields.
    async fn get_teams_users(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<Vec<TeamsUser>>;
    /// Exact UPN (case-insensitive).
    async fn teams_user_by_upn(
        &self,
        enterprise: EnterpriseId,
        upn: &str,
    ) -> StoreResult<Option<TeamsUser>>;
    async fn list_teams_users(
        &self,
        enterprise: EnterpriseId,
        query: &TeamsUserQuery,
    ) -> StoreResult<Page<TeamsUser>>;
}

/// What the directory sync reads (the sync groups) and where it stands (the delta links, the
/// last result and the history of runs).
#[async_trait]
pub trait DirectorySyncStore: Send + Sync + 'static {
    /// Replaces the enterprise's sync groups.
    async fn set_sync_groups(
        &self,
        enterprise: EnterpriseId,
        groups: &[SyncGroupChoice],
        audit: &Audit,
    ) -> StoreResult<Vec<SyncGroup>>;
    async fn list_sync_groups(&self, enterprise: EnterpriseId) -> StoreResult<Vec<SyncGroup>>;
    async fn sync_state(&self, enterprise: EnterpriseId) -> StoreResult<SyncState>;
    /// When each enterprise that was ever synced was last synced (Unix ms), for the whole
    /// fleet in one read.
    async fn last_sync_times(&self) -> StoreResult<Vec<(EnterpriseId, i64)>>;
    async fn put_sync_state(&self, enterprise: EnterpriseId, state: &SyncState) -> StoreResult<()>;
    /// Ends a sync run: stores the state it left (as [`Self::put_sync_state`]) and adds the run
    /// to the enterprise's sync history, keeping only the newest `keep` runs, in one
    /// transaction.
    async fn record_sync_run(
        &self,
        enterprise: EnterpriseId,
        state: &SyncState,
        run: &SyncRunRecord,
        keep: u32,
    ) -> StoreResult<()>;
    /// The sync history, newest first.
    async fn list_sync_runs(
        &self,
        enterprise: EnterpriseId,
        limit: u32,
    ) -> StoreResult<Vec<SyncRunRecord>>;
    /// A full sync of several groups: keeps one page of a group's members aside (a user
    /// already staged keeps the first attributes seen and gains the group; `sync_groups` and
    /// `in_scope` of `users` are ignored). Nothing in `teams_users` changes.
    async fn stage_sync_members(
        &self,
        enterprise: EnterpriseId,
        group_object_id: &str,
        users: &[TeamsUserUpsert],
    ) -> StoreResult<()>;
    /// The staged users after `after` (by object id), at most `limit`, each once with every
    /// group it was staged in (sorted) and in scope.
    async fn staged_sync_members(
        &self,
        enterprise: EnterpriseId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<TeamsUserUpsert>>;
    /// Empties the enterprise's staged members; returns how many users were staged.
    async fn clear_staged_sync_members(&self, enterprise: EnterpriseId) -> StoreResult<u64>;
}
