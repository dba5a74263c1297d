//! Runs Kamailio as a child process for the demo and the tests: in the foreground, in its own
//! process group, with its pid file and runtime files in a data directory; waits until its RPC
//! answers; restarts it with back-off when it dies; stops it cleanly.
//!
//! In production systemd runs Kamailio and Teamline only connects to its RPC: nothing else in
//! this crate depends on the supervisor.

mod process;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::{ConfigError, GatewaySettings};
use crate::rpc::RpcClient;

use process::KamailioProcess;

/// How the supervisor runs Kamailio.
#[derive(Debug, Clone)]
pub struct SupervisorSettings {
    pub kamailio_bin: PathBuf,
    /// Pid file, runtime files and `kamailio.log` (Kamailio's stderr) live here.
    pub run_dir: PathBuf,
    /// Shared memory in MB (registrations live there).
    pub shm_mb: u32,
    /// Private memory per process in MB (`uac.reg_dump` of 10 000 records needs more than the
    /// default 8 MB in the process answering it).
    pub pkg_mb: u32,
    /// How long a start may take until the RPC answers.
    pub start_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl SupervisorSettings {
    pub fn new(run_dir: impl Into<PathBuf>) -> Self {
        SupervisorSettings {
            kamailio_bin: PathBuf::from("kamailio"),
            run_dir: run_dir.into(),
            shm_mb: 256,
            pkg_mb: 64,
            start_timeout: Duration::from_secs(20),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "Kamailio could not be started ({bin}): {source}; install it with `apt-get install kamailio kamailio-extra-modules` (scripts/test.sh does) or set its path"
    )]
    Spawn {
        bin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("Kamailio refused the rendered configuration {config}:\n{output}")]
    BadConfig { config: String, output: String },
    #[error("Kamailio did not answer its RPC within {secs} s of starting; its log is {log}")]
    NotReady { secs: u64, log: String },
    #[error("Kamailio exited while starting ({status}); its log is {log}")]
    Exited { status: String, log: String },
    #[error("Teamline cannot talk to Kamailio's RPC: {0}")]
    Rpc(#[from] crate::rpc::RpcError),
    #[error("preparing Kamailio's run directory {dir} failed: {source}")]
    RunDir {
        dir: String,
        #[source]
        source: std::io::Error,
    },
}

/// What the supervised Kamailio is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessState {
    Starting,
    /// Answering its RPC; `starts` counts every start, the first one included.
    Running {
        pid: u32,
        starts: u32,
    },
    /// It died; the next start is after a back-off.
    Restarting {
        starts: u32,
        last_exit: String,
    },
    Stopped,
}

/// A supervised Kamailio. Dropping it kills Kamailio.
pub struct Supervisor {
    state: watch::Receiver<ProcessState>,
    stop: Arc<Notify>,
    task: Option<JoinHandle<()>>,
    pgid: Arc<std::sync::Mutex<Option<u32>>>,
    log: PathBuf,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("state", &*self.state.borrow())
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// Writes the configuration, checks it with `kamailio -c`, starts Kamailio and returns once
    /// its RPC answers.
    pub async fn start(
        gateway: &GatewaySettings,
        settings: SupervisorSettings,
    ) -> Result<Supervisor, SupervisorError> {
        gateway.write()?;
        std::fs::create_dir_all(&settings.run_dir).map_err(|source| SupervisorError::RunDir {
            dir: settings.run_dir.display().to_string(),
            source,
        })?;
        process::check_config(&settings.kamailio_bin, &gateway.config_file()).await?;
        let rpc = RpcClient::new(&gateway.rpc)?;
        let log = settings.run_dir.join("kamailio.log");
        let first = start_and_wait(&settings, &gateway.config_file(), &rpc).await?;
        let pgid = Arc::new(std::sync::Mutex::new(Some(first.pid())));
        let (tx, rx) = watch::channel(ProcessState::Running {
            pid: first.pid(),
            starts: 1,
        });
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(supervise(
            first,
            settings,
            gateway.config_file(),
            rpc,
            tx,
            stop.clone(),
            pgid.clone(),
        ));
        Ok(Supervisor {
            state: rx,
            stop,
            task: Some(task),
            pgid,
            log,
        })
    }

