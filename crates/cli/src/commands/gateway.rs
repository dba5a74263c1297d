//! `teamline gateway`: the SIP gateway from the command line. `status` lists every device
//! handle's registration as the gateway last reported it (read from the store, so it works
//! next to a running server and never asks Kamailio for its records), and how fresh that is
//! (whether a Teamline instance drives the gateway now, from the gateway lease); `config` renders the gateway node's Kamailio configuration for
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
use teamline_engine::sip_trace::{DEFAULT_SIP_TRACE_DAYS, SipTraceRecorder};
use teamline_engine::test_call::TestCaller;
use teamline_gateway::config::{DirectRouting, GatewaySettings, Listener, RpcListener, Transport};
use teamline_gateway::dns::{DnsSettings, PbxResolver};
use teamline_gateway::media::MediaClient;
use teamline_gateway::rpc::RpcClient;
use teamline_gateway::service::RegistrationService;
use teamline_store::{Lease, RegistrationRecord};

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
        /// One JSON object per handle and line (JSON Lines): device, enterprise, state,
        /// since, target, expires_at, last_error, observed_at, as_of, fresh (see the README).
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

    /// Days the SIP messages of calls (their ladder diagrams) are kept (with a `sip_trace`
    /// listener in the Direct Routing settings); older ones are deleted hourly.
    #[arg(long, env = "TEAMLINE_SIP_TRACE_DAYS", default_value_t = DEFAULT_SIP_TRACE_DAYS)]
    pub sip_trace_days: u32,

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

    /// The recorder of the calls' SIP messages, when the gateway carries calls and its Direct
    /// Routing settings name a `sip_trace` listener, and `--gateway-rpc` says Teamline drives
    /// it.
    pub fn trace_recorder(&self, engine: &Engine) -> anyhow::Result<Option<SipTraceRecorder>> {
        if self.gateway_rpc.is_none() {
            return Ok(None);
        }
        let settings = self.settings(PathBuf::new())?;
        let (Some(listen), Some(sides)) = (
            settings.direct_routing.as_ref().and_then(|d| d.sip_trace),
            settings.trace_sides(),
        ) else {
            return Ok(None);
        };
        Ok(Some(SipTraceRecorder::new(
            engine.clone(),
            listen,
            sides,
            self.sip_trace_days,
        )))
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
    let now_ms = store.clock().now_ms();
    let freshness = Freshness::of(store.lease(teamline_engine::gateway::LEASE).await?, now_ms);
    for r in &records {
        if json {
            println!(
                "{}",
                serde_json::to_string(&status_json(r, &slug_of(r.enterprise_id), &freshness))?
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
    if !json {
        println!("{}", freshness.describe(now_ms));
    }
    Ok(())
}

/// How fresh the stored states are. The instance that drives the gateway holds its lease and
/// renews it every tick, recording every change a tick finds: while the lease runs, the states
/// are current to within a tick. Once it lapsed, they are as of its end at the latest.
struct Freshness {
    /// The instance driving the gateway now.
    driver: Option<String>,
    /// Until when the states are known to hold (Unix ms): now while driven, else when the
    /// lease ran out (`None`: never driven).
    as_of_ms: Option<i64>,
}

impl Freshness {
    fn of(lease: Option<Lease>, now_ms: i64) -> Self {
        match lease {
            Some(l) if l.until_ms > now_ms => Freshness {
                driver: Some(l.holder),
                as_of_ms: Some(now_ms),
            },
            Some(l) => Freshness {
                driver: None,
                as_of_ms: Some(l.until_ms),
            },
            None => Freshness {
                driver: None,
                as_of_ms: None,
            },
        }
    }

    fn describe(&self, now_ms: i64) -> String {
        match (&self.driver, self.as_of_ms) {
            (Some(holder), _) => format!(
                "Current: Teamline instance {holder} drives the gateway and records every change within a tick."
            ),
            (None, Some(ms)) => format!(
                "Possibly out of date: no Teamline instance has driven the gateway for {} (start `teamline serve --gateway-rpc …`).",
                age(now_ms - ms)
            ),
            (None, None) => "Possibly out of date: no Teamline instance has driven the gateway yet (start `teamline serve --gateway-rpc …`).".to_owned(),
        }
    }
}

/// "42 s", "17 min", "3 h 05 min", "2 d 4 h".
fn age(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// One handle in `teamline gateway status --json` (documented in the README; fields are only
/// ever added). Times in Unix seconds.
fn status_json(r: &RegistrationRecord, enterprise: &str, fresh: &Freshness) -> serde_json::Value {
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
        // The state held at least until `as_of` (the later of it and `observed_at`);
        // `fresh`: a Teamline instance drives the gateway now, so it is current to a tick.
        "as_of": secs(fresh.as_of_ms).map_or(r.observed_ms / 1000, |a| a.max(r.observed_ms / 1000)),
        "fresh": fresh.driver.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(until_ms: i64) -> Option<Lease> {
        Some(Lease {
            name: teamline_engine::gateway::LEASE.into(),
            holder: "node-a".into(),
            until_ms,
        })
    }

    #[test]
    fn states_are_current_while_an_instance_holds_the_gateway_lease() {
        let f = Freshness::of(lease(10_000), 5_000);
        assert_eq!(f.driver.as_deref(), Some("node-a"));
        assert_eq!(f.as_of_ms, Some(5_000));
        assert!(
            f.describe(5_000)
                .starts_with("Current: Teamline instance node-a")
        );
    }

    #[test]
    fn states_are_as_of_the_lapsed_lease_when_nobody_drives_the_gateway() {
        let f = Freshness::of(lease(10_000), 10_000 + 3 * 3_600_000 + 5 * 60_000);
        assert_eq!(f.driver, None);
        assert_eq!(f.as_of_ms, Some(10_000));
        let text = f.describe(10_000 + 3 * 3_600_000 + 5 * 60_000);
        assert!(text.contains("for 3 h 05 min"), "{text}");
        let never = Freshness::of(None, 1);
        assert_eq!(never.as_of_ms, None);
        assert!(never.describe(1).contains("yet"));
    }

    #[test]
    fn the_json_shape_says_how_fresh_each_state_is() {
        let r = RegistrationRecord {
            enterprise_id: teamline_domain::ids::EnterpriseId(1),
            pbx_user_id: teamline_domain::ids::PbxUserId(7),
            device: teamline_domain::device::DeviceAuthId::parse("1000tm").unwrap(),
            registration: "1000tm-abc".into(),
            state: teamline_domain::registration::RegistrationStatus::Registered,
            since_ms: Some(1_000_000),
            target: Some("192.0.2.1:5060".into()),
            expires_ms: Some(1_600_000),
            last_error: None,
            observed_ms: 1_200_000,
        };
        let now = 2_000_000;
        let v = status_json(&r, "contoso", &Freshness::of(lease(now + 10_000), now));
        assert_eq!(
            v,
            serde_json::json!({
                "device": "1000tm", "enterprise": "contoso", "state": "registered",
                "since": 1000, "target": "192.0.2.1:5060", "expires_at": 1600,
                "last_error": null, "observed_at": 1200, "as_of": 2000, "fresh": true,
            })
        );
        let stale = status_json(&r, "contoso", &Freshness::of(lease(1_500_000), now));
        assert_eq!(
            (stale["as_of"].clone(), stale["fresh"].clone()),
            (1500.into(), false.into())
        );
    }
}
