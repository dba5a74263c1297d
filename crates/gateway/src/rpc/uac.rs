//! The `uac` module's registration RPCs (uac_reg), as Kamailio 5.6.3 implements them
//! (`src/modules/uac/uac_reg.c`):
//!
//! - `uac.reg_add` takes 15 positional parameters: l_uuid, l_username, l_domain, r_username,
//!   r_domain, realm, auth_username, auth_password, auth_ha1, auth_proxy, expires, flags,
//!   reg_delay, socket, contact_addr ("." means "none" for auth_password, auth_ha1 and
//!   contact_addr). Despite its documentation ("if one with the same unique id is found, it is
//!   deleted") it answers 409 "uuid already exists": a change is remove + add.
//! - `uac.reg_remove <l_uuid>` forgets a record at once, without un-registering it.
//! - `uac.reg_unregister <attr> <value>` sends REGISTER with Expires 0 and keeps the record
//!   (with expires 0) until it is removed.
//! - `uac.reg_refresh <l_uuid>` reloads one record from the `reg_db_url` table; Teamline's
//!   table is empty, so it answers 404 for records added over RPC.
//! - `uac.reg_enable|reg_disable <attr> <value>` clear/set the disabled flag and make the
//!   record due at the next timer walk: enabling is how to ask for a REGISTER now.
//! - `cnt.get uac regtotal` (the `counters` module) counts the records; `reg_remove` lowers it.
//! - `uac.reg_dump` / `uac.reg_info <attr> <value>` return records with `flags` (bit 0
//!   disabled, 1 ongoing, 2 online, 3 auth sent, 4 initialised), `timer_expires` (Unix time
//!   the registration runs out, or when the next attempt is due), `diff_expires`, `reg_init`,
//!   and every field in clear, the password included.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{RpcClient, RpcError};

/// A record as Teamline pushes it to uac_reg.
#[derive(Clone)]
pub struct UacRecord {
    pub l_uuid: String,
    pub l_username: String,
    pub l_domain: String,
    pub r_username: String,
    pub r_domain: String,
    pub auth_username: String,
    pub auth_password: SecretString,
    /// `sip:host:port` where the REGISTER is sent.
    pub auth_proxy: String,
    /// Registration lifetime asked for, in seconds.
    pub expires: u32,
    /// Seconds to wait before the first REGISTER (spreads a burst of new records).
    pub reg_delay: u32,
}

impl fmt::Debug for UacRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UacRecord")
            .field("l_uuid", &self.l_uuid)
            .field("l_username", &self.l_username)
            .field("l_domain", &self.l_domain)
            .field("r_username", &self.r_username)
            .field("r_domain", &self.r_domain)
            .field("auth_username", &self.auth_username)
            .field("auth_password", &"<redacted>")
            .field("auth_proxy", &self.auth_proxy)
            .field("expires", &self.expires)
            .field("reg_delay", &self.reg_delay)
            .finish()
    }
}

impl PartialEq for UacRecord {
    fn eq(&self, o: &Self) -> bool {
        self.l_uuid == o.l_uuid
            && self.l_username == o.l_username
            && self.l_domain == o.l_domain
            && self.r_username == o.r_username
            && self.r_domain == o.r_domain
            && self.auth_username == o.auth_username
            && self.auth_password.expose_secret() == o.auth_password.expose_secret()
            && self.auth_proxy == o.auth_proxy
            && self.expires == o.expires
            && self.reg_delay == o.reg_delay
    }
}

/// uac_reg's record flags (`UAC_REG_*` in uac_reg.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UacFlags(pub u32);

impl UacFlags {
    pub const DISABLED: u32 = 1;
    pub const ONGOING: u32 = 1 << 1;
    pub const ONLINE: u32 = 1 << 2;
    pub const AUTHSENT: u32 = 1 << 3;
    pub const INIT: u32 = 1 << 4;

