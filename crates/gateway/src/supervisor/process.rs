//! One Kamailio process tree: spawned in its own process group so that its forked workers can
//! be signalled together (a SIGKILL of the main process alone would leave them holding the
//! sockets).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::process::{Child, Command};

use super::{SupervisorError, SupervisorSettings};

pub(super) struct KamailioProcess {
    child: Child,
    pid: u32,
    started: Instant,
}

impl KamailioProcess {
    pub(super) fn spawn(
        settings: &SupervisorSettings,
        config: &Path,
    ) -> Result<KamailioProcess, SupervisorError> {
        // Kamailio changes into its working directory (`-w`), where a relative path given here
        // would no longer lead anywhere.
        let run_dir =
            std::path::absolute(&settings.run_dir).map_err(|source| SupervisorError::RunDir {
                dir: settings.run_dir.display().to_string(),
                source,
            })?;
        let config = std::path::absolute(config).map_err(|source| SupervisorError::RunDir {
            dir: settings.run_dir.display().to_string(),
            source,
        })?;
        let log_path = run_dir.join("kamailio.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|source| SupervisorError::RunDir {
                dir: run_dir.display().to_string(),
                source,
            })?;
        let log_err = log.try_clone().map_err(|source| SupervisorError::RunDir {
            dir: run_dir.display().to_string(),
            source,
        })?;
        let child = Command::new(&settings.kamailio_bin)
            .arg("-f")
            .arg(&config)
            // Foreground: the main process stays our child and forks the workers.
            .arg("-DD")
            .arg("-E")
            .arg("-P")
            .arg(run_dir.join("kamailio.pid"))
            .arg("-Y")
            .arg(&run_dir)
            .arg("-w")
            .arg(&run_dir)
            .arg("-m")
            .arg(settings.shm_mb.to_string())
            .arg("-M")
            .arg(settings.pkg_mb.to_string())
            .arg("-x")
            .arg("tlsf")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| SupervisorError::Spawn {
                bin: settings.kamailio_bin.display().to_string(),
                source,
            })?;
        let pid = child.id().unwrap_or(0);
        Ok(KamailioProcess {
            child,
            pid,
            started: Instant::now(),
        })
    }

    pub(super) fn pid(&self) -> u32 {
        self.pid
    }

    pub(super) fn started(&self) -> Instant {
        self.started
    }

    pub(super) async fn wait(&mut self) -> String {
        match self.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => format!("wait failed: {e}"),
        }
    }

    pub(super) fn try_exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("wait failed: {e}")),
        }
    }

    pub(super) fn kill_group(&self) {
        kill_group(self.pid);
    }

    /// SIGTERM to the group, SIGKILL if it is not gone after 5 s.
    pub(super) async fn terminate(&mut self) {
        signal_group(self.pid, Signal::TERM);
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            kill_group(self.pid);
            let _ = self.child.wait().await;
        }
        // Workers exit with the main process; make sure none lingers.
        kill_group(self.pid);
    }
}

/// SIGKILL to every process of the group `pgid` (no error if it is already gone).
pub(super) fn kill_group(pgid: u32) {
    signal_group(pgid, Signal::KILL);
}

fn signal_group(pgid: u32, signal: Signal) {
    let Some(pid) = i32::try_from(pgid).ok().and_then(Pid::from_raw) else {
        return;
    };
    let _ = kill_process_group(pid, signal);
}

/// `kamailio -c`: refuses a configuration with the parser's own words.
pub(super) async fn check_config(bin: &Path, config: &Path) -> Result<(), SupervisorError> {
    let out = Command::new(bin)
        .arg("-c")
        .arg("-f")
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| SupervisorError::Spawn {
            bin: bin.display().to_string(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stdout));
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("CRITICAL"))
        .collect();
    Err(SupervisorError::BadConfig {
        config: config.display().to_string(),
        output: if lines.is_empty() {
            output.clone()
        } else {
            lines.join("\n")
        },
    })
}
