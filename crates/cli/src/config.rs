//! Where the data lives, and the encryption key that protects its secrets.

use anyhow::{Context, bail};
use clap::Args;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use teamline_engine::{ApiConnector, PbxNetworkPolicy};
use teamline_store::crypto::{EncryptionKey, Keyring};
use teamline_store::{DynStore, SystemClock};

/// A data directory as given, made absolute against the current directory. The gateway's
/// Kamailio processes run in their own working directory (under the data directory), so a
/// relative path handed to them (their configuration, pid file, RPC socket) would point
/// somewhere else.
pub fn absolute_dir(arg: &str) -> Result<PathBuf, String> {
    if arg.trim().is_empty() {
        return Err("the data directory is empty: give a directory, e.g. --data-dir data".into());
    }
    std::path::absolute(arg).map_err(|e| format!("cannot resolve the data directory {arg:?}: {e}"))
}

#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Directory for the SQLite database, the encryption key file and the lock file.
    #[arg(
        long,
        env = "TEAMLINE_DATA_DIR",
        default_value = "data",
        global = true,
        value_parser = absolute_dir
    )]
    pub data_dir: PathBuf,

    /// Use PostgreSQL instead of SQLite (needed to run several instances), e.g.
    /// postgres://teamline@db.internal/teamline.
    #[arg(
        long,
        env = "TEAMLINE_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,

    /// The key that encrypts stored secrets: 64 hexadecimal characters. When unset, the key
    /// is read from (or created in) <data-dir>/encryption.key. Several instances must share it.
    #[arg(long, env = "TEAMLINE_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,

    /// Keys used before a rotation, comma-separated: still accepted for reading until
    /// `teamline rekey` has re-encrypted everything with the current key.
    #[arg(
        long,
        env = "TEAMLINE_PREVIOUS_ENCRYPTION_KEYS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub previous_encryption_keys: Vec<String>,
}

/// Which hosts PBX APIs may be on. By default Teamline connects only to `https://` PBX APIs on
/// public addresses, so a PBX API base URL typed in the portal cannot reach into the
/// operator's own network.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct PbxNetworkArgs {
    /// Allow PBX API base URLs that use http:// (PBX keys and passwords then cross the network
    /// readable): for a PBX on a trusted network, or the simulator.
    #[arg(long, env = "TEAMLINE_PBX_ALLOW_HTTP", global = true)]
    pub pbx_allow_http: bool,

    /// Allow PBX APIs on loopback, private (10/8, 172.16/12, 192.168/16), link-local (incl.
    /// 169.254.169.254), shared (100.64/10), unique-local (fc00::/7), multicast, unspecified
    /// and other non-public addresses. Checked on the addresses a host name resolves to, when
    /// connecting. For a PBX on the operator's own network, or the simulator.
    #[arg(long, env = "TEAMLINE_PBX_ALLOW_PRIVATE_NETWORK", global = true)]
    pub pbx_allow_private_network: bool,
}

impl PbxNetworkArgs {
    pub fn policy(&self) -> PbxNetworkPolicy {
        PbxNetworkPolicy {
            allow_http: self.pbx_allow_http,
            allow_private: self.pbx_allow_private_network,
        }
    }

    /// The PBX connector for this policy.
    pub fn connector(&self) -> Arc<ApiConnector> {
        Arc::new(ApiConnector::new(self.policy()))
    }
}

/// An open store, with the lock that makes this process the SQLite file's only user.
pub struct Opened {
    pub store: DynStore,
    _lock: Option<File>,
}

pub const KEY_FILE: &str = "encryption.key";

/// Opens the store for a command that only queues work and follows it (`teamline sync`):
/// when a running Teamline holds the SQLite data directory, the database is shared with it
/// (SQLite allows readers and short writes from other processes; only one process may run
/// jobs). Returns whether this process holds the data directory, i.e. must run jobs itself.
pub async fn open_store_alongside_server(args: &StoreArgs) -> anyhow::Result<(Opened, bool)> {
    if args.database_url.is_some() {
        return Ok((open_store(args).await?, true));
    }
    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            args.data_dir.display()
        )
    })?;
    match lock_data_dir(&args.data_dir) {
        Ok(lock) => {
            let keyring = Arc::new(load_keyring(args)?);
            let path = args.data_dir.join("teamline.db");
            let store = teamline_store_sqlite::open(&path, keyring, Arc::new(SystemClock)).await?;
            Ok((
                Opened {
                    store: Arc::new(store),
                    _lock: Some(lock),
                },
                true,
            ))
        }
        Err(_) => {
            let keyring = Arc::new(load_keyring(args)?);
            let path = args.data_dir.join("teamline.db");
            let store = teamline_store_sqlite::open(&path, keyring, Arc::new(SystemClock)).await?;
            tracing::info!(
                "another Teamline is using this data directory: its runner will do the work"
            );
            Ok((
                Opened {
                    store: Arc::new(store),
                    _lock: None,
                },
                false,
            ))
        }
    }
}

