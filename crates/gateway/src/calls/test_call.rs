//! Test calls: Kamailio places a call that goes to the PBX exactly as a call from a Teams
//! user would (as the user's device handle, digest with its password), so an admin sees
//! whether the PBX side of a user works without anyone picking up Teams.
//!
//! Teamline does not speak SIP: it stores the call's Teams number and tenant FQDN under a
//! random Call-ID in Kamailio's `tcall` htable, then asks Kamailio (`tm.t_uac_start`) to send
//! an INVITE with that Call-ID to its own SIP listener. Kamailio's routing sees a request from
//! itself whose Call-ID is in `tcall` and treats it as a Teams call (`route[TEST_CALL]`), so
//! the call's steps reach Teamline as call events like any other. Teamline hangs up through
//! the RPC listener (`/test-call/hangup`), where Kamailio's dialog module sends the PBX side a
//! BYE.
//!
//! The INVITE's offer is plain RTP toward a port nobody listens on (discard, 9): the media of
//! a test call is not listened to, only set up.

use crate::config::Listener;
use crate::rpc::{RpcClient, RpcError};
use serde_json::{Value, json};

/// The user part of the calling side's Contact: a BYE from the PBX side comes back to
/// Kamailio, which answers it itself.
pub const CALLER_USER: &str = "teamline-test-call";
/// What a test call's record names as its Microsoft proxy.
pub const PROXY_LABEL: &str = "Teamline test call";
/// Every test call's Call-ID starts with this.
pub const CALL_ID_PREFIX: &str = "teamline-test-";

/// One test call: from the Teams user `teams_number` at `tenant_fqdn` to `dialled` (the
/// user's own extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCall {
    pub call_id: String,
    pub teams_number: String,
    pub tenant_fqdn: String,
    pub dialled: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TestCallError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error("the test call cannot be placed: {0}")]
    Invalid(String),
}

impl TestCall {
    /// A test call with a new random Call-ID.
    pub fn new(teams_number: &str, tenant_fqdn: &str, dialled: &str) -> Self {
        TestCall {
            call_id: format!("{CALL_ID_PREFIX}{:032x}", rand::random::<u128>()),
            teams_number: teams_number.to_owned(),
            tenant_fqdn: tenant_fqdn.to_owned(),
            dialled: dialled.to_owned(),
        }
    }

    /// Whether every part can go into a SIP header as it is (no quoting, no injection).
    fn check(&self) -> Result<(), TestCallError> {
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_'))
        };
        for (what, v) in [
            ("Teams number", &self.teams_number),
            ("tenant FQDN", &self.tenant_fqdn),
            ("dialled number", &self.dialled),
            ("Call-ID", &self.call_id),
        ] {
            if !plain(v) {
                return Err(TestCallError::Invalid(format!(
                    "its {what} {v:?} holds characters a SIP URI cannot carry as they are"
                )));
            }
        }
        Ok(())
    }
}

impl RpcClient {
    /// Places `call` through the gateway whose SIP listener is `listener`.
    pub async fn start_test_call(
        &self,
        listener: &Listener,
        call: &TestCall,
    ) -> Result<(), TestCallError> {
        call.check()?;
        let tc = format!("{}@{}", call.teams_number, call.tenant_fqdn);
        self.call_value(
            "htable.sets",
            vec![json!("tcall"), json!(call.call_id), json!(tc)],
        )
        .await?;
        let me = crate::config::listen::host_port(listener.addr, listener.port);
        let ip = listener.addr;
        let ip_kind = if ip.is_ipv6() { "IP6" } else { "IP4" };
        let headers = format!(
            "From: <sip:{teams}@{fqdn}>\r\nTo: <sip:{dialled}@{fqdn}>\r\nContact: <sip:{CALLER_USER}@{me}>\r\nCall-ID: {cid}\r\nContent-Type: application/sdp\r\n",
            teams = call.teams_number,
            fqdn = call.tenant_fqdn,
            dialled = call.dialled,
            cid = call.call_id,
        );
        let body = format!(
            "v=0\r\no=teamline 1 1 IN {ip_kind} {ip}\r\ns=Teamline test call\r\nc=IN {ip_kind} {ip}\r\nt=0 0\r\nm=audio 9 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"
        );
        self.call_value(
            "tm.t_uac_start",
            vec![
                json!("INVITE"),
                json!(format!("sip:{}@{me}", call.dialled)),
                json!(format!("sip:{me}")),
                json!(""),
                json!(headers),
                json!(body),
            ],
        )
        .await?;
        Ok(())
    }

    /// Hangs up the test call `call_id` if it is an established dialog: Kamailio sends the
    /// PBX side a BYE (the calling side is Kamailio itself and needs none). False when there
    /// is nothing to hang up (not answered yet, or already over).
    pub async fn hang_up_test_call(&self, call_id: &str) -> Result<bool, RpcError> {
        let dialogs = self.call_value("dlg.list", vec![]).await?;
        let Some(d) = dialogs.as_array().and_then(|ds| {
            ds.iter()
                .find(|d| d.get("call-id").and_then(Value::as_str) == Some(call_id))
        }) else {
            return Ok(false);
        };
        let tag = |side: &str| {
            d.get(side)
                .and_then(|s| s.get("tag"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (from_tag, to_tag) = (tag("caller"), tag("callee"));
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        };
        // Not answered (no To tag yet), or not a Call-ID Teamline made: nothing to hang up.
        if !call_id.starts_with(CALL_ID_PREFIX)
            || !plain(call_id)
            || !plain(&from_tag)
            || !plain(&to_tag)
        {
            return Ok(false);
        }
        let status = self
            .post_path(
                "the test call's hang-up",
                &format!("/test-call/hangup?cid={call_id}&ft={from_tag}&tt={to_tag}"),
            )
            .await?;
        Ok(status == 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_id_is_random_and_plain() {
        let a = TestCall::new("+15550100", "contoso.sbc.example", "1000");
        let b = TestCall::new("+15550100", "contoso.sbc.example", "1000");
        assert_ne!(a.call_id, b.call_id);
        assert!(a.call_id.starts_with(CALL_ID_PREFIX));
        assert!(a.check().is_ok());
    }

    #[test]
    fn header_injection_is_refused() {
        let mut c = TestCall::new("+15550100", "contoso.sbc.example", "1000");
        c.dialled = "1000>\r\nX-Evil: 1".to_owned();
        let err = c.check().unwrap_err().to_string();
        assert!(err.contains("dialled number"), "{err}");
    }
}
