//! The demo's SIP plane: the simulated PBX's SIP core (a Kamailio registrar from `sim`, with
//! the simulated devices' passwords), the gateway's Kamailio (supervised), and the loop that
//! drives the gateway from the demo's store. Contoso's PBX location is pointed at the
//! registrar, so a handle whose user is set up registers there within seconds.
//!
//! When rtpengine is installed the gateway also carries calls: the demo writes Direct Routing
//! settings with a self-signed certificate per SBC region (`sip/direct-routing/`), starts
//! rtpengine, and the gateway listens for Microsoft on a loopback TLS port. The demo has no
//! Microsoft to call: its proxies are pinned to a closed loopback port and show as down.

use super::direct_routing::{DEMO_ADDR, DirectRoutingFile, demo_files};
use super::gateway::GatewayArgs;
use anyhow::Context;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use teamline_domain::audit::Actor;
use teamline_domain::pbx_location::PbxLocationForm;
use teamline_engine::gateway::GatewaySync;
use teamline_gateway::config::{DEFAULT_MODULE_DIR, MICROSOFT_PROXIES};
use teamline_gateway::media::process::{Rtpengine, RtpengineSettings};
use teamline_gateway::supervisor::{Supervisor, SupervisorSettings};
use teamline_sim::netsapiens::registrar::Registrar;
use teamline_testkit::TestApp;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The demo's running SIP plane; [`DemoSip::stop`] ends it.
pub struct DemoSip {
    pub registrar: Registrar,
    pub gateway_rpc: SocketAddr,
    /// The Direct Routing settings file, when the gateway carries calls.
    pub direct_routing: Option<PathBuf>,
    media: Option<Rtpengine>,
    supervisor: Supervisor,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// A loopback port free on both UDP and TCP a moment ago.
fn free_port() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = tcp.local_addr()?.port();
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no free loopback port for the demo's SIP gateway")
}

impl DemoSip {
    /// Starts the registrar and the gateway under `dir` and points Contoso's PBX location at
    /// the registrar.
    pub async fn start(app: &TestApp, dir: &Path) -> anyhow::Result<DemoSip> {
        let registrar_sip = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let registrar = Registrar::start(
            app.pbx.sim().clone(),
            registrar_sip,
            free_port()?,
            &dir.join("registrar"),
        )
        .await
        .context("the simulated PBX's SIP registrar (Kamailio) did not start")?;

        let media = start_media(dir).await;
        let direct_routing = match &media {
            Some(rtpe) => Some(demo_direct_routing(app, dir, rtpe.client().addr()).await?),
            None => None,
        };
        let gateway_rpc = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let args = GatewayArgs {
            gateway_rpc: Some(gateway_rpc),
            gateway_rpc_token: None,
            gateway_sip: format!("udp:127.0.0.1:{}", free_port()?),
            gateway_dns: Vec::new(),
            direct_routing: direct_routing.clone(),
            call_retention_days: teamline_engine::calls::DEFAULT_RETENTION_DAYS,
            sip_trace_days: teamline_engine::sip_trace::DEFAULT_SIP_TRACE_DAYS,
            gateway_interval_secs: 1,
        };
        let mut settings = args.settings(dir.join("gateway"))?;
        settings.registrations.timer_interval_secs = 1;
        let supervisor =
            Supervisor::start(&settings, SupervisorSettings::new(dir.join("gateway-run")))
                .await
                .context("the SIP gateway's Kamailio did not start")?;

        point_pbx_at(app, registrar_sip).await?;

        let sync: Arc<GatewaySync> = args
            .sync(&app.engine, "demo")?
            .context("the demo's gateway has an RPC address")?;
        let (stop, rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(sync.run(args.interval(), rx.clone()))];
        if let Some(recorder) = args.recorder(&app.engine)? {
            tasks.push(tokio::spawn(recorder.run(rx.clone())));
        }
        if let Some(trace) = args.trace_recorder(&app.engine)? {
            tasks.push(tokio::spawn(async move {
                match trace.listen().await {
                    Ok(t) => t.run(rx).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "the demo keeps no SIP ladders of calls");
                    }
                }
            }));
        }
        Ok(DemoSip {
            registrar,
            gateway_rpc,
            direct_routing,
            media,
            supervisor,
            stop,
            tasks,
        })
    }

    /// The gateway's Kamailio, as its supervisor runs it.
    pub fn gateway(&self) -> &Supervisor {
        &self.supervisor
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.supervisor.stop().await;
        if let Some(m) = self.media {
            m.stop().await;
        }
        self.registrar.stop().await;
    }
}

