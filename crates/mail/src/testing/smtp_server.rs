//! aiosmtpd on a random loopback port, recording each message it accepts as JSON.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::TestCa;
use crate::{MailAddress, SmtpAuth, SmtpSecurity, SmtpSettings};

const SCRIPT: &str = include_str!("smtp_server.py");

/// Why the fixture could not do what a test asked.
#[derive(Debug, thiserror::Error)]
pub enum SmtpServerError {
    #[error(
        "TEAMLINE_TEST_PYTHON is not set: run scripts/test.sh, or export \
         TEAMLINE_TEST_PYTHON=\"$(scripts/sdk-venv.sh)\" and install \
         scripts/test-python-requirements.txt into it"
    )]
    NoPython,
    #[error(
        "{python} cannot import aiosmtpd: run scripts/test.sh, or `{python} -m pip install -r \
         scripts/test-python-requirements.txt`"
    )]
    NoAiosmtpd { python: String },
    #[error("{what}: {detail}")]
    Failed { what: String, detail: String },
}

fn failed(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SmtpServerError {
    let what = what.into();
    move |e| SmtpServerError::Failed {
        what,
        detail: e.to_string(),
    }
}

/// A message as the server received it, decoded by Python's e-mail package.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedMail {
    /// Envelope sender and recipients.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// Headers.
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    /// The top-level content type, e.g. `multipart/alternative`.
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// Whether the message came over an encrypted connection.
    pub tls: bool,
    /// The user who signed in, if any.
    pub auth_user: Option<String>,
}

/// A running SMTP server; stopped when dropped.
pub struct SmtpServer {
    child: Option<Child>,
    port: u16,
    security: SmtpSecurity,
    out_dir: PathBuf,
    log: PathBuf,
    ca: Option<TestCa>,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("port", &self.port)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

impl SmtpServer {
    /// Starts a server with `security` (STARTTLS is then required; TLS is implicit TLS), with
    /// a fresh test CA for the encrypted modes, requiring sign-in with `auth` when given.
    /// Its files go under `dir/smtp`.
    pub async fn start(
        dir: &Path,
        security: SmtpSecurity,
        auth: Option<(&str, &str)>,
    ) -> Result<Self, SmtpServerError> {
        let python =
            std::env::var("TEAMLINE_TEST_PYTHON").map_err(|_| SmtpServerError::NoPython)?;
        let dir = dir.join("smtp");
        let out_dir = dir.join("received");
        std::fs::create_dir_all(&out_dir)
            .map_err(failed(format!("create {}", out_dir.display())))?;
        let script = dir.join("smtp_server.py");
        std::fs::write(&script, SCRIPT).map_err(failed("write the server script"))?;
        let ca = match security {
            SmtpSecurity::None => None,
            SmtpSecurity::StartTls | SmtpSecurity::Tls => {
                let ca = TestCa::generate().map_err(|e| SmtpServerError::Failed {
                    what: "generate the test CA".to_owned(),
                    detail: e.to_string(),
                })?;
                std::fs::write(dir.join("cert.pem"), &ca.server_cert_pem)
                    .map_err(failed("write the server certificate"))?;
                std::fs::write(dir.join("key.pem"), &ca.server_key_pem)
                    .map_err(failed("write the server key"))?;
                Some(ca)
            }
        };
        let mode = match security {
            SmtpSecurity::None => "plain",
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
        };
        let log = dir.join("server.log");
        let mut last = String::new();
        // Another process may take the chosen port between choosing and binding: try again.
        for _ in 0..3 {
            let port = free_port().map_err(failed("find a free port"))?;
            let mut command = Command::new(&python);
            command
                .arg("-u")
                .arg(&script)
                .arg(port.to_string())
                .arg(&out_dir)
                .arg(mode);
            if ca.is_some() {
                command
                    .arg("--cert")
                    .arg(dir.join("cert.pem"))
                    .arg("--key")
                    .arg(dir.join("key.pem"));
            }
            if let Some((user, password)) = auth {
                command.arg("--auth").arg(user).arg(password);
            }
            let log_file = std::fs::File::create(&log).map_err(failed("create the server log"))?;
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(log_file)
                .kill_on_drop(true)
                .spawn()
                .map_err(failed(format!("start {python}")))?;
            if ready(&mut child).await {
                return Ok(Self {
                    child: Some(child),
                    port,
                    security,
                    out_dir,
                    log,
                    ca,
                });
            }
            let _ = child.kill().await;
            last = std::fs::read_to_string(&log).unwrap_or_default();
            if last.contains("No module named 'aiosmtpd'") {
                return Err(SmtpServerError::NoAiosmtpd { python });
            }
        }
        Err(SmtpServerError::Failed {
            what: "start the SMTP test server".to_owned(),
            detail: last,
        })
    }

    /// Where it listens: `127.0.0.1`, which its certificate names.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The test CA's certificate (PEM) for the encrypted modes.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca.as_ref().map(|ca| ca.ca_pem.as_str())
    }

    /// Teamline's settings for sending through this server: its host, port, security and CA.
    pub fn settings(&self, from: MailAddress, auth: Option<SmtpAuth>) -> SmtpSettings {
        let mut settings = SmtpSettings::new(self.host(), self.security, from);
        settings.port = self.port;
        settings.auth = auth;
        settings.extra_ca_pem = self.ca_pem().map(str::to_owned);
        settings.timeout = Duration::from_secs(10);
        settings
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Result<Vec<ReceivedMail>, SmtpServerError> {
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(&self.out_dir)
            .map_err(failed("read the received messages"))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter_map(|path| {
                let n = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()?;
                Some((n, path))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| {
                let text = std::fs::read_to_string(&path)
                    .map_err(failed(format!("read {}", path.display())))?;
                serde_json::from_str(&text).map_err(|e| SmtpServerError::Failed {
                    what: format!("parse {}", path.display()),
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// Waits (up to 30 s) until `count` messages have arrived and returns them.
    pub async fn wait_for_mail(&self, count: usize) -> Result<Vec<ReceivedMail>, SmtpServerError> {
        for _ in 0..300 {
            let received = self.received()?;
            if received.len() >= count {
                return Ok(received);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(SmtpServerError::Failed {
            what: format!("wait for {count} message(s)"),
            detail: format!(
                "{} arrived; server log:\n{}",
                self.received()?.len(),
                self.log()
            ),
        })
    }

    /// What the server logged (aiosmtpd logs each SMTP command).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server: from now on nothing listens on its port.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

/// Whether the server printed READY before exiting (10 s at most).
async fn ready(child: &mut Child) -> bool {
    let Some(stdout) = child.stdout.take() else {
        return false;
    };
    let mut lines = BufReader::new(stdout).lines();
    matches!(
        tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await,
        Ok(Ok(Some(line))) if line.trim() == "READY"
    )
}

fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
