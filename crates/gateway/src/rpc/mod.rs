//! Kamailio's JSON-RPC (`jsonrpcs` over `xhttp`), with typed calls for what Teamline uses.
//!
//! The client only needs the listener's URL (and token, if one is configured): it works the
//! same against a Kamailio that the [`crate::supervisor`] started and one that systemd runs.
//! Requests and answers carry SIP passwords (`uac.reg_add`, `uac.reg_dump`), so nothing of a
//! request's parameters or an answer's body ever goes into a log line or an error.

mod uac;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::RpcListener;

pub use uac::{UacFilter, UacFlags, UacRecord, UacRecordState};

/// Why an RPC call failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Nothing answered: Kamailio is down, restarting, or the address is wrong.
    #[error(
        "the gateway's Kamailio does not answer its JSON-RPC at {url} ({detail}): check that Kamailio runs on that host and that the RPC listener in its configuration matches"
    )]
    Unreachable { url: String, detail: String },
    #[error("the gateway's Kamailio answered {method} with HTTP {status} at {url}{hint}")]
    Http {
        url: String,
        method: &'static str,
        status: u16,
        hint: &'static str,
    },
    /// Kamailio ran the command and refused it.
    #[error("the gateway's Kamailio refused {method}: {code} {message}")]
    Fault {
        method: &'static str,
        code: i64,
        message: String,
    },
    #[error(
        "the gateway's Kamailio answered {method} with something Teamline does not understand ({detail}); is it Kamailio 5.6 with the modules of the rendered configuration?"
    )]
    Decode {
        method: &'static str,
        detail: String,
    },
}

impl RpcError {
    /// "No such record" from Kamailio (uac answers 404 "Record not found").
    pub fn is_not_found(&self) -> bool {
        matches!(self, RpcError::Fault { code: 404, .. })
    }

    /// Kamailio itself is not reachable (as opposed to refusing one call).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, RpcError::Unreachable { .. })
    }
}

/// A JSON-RPC client for one Kamailio node.
pub struct RpcClient {
    http: reqwest::Client,
    url: String,
    token: Option<SecretString>,
    next_id: AtomicU64,
}

impl fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcClient")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<FaultBody>,
}

#[derive(Deserialize)]
struct FaultBody {
    code: i64,
    #[serde(default)]
    message: String,
}

/// What `core.uptime` says: a restarted Kamailio has a new `up_since`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Uptime {
    pub now: String,
    pub up_since: String,
    /// Seconds since Kamailio started.
    pub uptime: u64,
}

impl RpcClient {
    /// A client for the listener of a rendered configuration.
    pub fn new(listener: &RpcListener) -> Result<Self, RpcError> {
        Self::with_url(listener.url(), listener.token.clone())
    }

