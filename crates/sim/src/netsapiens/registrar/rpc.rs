//! The few JSON-RPC calls the simulator makes to its registrar.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Binding, RegistrarError};

pub(super) struct RegistrarRpc {
    http: reqwest::Client,
    url: String,
}

impl RegistrarRpc {
    pub(super) fn new(port: u16) -> RegistrarRpc {
        let _ = rustls::crypto::ring::default_provider().install_default();
        RegistrarRpc {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            url: format!("http://127.0.0.1:{port}/RPC"),
        }
    }

    pub(super) async fn call(
        &self,
        method: &'static str,
        params: &[&str],
    ) -> Result<Value, RegistrarError> {
        let rpc_err = |detail: String| RegistrarError::Rpc { method, detail };
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        let resp = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| rpc_err(e.to_string()))?;
        let v: Value = resp.json().await.map_err(|e| rpc_err(e.to_string()))?;
        if let Some(e) = v.get("error") {
            return Err(rpc_err(e.to_string()));
        }
        Ok(v.get("result").cloned().unwrap_or(Value::Null))
    }

    pub(super) async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.call("core.version", &[]).await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// `ul.dump`: `{Domains: [{Domain: {AoRs: [{Info: {AoR, Contacts: [{Contact: {…}}]}}]}}]}`.
    pub(super) async fn bindings(&self) -> Result<Vec<Binding>, RegistrarError> {
        let v = self.call("ul.dump", &[]).await?;
        let mut out = Vec::new();
        let domains = v.get("Domains").and_then(Value::as_array);
        for d in domains.into_iter().flatten() {
            let aors = d
                .get("Domain")
                .and_then(|d| d.get("AoRs"))
                .and_then(Value::as_array);
            for a in aors.into_iter().flatten() {
                let Some(info) = a.get("Info") else { continue };
                let aor = str_of(info, "AoR");
                let contacts = info.get("Contacts").and_then(Value::as_array);
                for c in contacts.into_iter().flatten() {
                    let Some(c) = c.get("Contact") else { continue };
                    // "Expires" is seconds left, or a word for permanent/deleted/expired.
                    let Some(expires_in) = c.get("Expires").and_then(Value::as_u64) else {
                        continue;
                    };
                    out.push(Binding {
                        aor: aor.clone(),
                        contact: str_of(c, "Address"),
                        expires_in,
                        user_agent: str_of(c, "User-Agent"),
                        received: str_of(c, "Received"),
                        last_modified: c.get("Last-Modified").and_then(Value::as_i64).unwrap_or(0),
                    });
                }
            }
        }
        Ok(out)
    }
}

fn str_of(v: &Value, key: &str) -> String {
    match v.get(key).and_then(Value::as_str) {
        Some("[not set]") | None => String::new(),
        Some(s) => s.to_owned(),
    }
}
