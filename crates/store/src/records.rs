//! What the store takes and returns besides domain objects: inputs for new rows, queries, and
//! read models joined for pages.

use teamline_domain::audit::Actor;
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::enterprise::{ConsentKind, TenantId};
use teamline_domain::ids::*;
use teamline_domain::pbx_user::{PbxUser, PbxUserState, PushState};
use teamline_domain::reseller::AccountRole;
use teamline_domain::sip::Extension;
use teamline_domain::teams_user::{Licences, UserType};
use teamline_domain::teams_voice::ObservedVoice;
use teamline_domain::text::Email;

/// A local account (platform operator or reseller admin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: Email,
    pub role: AccountRole,
    pub reseller_id: Option<ResellerId>,
    /// An argon2 PHC string; never the password.
    pub password_hash: String,
    /// Failed sign-ins since the last successful one or the last lock.
    pub failed_sign_ins: u32,
    /// Sign-ins are refused until then (Unix ms).
    pub locked_until_ms: Option<i64>,
    /// Whether TOTP two-factor is on (the secret itself is read separately).
    pub two_factor: bool,
}

/// How many wrong passwords lock an account, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lock_ms: i64,
}

impl Default for LockoutPolicy {
    /// 5 wrong passwords lock the account for 15 minutes.
    fn default() -> Self {
        Self {
            max_failures: 5,
            lock_ms: 15 * 60 * 1000,
        }
    }
}

/// An invitation sent to an enterprise's Global Administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    pub enterprise_id: EnterpriseId,
    /// The token's nonce (hex); the token itself is never stored.
    pub nonce: String,
    pub sent_ms: i64,
    pub expires_ms: i64,
    /// The e-mail's Message-ID.
    pub message_id: Option<String>,
    pub used_ms: Option<i64>,
    /// A later invitation replaced this one.
    pub superseded_ms: Option<i64>,
}

/// What recording an invitation's nonce as used found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationUse {
    /// The enterprise's current invitation; recorded as used now.
    Fresh,
    AlreadyUsed,
    /// A newer invitation was sent.
    Superseded,
    /// No invitation of this enterprise has this nonce.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: Email,
    pub role: AccountRole,
    pub reseller_id: Option<ResellerId>,
    pub password_hash: String,
}

/// Changes to an enterprise after its creation (registration, consents).
#[derive(Debug, Clone, Default)]
pub struct EnterpriseRegistration {
    pub tenant_id: Option<TenantId>,
    pub tenant_domain: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ConsentChange {
    pub kind: ConsentKind,
    pub granted: bool,
    pub by: Option<String>,
}

/// A sync group chosen by the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    pub id: SyncGroupId,
    pub enterprise_id: EnterpriseId,
    pub group_object_id: String,
    pub display_name: String,
}

/// A user as the directory sync reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamsUserUpsert {
    pub object_id: String,
    pub upn: String,
    pub display_name: String,
    pub account_enabled: bool,
    pub user_type: UserType,
    pub licences: Licences,
    pub sync_groups: Vec<String>,
    pub in_scope: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TeamsUserQuery {
    /// Case-insensitive substring of display name or UPN.
    pub search: Option<String>,
    /// Only users eligible for SET UP PBX USER and not yet paired.
    pub eligible_unpaired_only: bool,
    pub limit: u32,
    pub offset: u32,
}

/// Counts of a directory sync's outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    pub added: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Users who were fine (in scope, enabled, Teams Phone enabled, not deleted) before this
    /// upsert and are not any more: they lost a licence, were disabled or left the scope.
    pub flagged: u64,
}

/// The directory-sync bookmark of an enterprise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub users_delta_link: Option<String>,
    pub groups_delta_link: Option<String>,
    pub last_full_sync_ms: Option<i64>,
    pub last_sync_ms: Option<i64>,
    /// JSON summary of the last run (counts, duration, errors), shown on the Dashboard.
    pub last_result: Option<String>,
    /// JSON of what the delta links track (the sync groups and their nested groups at the
    /// last full sync); a different scope needs a full sync. Opaque to the store.
    pub scope: Option<String>,
}

/// One directory sync as kept in the history. `report` is the engine's JSON summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRunRecord {
    pub started_ms: i64,
    pub finished_ms: i64,
    pub report: String,
}