    pub fn state(&self) -> ProcessState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every change of state.
    pub fn watch(&self) -> watch::Receiver<ProcessState> {
        self.state.clone()
    }

    /// The running Kamailio's main pid (its process group id).
    pub fn pid(&self) -> Option<u32> {
        match &*self.state.borrow() {
            ProcessState::Running { pid, .. } => Some(*pid),
            _ => None,
        }
    }

    /// Kamailio's stderr, appended across restarts.
    pub fn log_file(&self) -> &Path {
        &self.log
    }

    /// Waits until Kamailio runs (again) with at least `starts` starts behind it.
    pub async fn wait_running(&self, starts: u32, timeout: Duration) -> Option<u32> {
        let mut rx = self.state.clone();
        let wait =
            rx.wait_for(|s| matches!(s, ProcessState::Running { starts: n, .. } if *n >= starts));
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(s)) => match &*s {
                ProcessState::Running { pid, .. } => Some(*pid),
                _ => None,
            },
            _ => None,
        }
    }

    /// Stops Kamailio (SIGTERM to its process group, SIGKILL after 5 s) and the supervision.
    pub async fn stop(mut self) {
        self.stop.notify_one();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let pgid = self
            .pgid
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(pgid) = pgid {
            process::kill_group(pgid);
        }
    }
}

async fn start_and_wait(
    settings: &SupervisorSettings,
    config: &Path,
    rpc: &RpcClient,
) -> Result<KamailioProcess, SupervisorError> {
    let mut child = KamailioProcess::spawn(settings, config)?;
    let deadline = Instant::now() + settings.start_timeout;
    loop {
        if rpc.core_version().await.is_ok() {
            return Ok(child);
        }
        if let Some(status) = child.try_exited() {
            child.kill_group();
            return Err(SupervisorError::Exited {
                status,
                log: settings.run_dir.join("kamailio.log").display().to_string(),
            });
        }
        if Instant::now() > deadline {
            child.kill_group();
            return Err(SupervisorError::NotReady {
                secs: settings.start_timeout.as_secs(),
                log: settings.run_dir.join("kamailio.log").display().to_string(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn supervise(
    mut child: KamailioProcess,
    settings: SupervisorSettings,
    config: PathBuf,
    rpc: RpcClient,
    state: watch::Sender<ProcessState>,
    stop: Arc<Notify>,
    pgid: Arc<std::sync::Mutex<Option<u32>>>,
) {
    let mut starts = 1u32;
    let mut backoff = settings.backoff_initial;
    loop {
        let exit = tokio::select! {
            status = child.wait() => status,
            () = stop.notified() => {
                child.terminate().await;
                set_pgid(&pgid, None);
                let _ = state.send(ProcessState::Stopped);
                return;
            }
        };
        // Workers of a killed main process may linger with the sockets: end the whole group.
        child.kill_group();
        set_pgid(&pgid, None);
        tracing::warn!(exit = %exit, "Kamailio exited; restarting it");
        let ran_long = child.started().elapsed() > Duration::from_secs(30);
        if ran_long {
            backoff = settings.backoff_initial;
        }
        loop {
            let _ = state.send(ProcessState::Restarting {
                starts,
                last_exit: exit.clone(),
            });
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stop.notified() => {
                    let _ = state.send(ProcessState::Stopped);
                    return;
                }
            }
            backoff = (backoff * 2).min(settings.backoff_max);
            let _ = state.send(ProcessState::Starting);
            match start_and_wait(&settings, &config, &rpc).await {
                Ok(next) => {
                    starts += 1;
                    set_pgid(&pgid, Some(next.pid()));
                    let _ = state.send(ProcessState::Running {
                        pid: next.pid(),
                        starts,
                    });
                    tracing::info!(pid = next.pid(), starts, "Kamailio runs again");
                    child = next;
                    break;
                }
                Err(e) => tracing::warn!(error = %e, "Kamailio did not come back; retrying"),
            }
        }
    }
}

fn set_pgid(slot: &std::sync::Mutex<Option<u32>>, value: Option<u32>) {
    *slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = value;
}