    pub fn disabled(self) -> bool {
        self.0 & Self::DISABLED != 0
    }
    /// A REGISTER is in flight (uac_reg clears "online" while it refreshes).
    pub fn ongoing(self) -> bool {
        self.0 & (Self::ONGOING | Self::AUTHSENT) != 0
    }
    pub fn online(self) -> bool {
        self.0 & Self::ONLINE != 0
    }
    /// The first REGISTER was sent (after `reg_delay`).
    pub fn initialised(self) -> bool {
        self.0 & Self::INIT != 0
    }
}

/// A record as Kamailio reports it (`uac.reg_dump`, `uac.reg_info`).
#[derive(Clone, Deserialize)]
pub struct UacRecordState {
    pub l_uuid: String,
    pub l_username: String,
    pub l_domain: String,
    pub r_username: String,
    pub r_domain: String,
    #[serde(default)]
    pub realm: String,
    pub auth_username: String,
    #[serde(deserialize_with = "secret_or_none")]
    pub auth_password: Option<SecretString>,
    #[serde(deserialize_with = "none_is_empty")]
    pub auth_proxy: String,
    pub expires: u32,
    #[serde(deserialize_with = "flags")]
    pub flags: UacFlags,
    /// Unix time: when the registration runs out (online) or the next attempt is due.
    pub timer_expires: i64,
    /// Unix time the record was added.
    pub reg_init: i64,
    pub reg_delay: u32,
}

impl fmt::Debug for UacRecordState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UacRecordState")
            .field("l_uuid", &self.l_uuid)
            .field("l_username", &self.l_username)
            .field("l_domain", &self.l_domain)
            .field("r_username", &self.r_username)
            .field("r_domain", &self.r_domain)
            .field("auth_username", &self.auth_username)
            .field("auth_password", &"<redacted>")
            .field("auth_proxy", &self.auth_proxy)
            .field("expires", &self.expires)
            .field("flags", &self.flags)
            .field("timer_expires", &self.timer_expires)
            .finish_non_exhaustive()
    }
}

impl UacRecordState {
    /// Whether Kamailio's record carries exactly what `want` asks for. `expires` may have been
    /// raised by the registrar (423 Interval Too Brief + Min-Expires): only a lower value than
    /// wanted counts as a difference.
    pub fn matches(&self, want: &UacRecord) -> bool {
        self.l_uuid == want.l_uuid
            && self.l_username == want.l_username
            && self.l_domain == want.l_domain
            && self.r_username == want.r_username
            && self.r_domain == want.r_domain
            && self.auth_username == want.auth_username
            && self
                .auth_password
                .as_ref()
                .is_some_and(|p| p.expose_secret() == want.auth_password.expose_secret())
            && self.auth_proxy == want.auth_proxy
            && self.expires >= want.expires
    }
}

fn secret_or_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<SecretString>, D::Error> {
    let s = String::deserialize(d)?;
    Ok((s != "none" && !s.is_empty()).then(|| SecretString::from(s)))
}

fn none_is_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    Ok(if s == "none" { String::new() } else { s })
}

fn flags<'de, D: serde::Deserializer<'de>>(d: D) -> Result<UacFlags, D::Error> {
    let n = i64::deserialize(d)?;
    Ok(UacFlags(u32::try_from(n).unwrap_or(0)))
}

/// Which attribute `uac.reg_info`, `reg_enable`, `reg_disable` and `reg_unregister` match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UacFilter {
    LUuid,
    LUsername,
    RUsername,
    AuthUsername,
}

impl UacFilter {
    fn as_str(self) -> &'static str {
        match self {
            UacFilter::LUuid => "l_uuid",
            UacFilter::LUsername => "l_username",
            UacFilter::RUsername => "r_username",
            UacFilter::AuthUsername => "auth_username",
        }
    }
}

impl RpcClient {
    /// Adds a record (fails with 409 when its l_uuid exists: remove it first).
    pub async fn uac_reg_add(&self, r: &UacRecord) -> Result<(), RpcError> {
        let params = vec![
            json!(r.l_uuid),
            json!(r.l_username),
            json!(r.l_domain),
            json!(r.r_username),
            json!(r.r_domain),
            json!(""), // realm: empty means "whatever realm the registrar challenges with"
            json!(r.auth_username),
            json!(r.auth_password.expose_secret()),
            json!("."), // auth_ha1: none
            json!(r.auth_proxy),
            json!(r.expires),
            json!(0), // flags
            json!(r.reg_delay),
            json!(""),  // socket: the default
            json!("."), // contact_addr: the node's reg_contact_addr
        ];
        self.call_value("uac.reg_add", params).await.map(drop)
    }

