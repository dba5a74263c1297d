//! Calls through the SIP gateway: one record per call leg, made from the gateway's call
//! events, scoped to an enterprise, kept for a retention period.

use crate::StoreResult;
use async_trait::async_trait;
use teamline_domain::ids::{EnterpriseId, PbxUserId};

/// One call leg as Teamline keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCall {
    /// The SIP Call-ID of the leg through the gateway.
    pub call_id: String,
    pub enterprise_id: EnterpriseId,
    /// The PBX user whose device handle carried the call (when still known).
    pub pbx_user_id: Option<PbxUserId>,
    /// `to_teams` (the PBX called the user) or `to_pbx` (the user called out).
    pub direction: String,
    /// The device handle (`1000tm`).
    pub device: String,
    pub from_number: String,
    pub to_number: String,
    pub tenant_fqdn: String,
    /// Which of Microsoft's proxies carried it, when the gateway said.
    pub microsoft_proxy: Option<String>,
    pub started_ms: i64,
    pub ringing_ms: Option<i64>,
    pub answered_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    /// `in_progress`, `answered`, `busy`, `no_answer`, `cancelled`, `rejected`, `failed`.
    pub result: String,
    /// 200 for an answered call, else the final SIP code.
    pub sip_code: Option<u16>,
    pub codec: Option<String>,
    /// Whether the Microsoft side's media was SRTP.
    pub srtp: Option<bool>,
    pub observed_ms: i64,
}

/// Where a page of calls continues: after the call that started at `started_ms` with this
/// Call-ID, in the list's order (newest first, then by Call-ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCursor {
    pub started_ms: i64,
    pub call_id: String,
}

/// Which calls to list; every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    pub direction: Option<String>,
    pub result: Option<String>,
    /// Part of a number, a device handle, or the name or UPN of the call's Teams user.
    pub search: Option<String>,
    /// Calls that started at or after this.
    pub since_ms: Option<i64>,
    /// Calls that started before this.
    pub until_ms: Option<i64>,
    /// Only the calls after this one (keyset paging).
    pub after: Option<CallCursor>,
    pub limit: u32,
}

/// One SIP message of a call as the gateway relayed it (captured by Kamailio's `siptrace`),
/// with its secrets already redacted. Read only through the call's record, so only the call's
/// enterprise sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSipMessage {
    /// The SIP Call-ID (the call record's).
    pub call_id: String,
    /// When the gateway received or sent it, Unix microseconds.
    pub captured_us: i64,
    /// The gateway's peer for this message: `microsoft` or `pbx`.
    pub peer: String,
    /// Whether the gateway sent it (else it received it).
    pub from_gateway: bool,
    /// `ip:port` of the sender and the receiver.
    pub src: String,
    pub dst: String,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// The method of a request (`INVITE`) or the status of a reply (`180 Ringing`).
    pub label: String,
    /// The CSeq header's value (`1 INVITE`).
    pub cseq: String,
    /// The whole message, secrets redacted.
    pub message: String,
}

#[async_trait]
pub trait CallStore: Send + Sync + 'static {
    /// Stores a call leg; a later record of the same Call-ID replaces the earlier one.
    async fn record_call(&self, call: &StoredCall) -> StoreResult<()>;
    /// An enterprise's calls, newest first.
    async fn list_calls(
        &self,
        enterprise: EnterpriseId,
        filter: &CallFilter,
    ) -> StoreResult<Vec<StoredCall>>;
    /// One of the enterprise's calls (`None` for another enterprise's).
    async fn get_call(
        &self,
        enterprise: EnterpriseId,
        call_id: &str,
    ) -> StoreResult<Option<StoredCall>>;
    /// Deletes calls that started before `before_ms` (the retention period); returns how many.
    async fn delete_calls_before(&self, before_ms: i64) -> StoreResult<u64>;
    /// Adds captured SIP messages (of any calls).
    async fn record_sip_messages(&self, messages: &[StoredSipMessage]) -> StoreResult<()>;
    /// The SIP messages of one of the enterprise's calls in the order they were captured
    /// (none for another enterprise's call, or a Call-ID with no call record).
    async fn sip_messages(
        &self,
        enterprise: EnterpriseId,
        call_id: &str,
    ) -> StoreResult<Vec<StoredSipMessage>>;
    /// Deletes SIP messages captured before `before_us` (their retention period); returns how
    /// many.
    async fn delete_sip_messages_before(&self, before_us: i64) -> StoreResult<u64>;
}