/// rtpengine for the demo's calls, or `None` (with a warning) when it cannot run here.
async fn start_media(dir: &Path) -> Option<Rtpengine> {
    if !Path::new(DEFAULT_MODULE_DIR).join("tls.so").is_file() {
        eprintln!(
            "Calls through the gateway are off: Kamailio's TLS module is missing (`sudo apt-get install kamailio-tls-modules rtpengine-daemon` adds it)."
        );
        return None;
    }
    let port = free_port().ok()?;
    // Media ports: a block of 100 away from the ephemeral range's busiest part.
    let base = 20000 + (port % 20000) / 100 * 100;
    let settings = RtpengineSettings {
        bin: PathBuf::from("rtpengine"),
        interface: DEMO_ADDR,
        ng: SocketAddr::new(DEMO_ADDR, port),
        ports: (base, base + 99),
        delete_delay_secs: 30,
        threads: 2,
        log: dir.join("rtpengine.log"),
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        tracing::warn!(error = %e, "the demo's directory for rtpengine cannot be made: calls are off");
        return None;
    }
    match Rtpengine::start(&settings).await {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!(
                "Calls through the gateway are off: {e} (`sudo apt-get install rtpengine-daemon` adds it)."
            );
            None
        }
    }
}

/// Writes the demo's Direct Routing settings: one self-signed certificate per SBC region of
/// the demo's store, Microsoft's proxies pinned to a closed loopback port.
async fn demo_direct_routing(
    app: &TestApp,
    dir: &Path,
    rtpengine: SocketAddr,
) -> anyhow::Result<PathBuf> {
    let regions: Vec<(String, String)> = app
        .store
        .list_sbc_regions()
        .await?
        .into_iter()
        .map(|r| (r.name.to_string(), r.gateway_fqdn.to_string()))
        .collect();
    let nowhere = SocketAddr::new(DEMO_ADDR, free_port()?);
    let path = demo_files(
        &dir.join("direct-routing"),
        &regions,
        SocketAddr::new(DEMO_ADDR, free_port()?),
        rtpengine,
        SocketAddr::new(DEMO_ADDR, free_port()?),
    )?;
    // No Microsoft here: OPTIONS go to a closed loopback port, not to the internet.
    let mut file: DirectRoutingFile = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    file.sip_trace = Some(SocketAddr::new(DEMO_ADDR, free_port()?));
    for r in &mut file.regions {
        r.proxies = MICROSOFT_PROXIES
            .iter()
            .map(|p| format!("{p}={nowhere}"))
            .collect();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&file)?)?;
    Ok(path)
}

/// Contoso's PBX location registers to `registrar` (an A lookup of an address: no DNS): the
/// change an admin makes on the PBX page when the PBX moves.
pub async fn point_pbx_at(app: &TestApp, registrar: SocketAddr) -> anyhow::Result<()> {
    let e = app.contoso.id;
    let locations = app.store.list_pbx_locations(e).await?;
    let Some(l) = locations.into_iter().next() else {
        anyhow::bail!("the demo's Contoso has no PBX location");
    };
    let s = &l.settings;
    if s.proxy.to_string() == registrar.to_string() {
        return Ok(());
    }
    let form = PbxLocationForm {
        dns_lookup: "a".into(),
        proxy: registrar.to_string(),
        ..PbxLocationForm::of(s)
    };
    app.engine
        .update_pbx_location(e, &Actor::System("teamline demo".into()), l.id, &form)
        .await
        .map_err(|err| {
            anyhow::anyhow!("cannot point the PBX location at the registrar: {err:?}")
        })?;
    Ok(())
}
