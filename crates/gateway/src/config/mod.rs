//! Kamailio's configuration for a gateway node, rendered from typed settings.
//!
//! The settings are the only input: `render` checks them (the JSON-RPC listener must not be
//! reachable from the internet) and produces the files Kamailio reads — `kamailio.cfg` from
//! askama templates under `templates/kamailio/`, and the empty `uacreg` db_text table that
//! uac_reg insists on having. Part 2 of the gateway (Direct Routing) adds its own template
//! sections (TLS listeners per SBC domain, dispatcher to Microsoft's proxies, rtpengine) and
//! `Listener` kinds; nothing here needs to change shape for that.

mod direct_routing;
pub(crate) mod listen;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use askama::Template;
use secrecy::{ExposeSecret, SecretString};

pub use direct_routing::{
    CertificateFiles, DirectRouting, Events, Keepalive, MICROSOFT_PROXIES, Media, MicrosoftProxy,
    Region, SBC_PRODUCT, TlsListener,
};
pub use listen::{Listener, RpcListener, Transport};

/// What the gateway advertises in `Allow` (OPTIONS to and from Microsoft): with REFER listed,
/// Teams hands transfers to the gateway as REFER.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, PRACK, UPDATE, REFER, NOTIFY";

/// Where Debian's package puts Kamailio's modules.
pub const DEFAULT_MODULE_DIR: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

/// See [`RegistrationTimers::recent_answers_secs`].
pub const RECENT_ANSWERS_SECS: u32 = 30;

/// The uacreg table's schema version Kamailio 5.6 checks at start (`UACREG_TABLE_VERSION`).
const UACREG_TABLE_VERSION: u32 = 5;

/// Everything a gateway node's Kamailio configuration is made from.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// A name for logs and the file header (e.g. `gw-useast2-1`).
    pub node_name: String,
    /// Where SIP is sent from and received on (toward the PBX: registrations).
    pub sip_listeners: Vec<Listener>,
    /// The `host[:port]` put in each registration's Contact, i.e. where the PBX sends calls
    /// for a registered device handle. Defaults to the first SIP listener.
    pub contact_address: Option<String>,
    pub rpc: RpcListener,
    pub registrations: RegistrationTimers,
    pub logging: Logging,
    pub processes: Processes,
    /// Calls with Microsoft Teams (Direct Routing); `None` for a registrations-only node.
    pub direct_routing: Option<DirectRouting>,
    /// Directory the rendered files live in (the config, the empty uacreg table).
    pub config_dir: PathBuf,
    pub module_dir: PathBuf,
}

impl GatewaySettings {
    /// The gateway's sockets toward Microsoft and toward the PBX, by which a captured message
    /// is put on its side of the ladder (`None` without Direct Routing or SIP listener).
    pub fn trace_sides(&self) -> Option<crate::trace::Sides> {
        let dr = self.direct_routing.as_ref()?;
        let sip = self.sip_listeners.first()?;
        Some(crate::trace::Sides {
            microsoft: dr.tls.socket(),
            pbx: std::net::SocketAddr::new(sip.addr, sip.port),
        })
    }
}

/// uac_reg's timers, and how many records the node should be sized for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationTimers {
    /// How often uac_reg walks its records (sends due REGISTERs). A new record is first sent
    /// on the next walk, and a registration is refreshed `interval + 3` seconds before it
    /// expires, so this is also the worst delay before a new handle registers.
    pub timer_interval_secs: u32,
    /// After a failed REGISTER (no answer, 401/403, 5xx…) the record is tried again after
    /// this long. Never 0: uac_reg would disable the record for good after one failure.
    pub retry_interval_secs: u32,
    /// How long a REGISTER may wait for a final answer before it counts as unanswered.
    pub register_timeout: Duration,
    /// Registrations the node is sized for (sets the hash tables' size).
    pub expected_records: u32,
}

impl Default for RegistrationTimers {
    fn default() -> Self {
        RegistrationTimers {
            timer_interval_secs: 2,
            retry_interval_secs: 30,
            register_timeout: Duration::from_secs(5),
            expected_records: 10_000,
        }
    }
}

impl RegistrationTimers {
    pub fn register_timeout_ms(&self) -> u128 {
        self.register_timeout.as_millis()
    }

