//! The SIP messages of calls through the gateway, for each call's ladder diagram: listens
//! where Kamailio's `siptrace` sends its HEP3 copies, keeps the messages of calls (redacted by
//! [`teamline_gateway::trace::capture`]) and stores them in small batches; messages older than
//! the retention period are deleted hourly.
//!
//! A message is stored under its Call-ID whether or not the call's record exists yet (the
//! call events and the trace travel separately); pages read messages only through the call's
//! record, so a Call-ID no enterprise holds is never shown and goes with the retention.

use crate::{Engine, EngineError};
use std::net::SocketAddr;
use std::time::{Duration, Instant, UNIX_EPOCH};
use teamline_gateway::trace::{CapturedMessage, Sides, TraceError, TraceListener, capture};
use teamline_store::StoredSipMessage;
use tokio::sync::watch;

/// How long SIP messages are kept unless configured otherwise.
pub const DEFAULT_SIP_TRACE_DAYS: u32 = 7;

/// At most this many messages, or this long, before a batch is written.
const BATCH: usize = 100;
const BATCH_WAIT: Duration = Duration::from_millis(200);

/// Stores the gateway's captured SIP messages.
pub struct SipTraceRecorder {
    engine: Engine,
    listen: SocketAddr,
    sides: Sides,
    retention: Duration,
    last_purge: Option<Instant>,
}

impl std::fmt::Debug for SipTraceRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipTraceRecorder")
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

fn stored(m: &CapturedMessage) -> StoredSipMessage {
    let us =
        m.at.duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    StoredSipMessage {
        call_id: m.summary.call_id.clone(),
        captured_us: us,
        peer: m.peer.as_str().to_owned(),
        from_gateway: m.from_gateway,
        src: m.src.to_string(),
        dst: m.dst.to_string(),
        transport: m.transport.to_owned(),
        label: m.summary.label.clone(),
        cseq: m.summary.cseq.clone(),
        message: m.message.clone(),
    }
}

impl SipTraceRecorder {
    /// Listens on `listen` (the gateway's `sip_trace` address) for the messages of a gateway
    /// whose sockets are `sides`, keeping them `retention_days`.
    pub fn new(engine: Engine, listen: SocketAddr, sides: Sides, retention_days: u32) -> Self {
        SipTraceRecorder {
            engine,
            listen,
            sides,
            retention: Duration::from_secs(u64::from(retention_days.max(1)) * 86_400),
            last_purge: None,
        }
    }

    /// Deletes the messages captured before the retention period; returns how many.
    pub async fn purge(&self) -> Result<u64, EngineError> {
        let store = self.engine.store();
        let now_us = store.clock().now_ms().saturating_mul(1000);
        let keep_us = i64::try_from(self.retention.as_micros()).unwrap_or(i64::MAX);
        Ok(store
            .delete_sip_messages_before(now_us.saturating_sub(keep_us))
            .await?)
    }

    async fn purge_due(&mut self) {
        if self
            .last_purge
            .is_some_and(|at| at.elapsed() < Duration::from_secs(3600))
        {
            return;
        }
        self.last_purge = Some(Instant::now());
        match self.purge().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "deleted SIP messages past their retention"),
            Err(e) => tracing::warn!(error = %e, "could not delete old SIP messages"),
        }
    }

    async fn flush(&self, batch: &mut Vec<StoredSipMessage>) {
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.engine.store().record_sip_messages(batch).await {
            tracing::warn!(error = %e, lost = batch.len(), "could not store SIP messages of calls");
        }
        batch.clear();
    }

    /// Binds the listener (port 0: any free port), so that nothing the gateway sends after
    /// this is lost.
    pub async fn listen(self) -> Result<ListeningTraceRecorder, TraceError> {
        let listener = TraceListener::bind(self.listen).await?;
        Ok(ListeningTraceRecorder {
            recorder: self,
            listener,
        })
    }
}

/// A [`SipTraceRecorder`] whose listener is bound.
#[derive(Debug)]
pub struct ListeningTraceRecorder {
    recorder: SipTraceRecorder,
    listener: TraceListener,
}

impl ListeningTraceRecorder {
    /// Where it listens.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr()
    }

    /// Receives and stores messages until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let ListeningTraceRecorder {
            recorder: mut this,
            listener,
        } = self;
        let mut batch: Vec<StoredSipMessage> = Vec::new();
        let mut flush_at = tokio::time::Instant::now() + BATCH_WAIT;
        loop {
            this.purge_due().await;
            tokio::select! {
                p = listener.next() => match p {
                    Ok(p) => {
                        if let Some(m) = capture(&p, &this.sides) {
                            if batch.is_empty() {
                                flush_at = tokio::time::Instant::now() + BATCH_WAIT;
                            }
                            batch.push(stored(&m));
                            if batch.len() >= BATCH {
                                this.flush(&mut batch).await;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "SIP trace listener");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                () = tokio::time::sleep_until(flush_at), if !batch.is_empty() => {
                    this.flush(&mut batch).await;
                }
                _ = shutdown.changed() => {
                    this.flush(&mut batch).await;
                    return;
                }
            }
        }
    }
}