    /// Forgets a record. `Ok(false)` when Kamailio did not have it.
    pub async fn uac_reg_remove(&self, l_uuid: &str) -> Result<bool, RpcError> {
        match self.call_value("uac.reg_remove", vec![json!(l_uuid)]).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reloads one record from the `reg_db_url` table (404 for RPC-only records).
    pub async fn uac_reg_refresh(&self, l_uuid: &str) -> Result<(), RpcError> {
        self.call_value("uac.reg_refresh", vec![json!(l_uuid)])
            .await
            .map(drop)
    }

    /// Sends REGISTER with Expires 0 for the record; it stays (expires 0) until removed.
    pub async fn uac_reg_unregister(&self, l_uuid: &str) -> Result<bool, RpcError> {
        self.filtered("uac.reg_unregister", UacFilter::LUuid, l_uuid)
            .await
    }

    /// Clears the disabled flag and makes the record due now (a REGISTER at the next walk).
    pub async fn uac_reg_enable(&self, l_uuid: &str) -> Result<bool, RpcError> {
        self.filtered("uac.reg_enable", UacFilter::LUuid, l_uuid)
            .await
    }

    /// Sets the disabled flag: no more REGISTERs until enabled.
    pub async fn uac_reg_disable(&self, l_uuid: &str) -> Result<bool, RpcError> {
        self.filtered("uac.reg_disable", UacFilter::LUuid, l_uuid)
            .await
    }

    /// Every record Kamailio holds.
    pub async fn uac_reg_dump(&self) -> Result<Vec<UacRecordState>, RpcError> {
        let v = self.call_value("uac.reg_dump", vec![]).await?;
        match v {
            Value::Null => Ok(Vec::new()),
            // One record comes back as an object, not a one-element list.
            Value::Object(_) => decode_one("uac.reg_dump", v).map(|r| vec![r]),
            other => serde_json::from_value(other).map_err(|e| RpcError::Decode {
                method: "uac.reg_dump",
                detail: e.to_string(),
            }),
        }
    }

    /// How many records Kamailio holds (uac's `regtotal` counter, read with the `counters`
    /// module's `cnt.get`): cheap where `uac.reg_dump` costs seconds. `None` when the
    /// gateway's configuration does not load `counters` (rendered by an older Teamline).
    pub async fn uac_reg_count(&self) -> Result<Option<u64>, RpcError> {
        match self
            .call_value("cnt.get", vec![json!("uac"), json!("regtotal")])
            .await
        {
            Ok(v) => v.as_u64().map(Some).ok_or_else(|| RpcError::Decode {
                method: "cnt.get",
                detail: format!("uac regtotal is not a count: {v}"),
            }),
            Err(e @ RpcError::Unreachable { .. }) => Err(e),
            Err(e) => {
                tracing::debug!(error = %e, "the gateway cannot count its uac records (no counters module)");
                Ok(None)
            }
        }
    }

    /// One record, or `None` when no record matches.
    pub async fn uac_reg_info(
        &self,
        filter: UacFilter,
        value: &str,
    ) -> Result<Option<UacRecordState>, RpcError> {
        match self
            .call_value("uac.reg_info", vec![json!(filter.as_str()), json!(value)])
            .await
        {
            Ok(v) => decode_one("uac.reg_info", v).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn filtered(
        &self,
        method: &'static str,
        filter: UacFilter,
        value: &str,
    ) -> Result<bool, RpcError> {
        match self
            .call_value(method, vec![json!(filter.as_str()), json!(value)])
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn decode_one(method: &'static str, v: Value) -> Result<UacRecordState, RpcError> {
    serde_json::from_value(v).map_err(|e| RpcError::Decode {
        method,
        detail: e.to_string(),
    })
}
