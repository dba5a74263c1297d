//! Knot DNS (`knotd`) serving one zone on a random loopback port, from a temp dir.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::tools::{free_port, require_tool};

/// Why the fixture could not do what a test asked.
#[derive(Debug, thiserror::Error)]
pub enum KnotError {
    #[error("{0}")]
    Missing(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("knotd does not serve {zone}; its log:\n{log}")]
    NotServing { zone: String, log: String },
    #[error("knsupdate failed: {0}")]
    Update(String),
    #[error("kdig failed: {0}")]
    Dig(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> KnotError {
    let what = what.into();
    move |source| KnotError::Io { what, source }
}

/// A TSIG key (HMAC-SHA256) for the test server: name and base64 secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestTsigKey {
    pub name: String,
    pub secret_base64: String,
}

impl TestTsigKey {
    /// A key named `name` with 32 random bytes of secret.
    pub fn generate(name: &str) -> Self {
        use base64::Engine;
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        Self {
            name: name.to_owned(),
            secret_base64: base64::engine::general_purpose::STANDARD.encode(secret),
        }
    }
}

/// What the test server serves and whom it lets update the zone.
#[derive(Debug, Clone)]
pub struct KnotConfig {
    zone: String,
    records: String,
    update_key: Option<TestTsigKey>,
    known_keys: Vec<TestTsigKey>,
}

impl KnotConfig {
    /// The zone `zone` with its SOA, `NS ns` and `ns A 127.0.0.1`; any client on loopback may
    /// update it until [`KnotConfig::update_key`] says otherwise.
    pub fn new(zone: &str) -> Self {
        Self {
            zone: zone.trim_end_matches('.').to_owned(),
            records: String::new(),
            update_key: None,
            known_keys: Vec::new(),
        }
    }

    /// More records: zone-file lines with names relative to the zone, e.g. `www A 127.0.0.1`.
    pub fn records(mut self, lines: &str) -> Self {
        self.records.push_str(lines);
        self.records.push('\n');
        self
    }

    /// Only updates signed with `key` are accepted.
    pub fn update_key(mut self, key: TestTsigKey) -> Self {
        self.update_key = Some(key);
        self
    }

    /// A key the server knows but that may not update the zone.
    pub fn known_key(mut self, key: TestTsigKey) -> Self {
        self.known_keys.push(key);
        self
    }

