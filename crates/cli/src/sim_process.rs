//! The Microsoft simulator as a child process (`teamline sim`), with its control API: for the
//! benchmarks (so the memory figures are Teamline's own) and the tests that run the real
//! binary against it.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use teamline_sim::microsoft::RequestStats;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The Microsoft simulator as a child process (`teamline sim`), with its control API.
pub struct SimProcess {
    child: tokio::process::Child,
    pub base_url: String,
    http: reqwest::Client,
}

impl SimProcess {
    /// Starts `exe sim --tenants <tenants>` on a random port and waits until it listens.
    pub async fn start(exe: &Path, tenants: &str) -> anyhow::Result<Self> {
        Self::start_with(exe, tenants, &[]).await
    }

    /// Like [`SimProcess::start`], with more `teamline sim` options (e.g. `--latency-ms 50`).
    pub async fn start_with(exe: &Path, tenants: &str, options: &[&str]) -> anyhow::Result<Self> {
        let mut child = tokio::process::Command::new(exe)
            .args([
                "sim",
                "--tenants",
                tenants,
                "--http-port",
                "0",
                "--bind",
                "127.0.0.1",
            ])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} sim", exe.display()))?;
        let stdout = child
            .stdout
            .take()
            .context("the simulator's output is not readable")?;
        let mut lines = BufReader::new(stdout).lines();
        let base_url = tokio::time::timeout(Duration::from_secs(300), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.trim().strip_prefix("control API:") {
                    return Ok(rest.trim().trim_end_matches("/_sim/tenants").to_owned());
                }
            }
            bail!("the simulator stopped before it listened")
        })
        .await
        .context("the simulator did not start within 5 minutes")??;
        // Keep reading so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            base_url,
            http: reqwest::Client::new(),
        })
    }

    /// CPU seconds (user + system) the simulator has used so far (`/proc/<pid>/stat`; 0 when
    /// unreadable): a bench tells the simulator's share of a run from Teamline's.
    pub fn cpu_secs(&self) -> f64 {
        let Some(pid) = self.child.id() else {
            return 0.0;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        // After ")": state(0) … utime(11) stime(12), in clock ticks of 10 ms.
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (ticks(11) + ticks(12)) as f64 / 100.0
    }

    fn url(&self, tenant: &str, path: &str) -> String {
        format!("{}/_sim/tenants/{}{path}", self.base_url, percent(tenant))
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let resp = req
            .send()
            .await
            .with_context(|| format!("simulator: {what}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("simulator: {what}: HTTP {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Merges these fault settings (camelCase JSON, e.g. `{"throttleBudget": 100}`).
    pub async fn patch_faults(&self, tenant: &str, faults: Value) -> anyhow::Result<()> {
        self.send(
            self.http.patch(self.url(tenant, "/faults")).json(&faults),
            "set faults",
        )
        .await
        .map(drop)
    }

    pub async fn stats(&self, tenant: &str) -> anyhow::Result<RequestStats> {
        let v = self
            .send(self.http.get(self.url(tenant, "/stats")), "read stats")
            .await?;
        Ok(serde_json::from_value(v)?)
    }

    pub async fn reset_stats(&self, tenant: &str) -> anyhow::Result<()> {
        self.send(
            self.http.post(self.url(tenant, "/stats/reset")),
            "reset stats",
        )
        .await
        .map(drop)
    }

    /// `assignNumber` requests per user object id.
    pub async fn number_assignment_counts(
        &self,
        tenant: &str,
    ) -> anyhow::Result<BTreeMap<String, u64>> {
        let v = self
            .send(
                self.http
                    .get(self.url(tenant, "/counters/number-assignments")),
                "read number assignment counters",
            )
            .await?;
        Ok(serde_json::from_value(v)?)
    }

    /// Write requests per user object id.
    pub async fn write_counts(&self, tenant: &str) -> anyhow::Result<BTreeMap<String, u64>> {
        let v = self
            .send(
                self.http.get(self.url(tenant, "/counters")),
                "read counters",
            )
            .await?;
        Ok(serde_json::from_value(v)?)
    }

    pub async fn patch_user(&self, tenant: &str, user: &str, patch: Value) -> anyhow::Result<()> {
        let url = self.url(tenant, &format!("/users/{}", percent(user)));
        self.send(self.http.patch(url).json(&patch), "change a user")
            .await
            .map(drop)
    }

    pub async fn add_member(&self, tenant: &str, group: &str, member: &str) -> anyhow::Result<()> {
        let url = self.url(tenant, &format!("/groups/{}/members", percent(group)));
        self.send(
            self.http.post(url).json(&json!({ "id": member })),
            "add a group member",
        )
        .await
        .map(drop)
    }

    pub async fn remove_member(
        &self,
        tenant: &str,
        group: &str,
        member: &str,
    ) -> anyhow::Result<()> {
        let url = self.url(
            tenant,
            &format!("/groups/{}/members/{}", percent(group), percent(member)),
        );
        self.send(self.http.delete(url), "remove a group member")
            .await
            .map(drop)
    }

    /// Distinct users in any of these groups (ids or names), as the simulator counts them.
    pub async fn group_union(&self, tenant: &str, groups: &[String]) -> anyhow::Result<u64> {
        let url = self.url(tenant, "/group-union");
        let v = self
            .send(
                self.http.get(url).query(&[("groups", groups.join(","))]),
                "count the sync groups' members",
            )
            .await?;
        v.get("users")
            .and_then(Value::as_u64)
            .context("the simulator did not count the groups' members")
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
