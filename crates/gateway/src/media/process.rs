//! rtpengine as a child process, for the demo and the tests (systemd runs it in production):
//! userspace forwarding only (`--table=-1`, no kernel module), in the foreground, in its own
//! process group, killed when dropped.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::process::{Child, Command};

use super::MediaClient;

/// How to run one rtpengine.
#[derive(Debug, Clone)]
pub struct RtpengineSettings {
    pub bin: PathBuf,
    /// The address media is relayed on (both sides, in the tests: loopback).
    pub interface: IpAddr,
    /// The control (ng) socket Kamailio and Teamline talk to.
    pub ng: SocketAddr,
    /// Media ports `[min, max]`; two per call and side.
    pub ports: (u16, u16),
    /// Seconds a deleted call stays readable (its final statistics).
    pub delete_delay_secs: u32,
    pub threads: u16,
    /// Its log (stderr) goes here.
    pub log: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum RtpengineError {
    #[error(
        "rtpengine could not be started ({bin}): {source}; install it with `apt-get install rtpengine-daemon` (scripts/test.sh does)"
    )]
    Spawn {
        bin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("rtpengine did not answer on {ng} within 10 s of starting; its log is {log}")]
    NotReady { ng: SocketAddr, log: String },
}

/// A running rtpengine; dropping it kills it.
#[derive(Debug)]
pub struct Rtpengine {
    child: Child,
    pid: u32,
    ng: SocketAddr,
}

impl Rtpengine {
    pub async fn start(s: &RtpengineSettings) -> Result<Rtpengine, RtpengineError> {
        let spawn_err = |source| RtpengineError::Spawn {
            bin: s.bin.display().to_string(),
            source,
        };
        let log = std::fs::File::create(&s.log).map_err(spawn_err)?;
        let log_err = log.try_clone().map_err(spawn_err)?;
        let child = Command::new(&s.bin)
            .arg("--config-file=none")
            .arg("--table=-1")
            .arg("--foreground")
            .arg("--log-stderr")
            .arg("--log-level=5")
            .arg(format!("--interface={}", s.interface))
            .arg(format!("--listen-ng={}", s.ng))
            .arg(format!("--port-min={}", s.ports.0))
            .arg(format!("--port-max={}", s.ports.1))
            .arg(format!("--delete-delay={}", s.delete_delay_secs))
            .arg(format!("--num-threads={}", s.threads))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_err)?;
        let pid = child.id().unwrap_or(0);
        let me = Rtpengine {
            child,
            pid,
            ng: s.ng,
        };
        let client = MediaClient::new(s.ng);
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.ping().await.is_err() {
            if Instant::now() > deadline {
                return Err(RtpengineError::NotReady {
                    ng: s.ng,
                    log: s.log.display().to_string(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(me)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn client(&self) -> MediaClient {
        MediaClient::new(self.ng)
    }

    /// Its log file's path, given the settings it was started with.
    pub fn log_of(s: &RtpengineSettings) -> &Path {
        &s.log
    }

    /// Kills it (SIGKILL to its process group) and reaps it.
    pub async fn stop(mut self) {
        kill(self.pid);
        let _ = self.child.wait().await;
    }
}

impl Drop for Rtpengine {
    fn drop(&mut self) {
        kill(self.pid);
    }
}

fn kill(pid: u32) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(pid, Signal::KILL);
    }
}
