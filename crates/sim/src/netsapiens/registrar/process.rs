//! The registrar's Kamailio process, in its own process group so a kill takes its workers too.

use std::path::Path;
use std::process::Stdio;

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::process::{Child, Command};

use super::RegistrarError;

pub(super) struct RegistrarProcess {
    child: Child,
    pid: u32,
}

impl RegistrarProcess {
    pub(super) fn pid(&self) -> u32 {
        self.pid
    }

    pub(super) fn spawn(config: &Path, dir: &Path) -> Result<RegistrarProcess, RegistrarError> {
        let files = |source| RegistrarError::Files {
            dir: dir.display().to_string(),
            source,
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("registrar.log"))
            .map_err(files)?;
        let log_err = log.try_clone().map_err(files)?;
        let child = Command::new("kamailio")
            .arg("-f")
            .arg(config)
            .args(["-DD", "-E", "-m", "128", "-M", "32"])
            .arg("-P")
            .arg(dir.join("registrar.pid"))
            .arg("-Y")
            .arg(dir)
            .arg("-w")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(RegistrarError::Spawn)?;
        let pid = child.id().unwrap_or(0);
        Ok(RegistrarProcess { child, pid })
    }

    /// SIGKILL to the whole group, then reaps the main process.
    pub(super) async fn kill(mut self) {
        self.kill_now();
        let _ = self.child.wait().await;
    }

    pub(super) fn kill_now(&self) {
        if let Some(pid) = i32::try_from(self.pid).ok().and_then(Pid::from_raw) {
            let _ = kill_process_group(pid, Signal::KILL);
        }
    }
}
