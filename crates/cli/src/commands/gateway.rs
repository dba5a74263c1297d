//! `teamline gateway`: the SIP gateway from the command line. `status` lists every device
//! handle's registration as the gateway last reported it (read from the store, so it works
//! next to a running server); `config` renders the gateway node's Kamailio configuration for
//! systemd to run. [`GatewayArgs`] are also `serve`'s options for reaching the gateway.

use super::direct_routing::DirectRoutingFile;
use crate::config::{StoreArgs, open_store_beside_server};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use teamline_engine::Engine;
use teamline_engine::calls::{CallRecorder, DEFAULT_RETENTION_DAYS};
use teamline_engine::gateway::GatewaySync;
use teamline_engine::test_call::TestCaller;
use teamline_gateway::config::{DirectRouting, GatewaySettings, Listener, RpcListener, Transport};
use teamline_gateway::dns::{DnsSettings, PbxResolver};
use teamline_gateway::media::MediaClient;
use teamline_gateway::rpc::RpcClient;
use teamline_gateway::service::RegistrationService;
use teamline_store::RegistrationRecord;

#[derive(Args, Debug, Clone)]
pub struct GatewayCommandArgs {
    #[command(subcommand)]
    pub command: GatewayCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum GatewayCommand {
    /// Every device handle's registration to the PBX as the gateway last reported it.
    Status {
        #[command(flatten)]
        store: StoreArgs,
        /// Only this enterprise (its short name, e.g. contoso).
        #[arg(long)]
        enterprise: Option<String>,
        /// One JSON object per line: device, enterprise, state, since, target, last_error.
        #[arg(long)]
        json: bool,
    },
    /// Write the gateway node's Kamailio configuration (kamailio.cfg and its empty uacreg
    /// table; with --direct-routing also the calls with Microsoft: TLS, dispatcher's list of
    /// Microsoft's proxies, rtpengine, call events) into a directory, for systemd's kamailio
    /// to run.
    Config {
        /// The directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        gateway: GatewayArgs,
    },
}

/// Where the gateway node listens, and how Teamline reaches it.
#[derive(Args, Debug, Clone)]
pub struct GatewayArgs {
    /// The gateway's JSON-RPC listener (loopback or a private address: it carries SIP
    /// passwords). `serve` drives the gateway only when this is set.
    #[arg(long, env = "TEAMLINE_GATEWAY_RPC")]
    pub gateway_rpc: Option<SocketAddr>,

    /// A bearer token the RPC listener requires (recommended on a shared private network).
    #[arg(long, env = "TEAMLINE_GATEWAY_RPC_TOKEN", hide_env_values = true)]
    pub gateway_rpc_token: Option<String>,

    /// The gateway's SIP listener: udp:ADDRESS:PORT or tcp:ADDRESS:PORT.
    #[arg(
        long,
        env = "TEAMLINE_GATEWAY_SIP",
        default_value = "udp:127.0.0.1:5060"
    )]
    pub gateway_sip: String,

    /// Nameservers for the PBX proxies' SRV/A lookups (default: the system's).
    #[arg(long, env = "TEAMLINE_GATEWAY_DNS", value_delimiter = ',')]
    pub gateway_dns: Vec<SocketAddr>,

    /// The Microsoft side of the gateway (calls through Direct Routing): a JSON file with the
    /// TLS listener, the CA bundle, and per SBC region its base FQDN, certificate, key and
    /// Microsoft's proxies (see `teamline gateway config --help` and the README). Without it
    /// the gateway only registers device handles.
    #[arg(long, env = "TEAMLINE_DIRECT_ROUTING")]
    pub direct_routing: Option<PathBuf>,

    /// Days call records are kept (with --direct-routing).
    #[arg(long, env = "TEAMLINE_CALL_RETENTION_DAYS", default_value_t = DEFAULT_RETENTION_DAYS)]
    pub call_retention_days: u32,

    /// Seconds between two reconcile passes of the gateway.
    #[arg(long, env = "TEAMLINE_GATEWAY_INTERVAL_SECS", default_value_t = 2)]
    pub gateway_interval_secs: u64,
}

impl GatewayArgs {
    fn rpc_listener(&self) -> anyhow::Result<RpcListener> {
        let addr = self
            .gateway_rpc
            .context("set --gateway-rpc (TEAMLINE_GATEWAY_RPC) to the gateway's JSON-RPC address, e.g. 127.0.0.1:5064")?;
        Ok(RpcListener {
            addr: addr.ip(),
            port: addr.port(),
            token: self.gateway_rpc_token.clone().map(SecretString::from),
        })
    }

    fn sip_listener(&self) -> anyhow::Result<Listener> {
        let bad = || {
            anyhow::anyhow!(
                "--gateway-sip must be udp:ADDRESS:PORT or tcp:ADDRESS:PORT (got {})",
                self.gateway_sip
            )
        };
        let (transport, rest) = self.gateway_sip.split_once(':').ok_or_else(bad)?;
        let addr: SocketAddr = rest.parse().map_err(|_| bad())?;
        let mut l = Listener::udp(addr.ip(), addr.port());
        l.transport = match transport {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            _ => return Err(bad()),
        };
        Ok(l)
    }

