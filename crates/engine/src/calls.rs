//! Call records from the SIP gateway's call events: connects to Kamailio's event stream
//! (`evapi`), folds each call leg's events into one record, finds the enterprise and PBX user
//! whose device handle carried it (the registration id the gateway reports is the one the
//! store keeps per user), and stores the record at every step, so a call in progress shows
//! too. Records older than the retention period are deleted hourly.
//!
//! Kamailio keeps no event while nobody listens, so the recorder reconnects at once (then
//! with back-off up to 5 s); a call whose events fell into such a gap is missing or stays
//! "in progress" until the retention period removes it.

use crate::{Engine, EngineError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_gateway::calls::events::EventsError;
use teamline_gateway::calls::{
    CallEvent, CallRecord, CallRecords, Direction, EventStream, Outcome,
};
use teamline_gateway::media::{CallMedia, MediaClient};
use teamline_store::StoredCall;
use tokio::sync::watch;

/// How long call records are kept unless configured otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// Stores the gateway's call events as call records.
pub struct CallRecorder {
    engine: Engine,
    events: SocketAddr,
    retention: Duration,
    records: CallRecords,
    /// The gateway's rtpengine: codec and SRTP of answered calls.
    media: Option<MediaClient>,
    /// Registration id → its enterprise and PBX user, from the store.
    owners: HashMap<String, (EnterpriseId, PbxUserId)>,
    last_purge: Option<Instant>,
}

impl std::fmt::Debug for CallRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRecorder")
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::InProgress => "in_progress",
        Outcome::Answered => "answered",
        Outcome::Busy => "busy",
        Outcome::NoAnswer => "no_answer",
        Outcome::Cancelled => "cancelled",
        Outcome::Rejected => "rejected",
        Outcome::Failed => "failed",
        Outcome::MediaUnavailable => "media_unavailable",
    }
}

impl CallRecorder {
    /// Records the calls of the gateway whose events listener is `events`, keeping them for
    /// `retention_days`.
    pub fn new(engine: Engine, events: SocketAddr, retention_days: u32) -> Self {
        CallRecorder {
            engine,
            events,
            retention: Duration::from_secs(u64::from(retention_days.max(1)) * 86_400),
            records: CallRecords::default(),
            media: None,
            owners: HashMap::new(),
            last_purge: None,
        }
    }

    /// Reads each answered call's codec and SRTP from the gateway's rtpengine (its ng control
    /// socket).
    pub fn with_media(mut self, media: MediaClient) -> Self {
        self.media = Some(media);
        self
    }

    /// What rtpengine says of an answered call; nothing when it does not know the call (it
    /// forgets calls some time after they end) or does not answer.
    async fn media_of(&self, rec: &CallRecord) -> Option<CallMedia> {
        rec.answered_at?;
        match self.media.as_ref()?.query(&rec.call_id).await {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::debug!(call_id = %rec.call_id, error = %e, "no media statistics for a call");
                None
            }
        }
    }

    async fn owner(
        &mut self,
        registration: &str,
    ) -> Result<Option<(EnterpriseId, PbxUserId)>, EngineError> {
        if let Some(o) = self.owners.get(registration) {
            return Ok(Some(*o));
        }
        let all = self.engine.store().list_registrations(None, None).await?;
        self.owners = all
            .into_iter()
            .map(|r| (r.registration, (r.enterprise_id, r.pbx_user_id)))
            .collect();
        Ok(self.owners.get(registration).copied())
    }

    /// Applies one event and stores the call's record as it now stands. Returns the stored
    /// record, or `None` for a call no stored registration carries (it belongs to no
    /// enterprise Teamline knows, so it is not kept).
    pub async fn apply(&mut self, ev: &CallEvent) -> Result<Option<StoredCall>, EngineError> {
        let finished = self.records.apply(ev);
        let record: Option<CallRecord> = finished.or_else(|| {
            self.records
                .in_progress()
                .find(|r| r.call_id == ev.call_id)
                .cloned()
        });
        let Some(rec) = record else {
            return Ok(None);
        };
        let Some((enterprise, user)) = self.owner(&rec.registration).await? else {
            tracing::warn!(call_id = %rec.call_id, registration = %rec.registration, "a call through the gateway names a registration Teamline does not hold: not recorded");
            return Ok(None);
        };
        let media = self.media_of(&rec).await;
        let store = self.engine.store();
        let call = StoredCall {
            call_id: rec.call_id.clone(),
            enterprise_id: enterprise,
            pbx_user_id: Some(user),
            direction: match rec.direction {
                Some(Direction::ToPbx) => "to_pbx",
                _ => "to_teams",
            }
            .to_owned(),
            device: rec.device.clone(),
            from_number: rec.from.clone(),
            to_number: rec.to.clone(),
            tenant_fqdn: rec.tenant_fqdn.clone(),
            microsoft_proxy: rec.microsoft_proxy.clone(),
            started_ms: ms(rec.started_at),
            ringing_ms: rec.ringing_at.map(ms),
            answered_ms: rec.answered_at.map(ms),
            ended_ms: rec.ended_at.map(ms),
            result: outcome_str(rec.outcome).to_owned(),
            sip_code: rec.final_code,
            codec: media.as_ref().and_then(|m| m.codec().map(str::to_owned)),
            srtp: media.as_ref().map(CallMedia::srtp),
            observed_ms: store.clock().now_ms(),
        };
        store.record_call(&call).await?;
        Ok(Some(call))
    }

    /// Deletes records older than the retention period, at most once an hour.
    pub async fn purge_due(&mut self) -> Result<u64, EngineError> {
        if self
            .last_purge
            .is_some_and(|at| at.elapsed() < Duration::from_secs(3600))
        {
            return Ok(0);
        }
        self.last_purge = Some(Instant::now());
        let store = self.engine.store();
        let cut = store
            .clock()
            .now_ms()
            .saturating_sub(i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX));
        Ok(store.delete_calls_before(cut).await?)
    }

    /// Reads events until `shutdown` turns true, reconnecting when the stream drops.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            if let Err(e) = self.purge_due().await {
                tracing::warn!(error = %e, "could not delete old call records");
            }
            let stream = tokio::select! {
                s = EventStream::connect(self.events) => s,
                _ = shutdown.changed() => return,
            };
            match stream {
                Ok(mut stream) => {
                    backoff = Duration::from_millis(100);
                    loop {
                        let next = tokio::select! {
                            ev = stream.next() => ev,
                            _ = shutdown.changed() => return,
                        };
                        match next {
                            Ok(ev) => {
                                if let Err(e) = self.apply(&ev).await {
                                    tracing::warn!(error = %e, call_id = %ev.call_id, "could not store a call record");
                                }
                            }
                            Err(EventsError::Framing) => {
                                tracing::warn!(
                                    "the gateway's call events are garbled: reconnecting"
                                );
                                break;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "lost the gateway's call events: reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no call records until the gateway's events answer")
                }
            }
            if *shutdown.borrow() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}