    /// A client for `url` (`http://host:port/RPC`).
    pub fn with_url(url: String, token: Option<SecretString>) -> Result<Self, RpcError> {
        // reqwest needs a rustls provider even for plain HTTP; ignore "already installed".
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| RpcError::Unreachable {
                url: url.clone(),
                detail: format!("the HTTP client cannot start: {e}"),
            })?;
        Ok(RpcClient {
            http,
            url,
            token,
            next_id: AtomicU64::new(1),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with positional `params` and decodes the result.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Vec<Value>,
    ) -> Result<T, RpcError> {
        let value = self.call_value(method, params).await?;
        serde_json::from_value(value).map_err(|e| RpcError::Decode {
            method,
            detail: e.to_string(),
        })
    }

    /// Calls `method` and returns its raw result (`null` when it returns nothing).
    pub async fn call_value(
        &self,
        method: &'static str,
        params: Vec<Value>,
    ) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token.expose_secret());
        }
        let resp = req.send().await.map_err(|e| RpcError::Unreachable {
            url: self.url.clone(),
            detail: describe_transport_error(&e),
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| RpcError::Unreachable {
            url: self.url.clone(),
            detail: describe_transport_error(&e),
        })?;
        // jsonrpcs answers a fault with the fault's code as HTTP status too (404, 409, 500):
        // the body says what it is.
        let env = serde_json::from_slice::<Envelope>(&bytes);
        if let Ok(Envelope { error: Some(f), .. }) = env {
            return Err(RpcError::Fault {
                method,
                code: f.code,
                message: f.message,
            });
        }
        if !status.is_success() {
            return Err(RpcError::Http {
                url: self.url.clone(),
                method,
                status: status.as_u16(),
                hint: http_hint(status.as_u16()),
            });
        }
        let env = env.map_err(|e| RpcError::Decode {
            method,
            detail: format!("not a JSON-RPC answer: {e}"),
        })?;
        Ok(env.result.unwrap_or(Value::Null))
    }

    /// POSTs to `path_and_query` on the RPC listener, for what Kamailio's own routing serves
    /// there rather than a JSON-RPC command; `what` names it in errors. Returns the HTTP status
    /// (401 and 403 are errors: Teamline is not allowed there).
    pub(crate) async fn post_path(
        &self,
        what: &'static str,
        path_and_query: &str,
    ) -> Result<u16, RpcError> {
        let base = self.url.strip_suffix("/RPC").unwrap_or(&self.url);
        let url = format!("{base}{path_and_query}");
        let mut req = self.http.post(&url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token.expose_secret());
        }
        let resp = req.send().await.map_err(|e| RpcError::Unreachable {
            url: self.url.clone(),
            detail: describe_transport_error(&e),
        })?;
        let status = resp.status().as_u16();
        if matches!(status, 401 | 403) {
            return Err(RpcError::Http {
                url: self.url.clone(),
                method: what,
                status,
                hint: http_hint(status),
            });
        }
        Ok(status)
    }

    /// Kamailio's version line (`kamailio 5.6.3 (x86_64/linux)`); the health check.
    pub async fn core_version(&self) -> Result<String, RpcError> {
        let v: String = self.call("core.version", vec![]).await?;
        Ok(v.trim().to_owned())
    }

    pub async fn core_uptime(&self) -> Result<Uptime, RpcError> {
        self.call("core.uptime", vec![]).await
    }

    /// Every item of an htable as (key, string value). Integer values are rendered as text.
    pub async fn htable_dump(&self, table: &str) -> Result<Vec<(String, String)>, RpcError> {
        #[derive(Deserialize)]
        struct Slot {
            #[serde(default)]
            slot: Vec<Item>,
        }
        #[derive(Deserialize)]
        struct Item {
            name: String,
            value: Value,
        }
        let slots: Vec<Slot> = self.call("htable.dump", vec![json!(table)]).await?;
        Ok(slots
            .into_iter()
            .flat_map(|s| s.slot)
            .map(|i| {
                let v = match i.value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (i.name, v)
            })
            .collect())
    }

    /// One htable item as a string, `None` when the key is absent.
    pub async fn htable_get(&self, table: &str, key: &str) -> Result<Option<String>, RpcError> {
        #[derive(Deserialize)]
        struct Got {
            item: Item,
        }
        #[derive(Deserialize)]
        struct Item {
            value: Value,
        }
        match self
            .call::<Got>("htable.get", vec![json!(table), json!(key)])
            .await
        {
            Ok(got) => Ok(Some(match got.item.value {
                Value::String(s) => s,
                other => other.to_string(),
            })),
            // htable answers a missing key with 500 "Key name doesn't exist in htable."
            Err(RpcError::Fault { message, .. }) if message.contains("doesn't exist") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes one htable item (no error when it is absent).
    pub async fn htable_delete(&self, table: &str, key: &str) -> Result<(), RpcError> {
        match self
            .call_value("htable.delete", vec![json!(table), json!(key)])
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// What an HTTP refusal of the RPC listener means for the operator.
fn http_hint(status: u16) -> &'static str {
    match status {
        401 => ": the RPC token Teamline sends is not the one in the gateway's configuration",
        403 => ": this address is not the gateway's RPC listener",
        _ => "",
    }
}

fn describe_transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection refused or no route".to_owned()
    } else {
        // reqwest's errors name the URL, never a request body.
        e.to_string()
    }
}
