//! The demo's SIP plane: the simulated PBX's SIP core (a Kamailio registrar from `sim`, with
//! the simulated devices' passwords), the gateway's Kamailio (supervised), and the loop that
//! drives the gateway from the demo's store. Contoso's PBX location is pointed at the
//! registrar, so a handle whose user is set up registers there within seconds.

use super::gateway::GatewayArgs;
use anyhow::Context;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use teamline_domain::audit::Actor;
use teamline_domain::pbx_location::PbxLocationForm;
use teamline_engine::gateway::GatewaySync;
use teamline_gateway::supervisor::{Supervisor, SupervisorSettings};
use teamline_sim::netsapiens::registrar::Registrar;
use teamline_testkit::TestApp;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The demo's running SIP plane; [`DemoSip::stop`] ends it.
pub struct DemoSip {
    pub registrar: Registrar,
    pub gateway_rpc: SocketAddr,
    supervisor: Supervisor,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
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

        let gateway_rpc = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let args = GatewayArgs {
            gateway_rpc: Some(gateway_rpc),
            gateway_rpc_token: None,
            gateway_sip: format!("udp:127.0.0.1:{}", free_port()?),
            gateway_dns: Vec::new(),
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
        let task = tokio::spawn(sync.run(args.interval(), rx));
        Ok(DemoSip {
            registrar,
            gateway_rpc,
            supervisor,
            stop,
            task,
        })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.supervisor.stop().await;
        self.registrar.stop().await;
    }
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
        name: s.name.to_string(),
        pbx_type: s.pbx_type.as_str().into(),
        dns_lookup: "a".into(),
        sip_domain: s.sip_domain.to_string(),
        proxy: registrar.to_string(),
        voicemail_code: s.voicemail_code.to_string(),
        api_base_url: s.api_base_url.as_str().into(),
        api_auth: s.api_auth_kind.as_str().into(),
        oauth_client_id: s.oauth_client_id.clone().unwrap_or_default(),
        oauth_username: s.oauth_username.clone().unwrap_or_default(),
        ..Default::default()
    };
    app.engine
        .update_pbx_location(e, &Actor::System("teamline demo".into()), l.id, &form)
        .await
        .map_err(|err| {
            anyhow::anyhow!("cannot point the PBX location at the registrar: {err:?}")
        })?;
    Ok(())
}