/// A new pairing.
#[derive(Debug, Clone)]
pub struct NewPbxUser {
    pub enterprise_id: EnterpriseId,
    pub spec: teamline_domain::pbx_user::PbxUserSpec,
    pub calling_enabled: bool,
}

/// Which tab of the Users page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserTab {
    /// Active users ("Licensed" in the product we replace).
    #[default]
    Licensed,
    Disabled,
    Deleted,
}

/// A filter of the Users page by where a user's calling stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserFilter {
    /// The last push failed.
    Failed,
    /// Work is queued or running (pending, in progress, propagating).
    Pending,
    /// Calling is switched off.
    CallingOff,
    /// Microsoft holds something else than Teamline (changed outside Teamline).
    Drift,
}

/// The column the Users page is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserSort {
    #[default]
    Name,
    Extension,
    Number,
    VoiceRoute,
    /// Where calling stands (push state, then calling on or off).
    Calling,
}

#[derive(Debug, Clone, Default)]
pub struct PbxUserQuery {
    pub tab: UserTab,
    /// Case-insensitive substring of name, UPN, extension, number or tag.
    pub search: Option<String>,
    /// Only the users in this state of their calling (e.g. Fix Users: the failed ones).
    pub filter: Option<UserFilter>,
    /// Only the users on this voice route.
    pub voice_route: Option<VoiceRouteId>,
    /// The order of the rows (ties are broken by id, so paging is stable).
    pub sort: UserSort,
    pub descending: bool,
    pub limit: u32,
    /// Rows skipped before the page (after the cursor when there is one).
    pub offset: u32,
    /// Keyset paging: the page starts next to a row of the previous page, so a deep page
    /// costs what the first does and rows added meanwhile neither repeat nor go missing.
    pub cursor: Option<UserCursor>,
}

/// Where a keyset page of the Users page starts, in the query's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCursor {
    /// The rows after this one (the next page: pass the last row shown).
    After(PbxUserId),
    /// The rows before this one (the previous page: pass the first row shown).
    Before(PbxUserId),
}

/// A row of the Users page: the pairing joined with its Teams user, route and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxUserListItem {
    pub user: PbxUser,
    pub display_name: String,
    pub upn: String,
    pub voice_route_name: String,
    pub sip_domain: String,
    pub observed: Option<ObservedVoice>,
    /// The Teams user left the sync scope, lost a licence or was disabled (flagged, kept).
    pub teams_user_flag: Option<String>,
}

/// One page of results with the total, for paging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// A PBX user's Microsoft-side state after a push or a read-back.
#[derive(Debug, Clone)]
pub struct PushOutcome {
    pub push_state: PushState,
    pub last_error: Option<String>,
    pub observed: Option<ObservedVoice>,
}

/// Counts for the Dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub active: u64,
    pub disabled: u64,
    pub deleted: u64,
    /// Active users whose calling Microsoft holds (in sync); a failed or pending user is not
    /// counted until it is.
    pub calling_enabled: u64,
    /// Users (in any state) with work queued or running: pending, in progress, propagating.
    pub pending: u64,
    pub failed: u64,
    pub drift: u64,
    /// Active users whose Teams user is flagged (left the sync groups, lost Teams Phone, was
    /// disabled or deleted in Microsoft 365). Their configuration is kept.
    pub flagged: u64,
}

/// A device handle as stored (the password is read separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeviceHandle {
    pub id: DeviceHandleId,
    pub enterprise_id: EnterpriseId,
    pub pbx_location_id: PbxLocationId,
    pub extension: Extension,
    pub auth_id: DeviceAuthId,
    pub created_by_teamline: bool,
}

#[derive(Debug, Clone)]
pub struct NewDeviceHandle {
    pub enterprise_id: EnterpriseId,
    pub pbx_location_id: PbxLocationId,
    pub extension: Extension,
    pub auth_id: DeviceAuthId,
    pub password: SipPassword,
    pub created_by_teamline: bool,
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub enterprise_id: Option<EnterpriseId>,
    pub kind: String,
    pub payload: String,
    /// Jobs of one lane never run at once. Defaults to the tenant (`enterprise:<id>`).
    pub lane: Option<String>,
    /// While a job with this key is waiting (queued), enqueueing another returns it instead.
    /// A running one does not count: it may have read its input before this change.
    pub idempotency_key: Option<String>,
    pub priority: i32,
    pub max_attempts: u32,
    /// Not before this time; `None` = now.
    pub run_after_ms: Option<i64>,
}