    /// uac_reg and htable size their tables as 2^n slots; aim at a few records per slot.
    pub fn hash_size_exponent(&self) -> u32 {
        let slots = (self.expected_records / 4).max(16);
        slots
            .checked_next_power_of_two()
            .map_or(16, u32::trailing_zeros)
            .clamp(4, 16)
    }

    /// How long the gateway keeps an answer whose code changed in the small `uacrecent` table
    /// (see `registrations.cfg`), i.e. the longest Teamline may go between two quick passes
    /// without missing one (a full pass reads every record anyway).
    pub fn recent_answers_secs(&self) -> u32 {
        RECENT_ANSWERS_SECS
    }

    /// A REGISTER's Call-ID is remembered long enough for its last retransmission's answer.
    pub fn callid_memory_secs(&self) -> u64 {
        (self.register_timeout.as_secs() + 60).max(120)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warning,
    Notice,
    Info,
    Debug,
}

impl LogLevel {
    /// Kamailio's numeric `debug` level.
    pub fn kamailio_level(self) -> i8 {
        match self {
            LogLevel::Error => -1,
            LogLevel::Warning => 0,
            LogLevel::Notice => 1,
            LogLevel::Info => 2,
            LogLevel::Debug => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    pub level: LogLevel,
    /// Log to stderr (the supervisor and systemd's journal) instead of syslog.
    pub stderr: bool,
    pub syslog_facility: String,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            level: LogLevel::Notice,
            stderr: true,
            syslog_facility: "LOG_LOCAL0".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processes {
    /// SIP worker processes per UDP listener.
    pub udp_workers: u16,
    /// Worker processes for TCP (the JSON-RPC listener is served by these).
    pub tcp_workers: u16,
}

impl Default for Processes {
    fn default() -> Self {
        Processes {
            udp_workers: 4,
            tcp_workers: 2,
        }
    }
}

/// Why settings cannot be rendered. Each names the setting and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "the gateway's JSON-RPC listener {addr} is not a loopback or private address: it hands out SIP passwords, so bind it to 127.0.0.1 (Teamline on the same host) or to an address of the private network between Teamline and the gateway"
    )]
    PublicRpcAddress { addr: IpAddr },
    #[error("the gateway needs at least one SIP listener (e.g. udp:203.0.113.10:5060)")]
    NoSipListener,
    #[error("the gateway's {setting} is invalid: {problem}")]
    Invalid {
        setting: &'static str,
        problem: String,
    },
    #[error("rendering the gateway's Kamailio configuration failed: {0}")]
    Template(#[from] askama::Error),
    #[error("writing the gateway's configuration to {path} failed: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl GatewaySettings {
    /// Settings for one node listening for SIP on `sip` and for RPC on `rpc`, with defaults for
    /// everything else.
    pub fn new(
        node_name: impl Into<String>,
        sip: Listener,
        rpc: RpcListener,
        config_dir: impl Into<PathBuf>,
    ) -> Self {
        GatewaySettings {
            node_name: node_name.into(),
            sip_listeners: vec![sip],
            contact_address: None,
            rpc,
            registrations: RegistrationTimers::default(),
            logging: Logging::default(),
            processes: Processes::default(),
            direct_routing: None,
            config_dir: config_dir.into(),
            module_dir: PathBuf::from(DEFAULT_MODULE_DIR),
        }
    }

    /// The directory of the (empty) uacreg db_text table.
    pub fn db_dir(&self) -> PathBuf {
        self.config_dir.join("uacreg-db")
    }

    /// The path of the rendered `kamailio.cfg`.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("kamailio.cfg")
    }

    /// `host:port` for the Contact of every registration.
    pub fn contact_address(&self) -> String {
        match (&self.contact_address, self.sip_listeners.first()) {
            (Some(a), _) => a.clone(),
            (None, Some(l)) => l.host_port(),
            (None, None) => String::new(),
        }
    }

