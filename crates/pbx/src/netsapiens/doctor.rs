//! `teamline doctor` for a NetSapiens PBX location: whether the API answers, what the API key
//! may do (scope, domain, read-only), whether the domain and its extensions are visible, and
//! whether Teamline can read devices, with the PBX's own error text. Read-only.

use reqwest::StatusCode;
use serde_json::Value;
use teamline_domain::diagnosis::{Check, Outcome};

use super::NetSapiensClient;
use super::transport::{Auth, Call};
use super::wire;
use crate::pbx::{Check as ConnectionCheck, CheckStatus, Pbx};

/// A connection-report line as a doctor check.
fn from_connection(id: &str, title: &str, c: &ConnectionCheck) -> Check {
    match c.status {
        CheckStatus::Passed => Check::new(id, title, Outcome::Pass, c.message.clone()),
        CheckStatus::Failed => Check::new(id, title, Outcome::Fail, "failed")
            .with_error(c.message.clone())
            .with_fix("correct the PBX location's settings in Teamline (PBX settings) and run the doctor again"),
        CheckStatus::Skipped => Check::new(id, title, Outcome::Skip, c.message.clone()),
    }
}

impl NetSapiensClient {
    /// What the API key in use may do, from `GET /apikeys/~`.
    async fn api_key_check(&self) -> Check {
        let id = "pbx.api_key";
        let title = "PBX API key: scope, domain, write access";
        let Auth::ApiKey(_) = &self.t().auth else {
            return Check::new(
                id,
                title,
                Outcome::Pass,
                "OAuth login (no API key): its reach is the login's own",
            );
        };
        let call = Call::get(
            vec!["apikeys".to_owned(), "~".to_owned()],
            "describe the API key".to_owned(),
        );
        let answer = match self.t().execute(&call).await {
            Ok(a) => a,
            Err(e) => {
                return Check::new(id, title, Outcome::Fail, "no answer").with_error(e.to_string());
            }
        };
        if !answer.status.is_success() {
            return Check::new(
                id,
                title,
                Outcome::Warn,
                "the PBX does not describe its API keys; the checks below show what the key may do",
            )
            .with_error(answer.message());
        }
        let v = answer.json().unwrap_or(Value::Null);
        let scope = wire::text(&v, "user-scope").unwrap_or_else(|| "unknown".into());
        let key_domain = wire::text(&v, "domain").unwrap_or_else(|| "*".into());
        let readonly = wire::text(&v, "readonly").is_some_and(|r| r.eq_ignore_ascii_case("yes"));
        let found = format!(
            "scope {scope}, domain {key_domain}, {}",
            if readonly { "read-only" } else { "may write" }
        );
        if readonly {
            return Check::new(id, title, Outcome::Fail, found).with_fix(
                "Teamline creates devices and addresses: create an API key that is not read-only",
            );
        }
        if key_domain != "*" && !key_domain.eq_ignore_ascii_case(self.d()) {
            return Check::new(id, title, Outcome::Fail, found).with_fix(format!(
                "the key is limited to domain {key_domain}: use a key for {} (or a reseller key)",
                self.d()
            ));
        }
        Check::new(id, title, Outcome::Pass, found)
    }

    /// Device access: the domain-wide listing (or the per-extension one it falls back to), and
    /// how the PBX answers an empty list.
    async fn device_check(&self, extension: Option<&str>) -> Check {
        let id = "pbx.devices";
        let title = "PBX devices readable";
        let call = Call::get(self.path(&["devices"]), "list the devices".to_owned());
        let domain_wide = match self.t().execute(&call).await {
            Ok(a) => a,
            Err(e) => {
                return Check::new(id, title, Outcome::Fail, "no answer").with_error(e.to_string());
            }
        };
        let listing = if domain_wide.status.is_success() {
            format!(
                "the domain-wide device listing works ({} devices on the first page)",
                domain_wide
                    .json()
                    .as_ref()
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            )
        } else if domain_wide.status == StatusCode::FORBIDDEN {
            return Check::new(id, title, Outcome::Fail, "the PBX refused to list devices")
                .with_error(domain_wide.message())
                .with_fix("use an API key with Office Manager (or reseller) scope for the domain");
        } else {
            format!(
                "no domain-wide device listing (HTTP {}); Teamline lists devices per extension",
                domain_wide.status.as_u16()
            )
        };
        let Some(extension) = extension else {
            return Check::new(id, title, Outcome::Pass, listing);
        };
        let raw = Call::get(
            self.path(&["users", extension, "devices"]),
            "list an extension's devices".to_owned(),
        );
        let empty_404 = match self.t().execute(&raw).await {
            Ok(a) => a.status == StatusCode::NOT_FOUND && wire::is_empty_list_404(&a.message()),
            Err(_) => false,
        };
        match self.list_devices(extension).await {
            Ok(devices) => {
                let mut found = format!(
                    "{listing}; extension {extension} has {} device(s)",
                    devices.len()
                );
                if empty_404 {
                    found.push_str(
                        "; this PBX answers an empty device list with 404, which Teamline reads as empty",
                    );
                }
                Check::new(id, title, Outcome::Pass, found)
            }
            Err(e) => Check::new(
                id,
                title,
                Outcome::Fail,
                format!("the devices of extension {extension} could not be read"),
            )
            .with_error(e.to_string()),
        }
    }

    /// Every PBX check, read-only; `extension` also checks one extension's devices.
    pub(crate) async fn run_doctor(&self, extension: Option<&str>) -> Vec<Check> {
        let report = self.test_connection().await;
        let mut checks = vec![
            from_connection("pbx.reachable", "PBX API reachable", &report.reachable),
            from_connection(
                "pbx.credentials",
                "PBX credentials accepted",
                &report.authenticated,
            ),
        ];
        if !report.authenticated.is_passed() {
            return checks;
        }
        checks.push(self.api_key_check().await);
        checks.push(from_connection(
            "pbx.domain",
            "PBX domain visible",
            &report.domain_exists,
        ));
        checks.push(from_connection(
            "pbx.extensions",
            "PBX extensions readable",
            &report.can_list_users,
        ));
        if report.domain_exists.is_passed() {
            checks.push(self.device_check(extension).await);
        }
        checks
    }
}