pub async fn open_store(args: &StoreArgs) -> anyhow::Result<Opened> {
    open(args, true).await
}

/// Opens the store without taking the SQLite lock: for short commands (e.g. `teamline pbx`)
/// that may run next to a serving Teamline. SQLite serialises their few writes itself.
pub async fn open_store_beside_server(args: &StoreArgs) -> anyhow::Result<Opened> {
    open(args, false).await
}

async fn open(args: &StoreArgs, exclusive: bool) -> anyhow::Result<Opened> {
    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            args.data_dir.display()
        )
    })?;
    if !exclusive && args.database_url.is_none() && !args.data_dir.join("teamline.db").exists() {
        bail!(
            "there is no Teamline database in {}: pass --data-dir (the demo uses data/demo)",
            args.data_dir.display()
        );
    }
    let keyring = Arc::new(load_keyring(args)?);
    let clock = Arc::new(SystemClock);
    match args.database_url.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = teamline_store_postgres::open(url, keyring, clock).await?;
            tracing::info!("using PostgreSQL");
            Ok(Opened {
                store: Arc::new(store),
                _lock: None,
            })
        }
        Some(url) if url.starts_with("sqlite:") => {
            let store = teamline_store_sqlite::open_url(url, keyring, clock).await?;
            Ok(Opened {
                store: Arc::new(store),
                _lock: None,
            })
        }
        Some(other) => bail!(
            "--database-url must start with postgres:// or sqlite: (got '{}')",
            other.split(':').next().unwrap_or_default()
        ),
        None => {
            let lock = if exclusive {
                Some(lock_data_dir(&args.data_dir)?)
            } else {
                None
            };
            let path = args.data_dir.join("teamline.db");
            let store = teamline_store_sqlite::open(&path, keyring, clock).await?;
            tracing::info!(path = %path.display(), "using SQLite");
            Ok(Opened {
                store: Arc::new(store),
                _lock: lock,
            })
        }
    }
}

/// SQLite is single-instance: a second Teamline on the same data directory is refused
/// instead of corrupting the job queue's guarantees.
fn lock_data_dir(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join("teamline.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another Teamline is already using {} (SQLite allows one instance; use --database-url postgres://… to run several)",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

fn load_keyring(args: &StoreArgs) -> anyhow::Result<Keyring> {
    let current = match args.encryption_key.as_deref() {
        Some(hex_key) => EncryptionKey::from_hex(hex_key).context("TEAMLINE_ENCRYPTION_KEY")?,
        None => key_from_file(&args.data_dir.join(KEY_FILE))?,
    };
    let previous = args
        .previous_encryption_keys
        .iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| EncryptionKey::from_hex(k).context("TEAMLINE_PREVIOUS_ENCRYPTION_KEYS"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Keyring::new(current, previous))
}

fn key_from_file(path: &Path) -> anyhow::Result<EncryptionKey> {
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        warn_if_readable_by_others(path);
        return EncryptionKey::from_hex(&text)
            .with_context(|| format!("the key in {} is invalid", path.display()));
    }
    let hex_key = EncryptionKey::generate_hex();
    write_private(path, &hex_key)?;
    tracing::warn!(
        path = %path.display(),
        "created a new encryption key for stored secrets (mode 0600). Back it up: without it, \
         stored PBX credentials and SIP passwords cannot be read"
    );
    EncryptionKey::from_hex(&hex_key).context("generated key")
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{contents}")?;
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, format!("{contents}\n"))
        .with_context(|| format!("cannot create {}", path.display()))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the encryption key file is readable by other users: chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// A name for this process in the jobs table.
pub fn worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "teamline".to_owned());
    format!("{host}:{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::absolute_dir;

    #[test]
    fn a_relative_data_directory_is_made_absolute_and_an_empty_one_is_refused() {
        let dir = absolute_dir("data/demo").unwrap();
        assert!(dir.is_absolute(), "{}", dir.display());
        assert!(dir.ends_with("data/demo"));
        assert_eq!(
            absolute_dir("/var/lib/teamline").unwrap(),
            std::path::PathBuf::from("/var/lib/teamline")
        );
        let refused = absolute_dir(" ").unwrap_err();
        assert!(refused.contains("--data-dir"), "{refused}");
    }
}