    /// Starts `knotd` with its files under `dir/knot` and waits until it answers for the zone.
    /// Another process may take the chosen port first; then it starts again on another one.
    pub async fn start(self, dir: &Path) -> Result<Knot, KnotError> {
        for tool in [("knotd", "knot"), ("kdig", "knot-dnsutils")] {
            require_tool(tool.0, tool.1).map_err(KnotError::Missing)?;
        }
        let dir = dir.join("knot");
        std::fs::create_dir_all(&dir).map_err(io(format!("create {}", dir.display())))?;
        let mut last = None;
        for _ in 0..3 {
            let port = free_port().map_err(io("find a free port"))?;
            let mut knot = self.spawn(&dir, port)?;
            match knot.wait_serving().await {
                Ok(()) => return Ok(knot),
                Err(e) => {
                    knot.stop();
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| KnotError::NotServing {
            zone: self.zone.clone(),
            log: String::new(),
        }))
    }

    fn spawn(&self, dir: &Path, port: u16) -> Result<Knot, KnotError> {
        let zone = &self.zone;
        let conf_path = dir.join("knot.conf");
        std::fs::write(&conf_path, self.conf(dir, port))
            .map_err(io(format!("write {}", conf_path.display())))?;
        let zone_path = dir.join(format!("{zone}.zone"));
        let zonefile = format!(
            "$ORIGIN {zone}.\n$TTL 1\n@ SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 1\n\
             @ NS ns\nns A 127.0.0.1\n{}\n",
            self.records
        );
        std::fs::write(&zone_path, zonefile)
            .map_err(io(format!("write {}", zone_path.display())))?;
        let log_path = dir.join("knotd.log");
        let log = std::fs::File::create(&log_path)
            .map_err(io(format!("create {}", log_path.display())))?;
        let log_err = log.try_clone().map_err(io("clone the log file"))?;
        let child = Command::new("knotd")
            .arg("-c")
            .arg(&conf_path)
            .arg("-s")
            .arg(dir.join("knot.sock"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io("start knotd"))?;
        Ok(Knot {
            child: Some(child),
            addr: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
            dir: dir.to_path_buf(),
            zone: zone.clone(),
            key: self.update_key.clone(),
        })
    }

    fn conf(&self, dir: &Path, port: u16) -> String {
        let d = dir.display();
        let mut conf = format!(
            "server:\n    rundir: \"{d}\"\n    listen: 127.0.0.1@{port}\n\
             database:\n    storage: \"{d}\"\n\
             log:\n  - target: stderr\n    any: info\n"
        );
        let keys: Vec<&TestTsigKey> = self.update_key.iter().chain(&self.known_keys).collect();
        if !keys.is_empty() {
            conf.push_str("key:\n");
            for key in keys {
                let _ = write!(
                    conf,
                    "  - id: {}\n    algorithm: hmac-sha256\n    secret: {}\n",
                    key.name, key.secret_base64
                );
            }
        }
        match &self.update_key {
            Some(key) => {
                let _ = write!(
                    conf,
                    "acl:\n  - id: update\n    key: {}\n    action: update\n",
                    key.name
                );
            }
            None => {
                conf.push_str("acl:\n  - id: update\n    address: 127.0.0.1\n    action: update\n")
            }
        }
        let _ = write!(
            conf,
            "zone:\n  - domain: {zone}\n    file: \"{d}/{zone}.zone\"\n    acl: update\n\
             \x20   zonefile-sync: -1\n    journal-content: none\n",
            zone = self.zone
        );
        conf
    }
}

/// A running `knotd`; killed when dropped.
pub struct Knot {
    child: Option<Child>,
    /// Where it listens (UDP and TCP).
    pub addr: SocketAddr,
    dir: PathBuf,
    zone: String,
    key: Option<TestTsigKey>,
}

impl std::fmt::Debug for Knot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knot")
            .field("addr", &self.addr)
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

impl Knot {
    /// Serves `zone` with `records` (zone-file lines, relative names) and accepts dynamic
    /// updates from any client on loopback.
    pub async fn start(dir: &Path, zone: &str, records: &str) -> Result<Knot, KnotError> {
        KnotConfig::new(zone).records(records).start(dir).await
    }

    /// The zone served, without a trailing dot.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// `127.0.0.1:<port>`, as Teamline's DNS settings take it.
    pub fn server(&self) -> String {
        self.addr.to_string()
    }

    /// Applies `knsupdate` commands in the zone (e.g. `del _sip._udp.sbc SRV`,
    /// `add www 60 A 127.0.0.1`), signed with the update key when there is one.
    pub fn update(&self, commands: &str) -> Result<(), KnotError> {
        require_tool("knsupdate", "knot-dnsutils").map_err(KnotError::Missing)?;
        let key = self
            .key
            .as_ref()
            .map(|k| format!("key hmac-sha256:{} {}\n", k.name, k.secret_base64))
            .unwrap_or_default();
        let script = format!(
            "server 127.0.0.1 {}\nzone {zone}.\norigin {zone}.\n{key}{commands}\nsend\n",
            self.addr.port(),
            zone = self.zone,
        );
        let mut child = Command::new("knsupdate")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io("start knsupdate"))?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin
                .write_all(script.as_bytes())
                .map_err(io("write to knsupdate"))?;
        }
        let out = child.wait_with_output().map_err(io("run knsupdate"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(KnotError::Update(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ))
        }
    }

    /// `kdig +short` over TCP: the records of `name` (absolute) of `record_type` as presented.
    pub fn dig(&self, record_type: &str, name: &str) -> Result<Vec<String>, KnotError> {
        let out = Command::new("kdig")
            .args([
                "@127.0.0.1",
                "-p",
                &self.addr.port().to_string(),
                "+tcp",
                "+short",
                "+timeout=2",
                "+retry=0",
                record_type,
                name,
            ])
            .output()
            .map_err(io("run kdig"))?;
        if !out.status.success() {
            return Err(KnotError::Dig(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// The TXT values the server serves for `name`, each record's strings joined, sorted.
    pub fn txt(&self, name: &str) -> Result<Vec<String>, KnotError> {
        let mut values: Vec<String> = self
            .dig("TXT", name)?
            .iter()
            .map(|line| join_txt_strings(line))
            .collect();
        values.sort();
        Ok(values)
    }

    /// Kills the server: from now on it is down.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What `knotd` logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("knotd.log")).unwrap_or_default()
    }

    async fn wait_serving(&mut self) -> Result<(), KnotError> {
        for _ in 0..100 {
            let exited = self
                .child
                .as_mut()
                .map(|c| matches!(c.try_wait(), Ok(Some(_))))
                .unwrap_or(true);
            if exited {
                break;
            }
            if self.dig("SOA", &self.zone).is_ok_and(|soa| !soa.is_empty()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(KnotError::NotServing {
            zone: self.zone.clone(),
            log: self.log(),
        })
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `"MS=ms1" "more"` → `MS=ms1more` (kdig prints each character-string quoted).
fn join_txt_strings(line: &str) -> String {
    let mut value = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in line.chars() {
        match (quoted, escaped, c) {
            (true, true, c) => {
                value.push(c);
                escaped = false;
            }
            (true, false, '\\') => escaped = true,
            (_, false, '"') => quoted = !quoted,
            (true, false, c) => value.push(c),
            (false, _, _) => {}
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdig_txt_lines_become_values() {
        assert_eq!(join_txt_strings("\"MS=ms1\""), "MS=ms1");
        assert_eq!(join_txt_strings("\"a b\" \"c\""), "a bc");
        assert_eq!(join_txt_strings("\"say \\\"hi\\\"\""), "say \"hi\"");
    }

    #[test]
    fn the_update_acl_names_the_key_when_there_is_one() {
        let key = TestTsigKey::generate("teamline.");
        let conf = KnotConfig::new("sbc.example.net.")
            .update_key(key.clone())
            .conf(Path::new("/tmp/k"), 5300);
        assert!(conf.contains("listen: 127.0.0.1@5300"));
        assert!(conf.contains(&format!("secret: {}", key.secret_base64)));
        assert!(conf.contains("key: teamline.\n    action: update"));
        assert!(conf.contains("domain: sbc.example.net\n"));
        let open = KnotConfig::new("sbc.example.net").conf(Path::new("/tmp/k"), 5300);
        assert!(open.contains("address: 127.0.0.1\n    action: update"));
    }
}