    /// Checks the settings as Kamailio and the security rules need them.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !listen::is_private_or_loopback(self.rpc.addr) {
            return Err(ConfigError::PublicRpcAddress {
                addr: self.rpc.addr,
            });
        }
        if self.sip_listeners.is_empty() {
            return Err(ConfigError::NoSipListener);
        }
        if self
            .sip_listeners
            .iter()
            .any(|l| l.addr == self.rpc.addr && l.port == self.rpc.port)
        {
            return Err(ConfigError::Invalid {
                setting: "RPC listener",
                problem: format!(
                    "{} is also a SIP listener: give the RPC listener its own port",
                    self.rpc.socket()
                ),
            });
        }
        let t = &self.registrations;
        if t.timer_interval_secs == 0 {
            return Err(ConfigError::Invalid {
                setting: "registration timer interval",
                problem: "must be at least 1 second".to_owned(),
            });
        }
        if t.retry_interval_secs == 0 {
            return Err(ConfigError::Invalid {
                setting: "registration retry interval",
                problem: "must be at least 1 second (0 would stop retrying a handle after its first failure)".to_owned(),
            });
        }
        // uac_reg sends a new REGISTER for a record whose REGISTER has been in flight for
        // longer than the retry interval: with a retry interval not above the timeout, an
        // unanswered record is re-sent before it times out and never shows as failed.
        if u128::from(t.retry_interval_secs) * 1000 < t.register_timeout_ms() + 1000 {
            return Err(ConfigError::Invalid {
                setting: "registration retry interval",
                problem: format!(
                    "must be at least 1 s longer than the REGISTER timeout ({} ms)",
                    t.register_timeout_ms()
                ),
            });
        }
        if t.register_timeout < Duration::from_millis(500) {
            return Err(ConfigError::Invalid {
                setting: "REGISTER timeout",
                problem: "must be at least 500 ms".to_owned(),
            });
        }
        if let Some(dr) = &self.direct_routing {
            dr.validate()?;
            if self
                .sip_listeners
                .iter()
                .any(|l| l.port == dr.tls.port && l.addr == dr.tls.addr)
            {
                return Err(ConfigError::Invalid {
                    setting: "TLS listener",
                    problem: format!("{} is also a SIP listener", dr.tls.socket()),
                });
            }
        }
        if let Some(token) = &self.rpc.token
            && !token
                .expose_secret()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(ConfigError::Invalid {
                setting: "RPC token",
                problem: "use letters, digits, '-', '_' and '.' only".to_owned(),
            });
        }
        Ok(())
    }

    /// Renders every file of the node's configuration.
    pub fn render(&self) -> Result<RenderedConfig, ConfigError> {
        self.validate()?;
        let cfg = KamailioCfg {
            s: self,
            sbc_product: SBC_PRODUCT,
            allow: ALLOW,
            test_call_user: crate::calls::test_call::CALLER_USER,
            test_call_proxy: crate::calls::test_call::PROXY_LABEL,
            test_call_prefix: crate::calls::test_call::CALL_ID_PREFIX,
            media: MediaFlags::default(),
            tls_socket_name: TLS_SOCKET_NAME,
        }
        .render()?;
        let mut files = vec![
            (PathBuf::from("kamailio.cfg"), cfg),
            (PathBuf::from("uacreg-db/uacreg"), uacreg_table()),
            (PathBuf::from("uacreg-db/version"), version_table()),
        ];
        if self.direct_routing.is_some() {
            files.push((PathBuf::from("tls.cfg"), TlsCfg { s: self }.render()?));
            files.push((
                PathBuf::from("dispatcher.list"),
                DispatcherList { s: self }.render()?,
            ));
        }
        Ok(RenderedConfig { files })
    }

    /// Renders and writes the configuration into `config_dir` (created if missing).
    pub fn write(&self) -> Result<RenderedConfig, ConfigError> {
        let rendered = self.render()?;
        rendered.write_to(&self.config_dir)?;
        Ok(rendered)
    }
}

/// The rendered files, by path relative to the configuration directory.
pub struct RenderedConfig {
    pub files: Vec<(PathBuf, String)>,
}