    /// The gateway node's settings, its files under `config_dir`.
    pub fn settings(&self, config_dir: PathBuf) -> anyhow::Result<GatewaySettings> {
        let mut settings = GatewaySettings::new(
            "teamline-gateway",
            self.sip_listener()?,
            self.rpc_listener()?,
            config_dir,
        );
        settings.direct_routing = self.direct_routing()?;
        Ok(settings)
    }

    /// The Microsoft side, when `--direct-routing` names its settings.
    pub fn direct_routing(&self) -> anyhow::Result<Option<DirectRouting>> {
        self.direct_routing
            .as_deref()
            .map(DirectRoutingFile::load)
            .transpose()
    }

    /// The loop that drives the gateway from the store, when `--gateway-rpc` is set.
    pub fn sync(&self, engine: &Engine, holder: &str) -> anyhow::Result<Option<Arc<GatewaySync>>> {
        if self.gateway_rpc.is_none() {
            return Ok(None);
        }
        let rpc = RpcClient::new(&self.rpc_listener()?)?;
        let resolver = PbxResolver::new(&DnsSettings {
            nameservers: self.gateway_dns.clone(),
            max_cache: None,
        })?;
        let interval = self.interval();
        let mut sync = GatewaySync::new(
            engine.clone(),
            Arc::new(RegistrationService::new(rpc, resolver)),
            holder,
            interval * 5,
        );
        // Caller settings live in htables only a calling node's configuration declares.
        if let Some(dr) = self.direct_routing()? {
            sync.set_push_call_settings(true);
            sync.set_direct_routing(dr);
            // A node that carries calls can place test calls (the user's page).
            engine.set_test_caller(TestCaller::new(
                RpcClient::new(&self.rpc_listener()?)?,
                self.sip_listener()?,
            ));
        }
        Ok(Some(Arc::new(sync)))
    }

    /// The recorder of the gateway's calls, when it carries calls (`--direct-routing`) and
    /// `--gateway-rpc` says Teamline drives it.
    pub fn recorder(&self, engine: &Engine) -> anyhow::Result<Option<CallRecorder>> {
        if self.gateway_rpc.is_none() {
            return Ok(None);
        }
        Ok(self.direct_routing()?.map(|dr| {
            CallRecorder::new(engine.clone(), dr.events.listen, self.call_retention_days)
                .with_media(MediaClient::new(dr.media.ng))
        }))
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.gateway_interval_secs.max(1))
    }
}

pub async fn run(args: GatewayCommandArgs) -> anyhow::Result<()> {
    match args.command {
        GatewayCommand::Status {
            store,
            enterprise,
            json,
        } => status(&store, enterprise.as_deref(), json).await,
        GatewayCommand::Config { out, gateway } => {
            let settings = gateway.settings(out.clone())?;
            let rendered = settings.render()?;
            rendered.write_to(&out)?;
            println!(
                "Wrote the gateway's Kamailio configuration to {} (run: kamailio -DD -E -f {})",
                out.display(),
                settings.config_file().display()
            );
            Ok(())
        }
    }
}

async fn status(
    store_args: &StoreArgs,
    enterprise: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let opened = open_store_beside_server(store_args).await?;
    let store = opened.store.clone();
    let filter = match enterprise {
        Some(slug) => Some(
            store
                .enterprise_by_slug(slug)
                .await?
                .with_context(|| format!("there is no enterprise '{slug}'"))?,
        ),
        None => None,
    };
    let enterprises = store.list_enterprises(None).await?;
    let slug_of = |id| {
        enterprises
            .iter()
            .find(|e| e.id == id)
            .map_or_else(|| id.to_string(), |e| e.slug.to_string())
    };
    let records = store
        .list_registrations(filter.as_ref().map(|e| e.id), None)
        .await?;
    if records.is_empty() && !json {
        bail!(
            "no device handle has a registration state yet: the gateway records them once `teamline serve --gateway-rpc …` (or the demo) drives it"
        );
    }
    for r in &records {
        if json {
            println!(
                "{}",
                serde_json::to_string(&status_json(r, &slug_of(r.enterprise_id)))?
            );
        } else {
            println!(
                "{:<12} {:<10} {:<22} {}",
                r.device,
                slug_of(r.enterprise_id),
                r.state.label(),
                r.last_error
                    .clone()
                    .or_else(|| r.target.clone())
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// One handle in `teamline gateway status --json`; times in Unix seconds.
fn status_json(r: &RegistrationRecord, enterprise: &str) -> serde_json::Value {
    let secs = |ms: Option<i64>| ms.map(|m| m / 1000);
    serde_json::json!({
        "device": r.device.to_string(),
        "enterprise": enterprise,
        "state": r.state.as_str(),
        "since": secs(r.since_ms),
        "target": r.target,
        "expires_at": secs(r.expires_ms),
        "last_error": r.last_error,
        "observed_at": r.observed_ms / 1000,
    })
}