impl NewJob {
    pub fn new(
        enterprise_id: Option<EnterpriseId>,
        kind: impl Into<String>,
        payload: impl Into<String>,
    ) -> Self {
        Self {
            enterprise_id,
            kind: kind.into(),
            payload: payload.into(),
            lane: None,
            idempotency_key: None,
            priority: 0,
            max_attempts: 8,
            run_after_ms: None,
        }
    }

    pub fn lane(mut self, lane: impl Into<String>) -> Self {
        self.lane = Some(lane.into());
        self
    }

    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    pub fn run_after_ms(mut self, at: i64) -> Self {
        self.run_after_ms = Some(at);
        self
    }

    /// The lane actually used.
    pub fn effective_lane(&self) -> String {
        match (&self.lane, self.enterprise_id) {
            (Some(lane), _) => lane.clone(),
            (None, Some(e)) => format!("enterprise:{e}"),
            (None, None) => "platform".to_owned(),
        }
    }
}

/// The outcome of enqueueing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(JobId),
    /// A job with the same idempotency key was already waiting.
    Existing(JobId),
}

impl Enqueued {
    pub fn id(self) -> JobId {
        match self {
            Self::New(id) | Self::Existing(id) => id,
        }
    }
}

/// What happens to a job after an attempt failed.
#[derive(Debug, Clone)]
pub enum JobFailure {
    /// Try again at this time (if attempts remain; otherwise it fails for good).
    RetryAt { run_after_ms: i64, error: String },
    /// Do not retry: the error needs an admin.
    Permanent { error: String },
    /// Not a failure: the service asked Teamline to wait (throttling). Runs again at this time
    /// and the attempt does not count against `max_attempts`.
    Deferred { run_after_ms: i64, reason: String },
}

#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub enterprise_id: Option<EnterpriseId>,
    pub kind: Option<String>,
    /// Only queued or running.
    pub unfinished_only: bool,
    pub limit: u32,
    /// Only jobs older than this one (the list is newest first: the next page starts after
    /// the last job of the previous one, however many jobs were queued meanwhile).
    pub before: Option<JobId>,
}

/// An audit event to record in the same transaction as a change.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub enterprise_id: Option<EnterpriseId>,
    pub actor: Actor,
    pub action: String,
    pub summary: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A web session (opaque data kept server-side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub data: String,
    pub expiry_ms: i64,
}

pub fn pbx_user_states_for(tab: UserTab) -> PbxUserState {
    match tab {
        UserTab::Licensed => PbxUserState::Active,
        UserTab::Disabled => PbxUserState::Disabled,
        UserTab::Deleted => PbxUserState::Deleted,
    }
}

/// What the Audit log shows: the enterprise's events matching every given filter, newest
/// first, one page at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Words in the summary or the actor's name (case-insensitive).
    pub text: Option<String>,
    pub actor: Option<Actor>,
    /// e.g. `pbx_user.update`.
    pub action: Option<String>,
    /// Events about these objects of one type (e.g. `pbx_user` and the ids of the users a
    /// name matched); an empty list matches nothing.
    pub objects: Option<(String, Vec<String>)>,
    /// At or after this instant.
    pub from_ms: Option<i64>,
    /// Before this instant.
    pub until_ms: Option<i64>,
    /// Where the page starts; `None` is the newest event.
    pub cursor: Option<AuditCursor>,
    pub limit: u32,
}

/// A position in the Audit log (events are ordered by time, then id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditCursor {
    /// The events older than this one.
    Older { at_ms: i64, id: AuditEventId },
    /// The events newer than this one (the page just before it).
    Newer { at_ms: i64, id: AuditEventId },
}

/// The actors and actions that appear in an enterprise's log, for the log's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFacets {
    pub actors: Vec<Actor>,
    pub actions: Vec<String>,
}
