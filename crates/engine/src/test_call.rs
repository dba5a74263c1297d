//! Test call (the Enterprise portal's user page): the gateway calls the PBX as the user's
//! device handle, the way a call from the user's Teams client would go, and hangs up once it
//! was answered; the call's steps arrive as call events like any other call's
//! (`CallRecorder`), so the page reads them from the call's record and the call shows on the
//! Calls page. The Microsoft side is not called (that would ring the user in Teams): what it
//! can tell is whether the region's proxies answer the gateway's OPTIONS.
//!
//! One test call per user per [`TEST_CALL_EVERY`] on this instance: a flood of test calls
//! would ring the user's phones over and over.

use crate::{Engine, EngineError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::registration::RegistrationStatus;
use teamline_gateway::calls::TestCall;
pub use teamline_gateway::calls::test_call::CALL_ID_PREFIX;
use teamline_gateway::config::Listener;
use teamline_gateway::rpc::RpcClient;

/// The least time between two test calls of one user.
pub const TEST_CALL_EVERY: Duration = Duration::from_secs(60);
/// How long an answered test call is held before Teamline hangs up.
const HOLD: Duration = Duration::from_secs(2);
/// How long Teamline watches a test call before it hangs up whatever its state (the gateway
/// itself gives up ringing after 25 s).
const WATCH: Duration = Duration::from_secs(40);

/// What places test calls: the gateway's RPC and its SIP listener (set once with
/// [`Engine::set_test_caller`] where the gateway carries calls).
pub struct TestCaller {
    rpc: RpcClient,
    listener: Listener,
    recent: Mutex<HashMap<PbxUserId, Instant>>,
}

impl std::fmt::Debug for TestCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCaller")
            .field("rpc", &self.rpc.url())
            .finish_non_exhaustive()
    }
}

impl TestCaller {
    pub fn new(rpc: RpcClient, listener: Listener) -> Self {
        TestCaller {
            rpc,
            listener,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Notes a test call of `user` now, or says how long until the next one may be placed.
    fn take_turn(&self, user: PbxUserId) -> Result<(), Duration> {
        let now = Instant::now();
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.retain(|_, at| now.duration_since(*at) < TEST_CALL_EVERY);
        if let Some(at) = recent.get(&user) {
            return Err(TEST_CALL_EVERY.saturating_sub(now.duration_since(*at)));
        }
        recent.insert(user, now);
        Ok(())
    }
}

impl Engine {
    /// Sets what places test calls (once; later calls are ignored and answer `false`).
    pub fn set_test_caller(&self, caller: TestCaller) -> bool {
        self.inner.test_caller.set(Arc::new(caller)).is_ok()
    }

    /// Places a test call for PBX user `user`: the gateway calls the user's extension as its
    /// device handle. Answers the call's Call-ID; its steps show in its call record.
    pub async fn place_test_call(
        &self,
        e: EnterpriseId,
        user: PbxUserId,
    ) -> Result<String, EngineError> {
        let Some(caller) = self.inner.test_caller.get().cloned() else {
            return Err(EngineError::refused(
                "Test calls need a SIP gateway that carries calls: start Teamline with \
                 --gateway-rpc and --direct-routing.",
            ));
        };
        let item = self.store().get_pbx_user(e, user).await?;
        let targets = self.store().registration_targets(Some(e)).await?;
        let Some(target) = targets.into_iter().find(|t| t.pbx_user_id == user) else {
            return Err(EngineError::refused(format!(
                "{} has no device handle the gateway registers (calling off, or the device's \
                 SIP password not read yet): enable calling first.",
                item.display_name
            )));
        };
        let registered = self
            .store()
            .list_registrations(Some(e), Some(&[user]))
            .await?
            .into_iter()
            .any(|r| r.state == RegistrationStatus::Registered);
        if !registered {
            return Err(EngineError::refused(format!(
                "The gateway has not registered {}'s device {} at the PBX yet, so the PBX would \
                 refuse the call: see the registration on this page (Troubleshoot says why).",
                item.display_name, target.device
            )));
        }
        if let Err(wait) = caller.take_turn(user) {
            return Err(EngineError::refused(format!(
                "A test call for {} was placed less than {} s ago: wait {} s before the next \
                 one (each test call rings the extension's phones).",
                item.display_name,
                TEST_CALL_EVERY.as_secs(),
                wait.as_secs().max(1)
            )));
        }
        let call = TestCall::new(
            &target.teams_number.e164(),
            &target.sbc_fqdn,
            item.user.spec.sip_user.as_str(),
        );
        caller
            .rpc
            .start_test_call(&caller.listener, &call)
            .await
            .map_err(|err| {
                EngineError::refused(format!(
                    "The gateway did not place the test call: {err}. Check that its Kamailio \
                     runs (teamline gateway status)."
                ))
            })?;
        tokio::spawn(hang_up_later(self.clone(), caller, e, call.call_id.clone()));
        Ok(call.call_id)
    }
}

/// Hangs the test call up [`HOLD`] after it was answered (or after [`WATCH`] in any case).
async fn hang_up_later(engine: Engine, caller: Arc<TestCaller>, e: EnterpriseId, call_id: String) {
    let started = Instant::now();
    while started.elapsed() < WATCH {
        tokio::time::sleep(Duration::from_millis(250)).await;
        match engine.store().get_call(e, &call_id).await {
            Ok(Some(c)) if c.ended_ms.is_some() => return,
            Ok(Some(c)) if c.answered_ms.is_some() => {
                tokio::time::sleep(HOLD).await;
                break;
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, call_id, "reading a test call's record"),
        }
    }
    if let Err(err) = caller.rpc.hang_up_test_call(&call_id).await {
        tracing::warn!(error = %err, call_id, "the gateway did not hang up a test call");
    }
}