impl fmt::Debug for RenderedConfig {
    // The config may hold the RPC token: list the files, not their contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedConfig")
            .field(
                "files",
                &self.files.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl RenderedConfig {
    pub fn file(&self, name: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(p, _)| p == Path::new(name))
            .map(|(_, c)| c.as_str())
    }

    pub fn write_to(&self, dir: &Path) -> Result<(), ConfigError> {
        for (rel, content) in &self.files {
            let path = dir.join(rel);
            let write = || -> std::io::Result<()> {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, content)?;
                restrict_to_owner(&path)
            };
            write().map_err(|source| ConfigError::Write {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[derive(Template)]
#[template(path = "kamailio.cfg", escape = "none")]
struct KamailioCfg<'a> {
    s: &'a GatewaySettings,
    sbc_product: &'static str,
    allow: &'static str,
    test_call_user: &'static str,
    test_call_proxy: &'static str,
    test_call_prefix: &'static str,
    media: MediaFlags,
    tls_socket_name: &'static str,
}

/// The name of the TLS listener toward Microsoft, which the Record-Route toward Microsoft
/// carries (`sn`) so that requests within a call leave from it.
const TLS_SOCKET_NAME: &str = "microsoft";

#[derive(Template)]
#[template(path = "kamailio/tls.cfg", escape = "none")]
struct TlsCfg<'a> {
    s: &'a GatewaySettings,
}

#[derive(Template)]
#[template(path = "kamailio/dispatcher.list", escape = "none")]
struct DispatcherList<'a> {
    s: &'a GatewaySettings,
}

/// rtpengine's flags for each direction of an SDP exchange. Toward Microsoft: SRTP with SDES
/// keys (`RTP/SAVP` + `a=crypto`), ICE candidates, RTCP multiplexed when offered; toward the
/// PBX: plain RTP, no ICE, RTCP on its own port. Codecs pass through untouched.
pub struct MediaFlags {
    pub to_teams_offer: &'static str,
    pub to_teams_answer: &'static str,
    pub to_pbx_offer: &'static str,
    pub to_pbx_answer: &'static str,
}

impl Default for MediaFlags {
    fn default() -> Self {
        MediaFlags {
            to_teams_offer: concat!(
                "replace-origin replace-session-connection",
                " ICE=force DTLS=off RTP/SAVP rtcp-mux-offer SDES-no-AES_CM_128_HMAC_SHA1_32",
                " SDES-no-F8_128_HMAC_SHA1_80 SDES-no-F8_128_HMAC_SHA1_32",
                " SDES-no-NULL_HMAC_SHA1_80 SDES-no-NULL_HMAC_SHA1_32",
                " SDES-no-AES_192_CM_HMAC_SHA1_80 SDES-no-AES_192_CM_HMAC_SHA1_32",
                " SDES-no-AES_256_CM_HMAC_SHA1_80 SDES-no-AES_256_CM_HMAC_SHA1_32",
                " SDES-no-AEAD_AES_128_GCM SDES-no-AEAD_AES_256_GCM"
            ),
            to_teams_answer: concat!(
                "replace-origin replace-session-connection",
                " ICE=force DTLS=off RTP/SAVP rtcp-mux-accept"
            ),
            to_pbx_offer: concat!(
                "replace-origin replace-session-connection",
                " ICE=remove RTP/AVP rtcp-mux-demux"
            ),
            to_pbx_answer: concat!(
                "replace-origin replace-session-connection",
                " ICE=remove RTP/AVP rtcp-mux-demux"
            ),
        }
    }
}

impl RpcListener {
    /// The token as it must appear in the config's header check (validated to be plain).
    pub fn token_for_config(&self) -> &str {
        self.token.as_ref().map_or("", |t| t.expose_secret())
    }
}

fn uacreg_table() -> String {
    // db_text's header line: the columns uac_reg 5.6 reads, in its order of the schema.
    "id(int,auto) l_uuid(string) l_username(string) l_domain(string) r_username(string) \
     r_domain(string) realm(string) auth_username(string) auth_password(string) \
     auth_ha1(string) auth_proxy(string) expires(int) flags(int) reg_delay(int) \
     contact_addr(string) socket(string)\n"
        .to_owned()
}

fn version_table() -> String {
    format!("id(int,auto) table_name(string) table_version(int)\n0:uacreg:{UACREG_TABLE_VERSION}\n")
}

/// A secret for the RPC token, e.g. from Teamline's settings.
pub fn rpc_token(token: &str) -> SecretString {
    SecretString::from(token.to_owned())
}

#[cfg(test)]
mod tests;
