use crate::demo::{DemoFacts, DemoSeed, seed_with};
use crate::{MicrosoftSimulator, TestDatabase, TestkitError, Workers, microsoft_client};
use std::future::Future;
use std::net::SocketAddr;
use teamline_domain::enterprise::Enterprise;
use teamline_domain::reseller::Reseller;
use teamline_engine::{Engine, EngineSettings};
use teamline_sim::microsoft::TenantControl;
use teamline_sim::netsapiens::{NetSapiensSim, NetSapiensSimHandle};
use teamline_store::DynStore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where a [`TestApp`] keeps its data.
pub enum DatabaseChoice {
    /// A fresh SQLite database (the default).
    Sqlite,
    /// A fresh PostgreSQL database, dropped by [`TestApp::stop`]. Feature `postgres`.
    #[cfg(feature = "postgres")]
    Postgres,
    /// A store the caller opened and keeps (e.g. `teamline demo`'s data directory).
    Store(DynStore),
}

/// Whether the directory is synced from the simulated Microsoft 365 before the portal opens
/// (so SET UP PBX USER offers Contoso's users from the first page on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstSync {
    /// Synced; a failed sync fails the start.
    Required,
    /// Synced; a failed sync is logged and the app starts anyway (the demo).
    Attempted,
    /// Not synced: the test does it, e.g. to look at the first sync itself.
    Skipped,
}

/// How a [`TestApp`] is set up. Defaults: a fresh SQLite database, the engine's default
/// settings, 4 requests at once per Microsoft tenant, the portal on a random port of
/// 127.0.0.1, the directory synced, and no job runner (tests that want jobs run say so).
pub struct TestAppBuilder {
    database: DatabaseChoice,
    settings: EngineSettings,
    tenant_concurrency: usize,
    listen: SocketAddr,
    public_url: Option<String>,
    worker: Option<String>,
    first_sync: FirstSync,
    web: teamline_web::WebOptions,
    mailer: Option<std::sync::Arc<dyn teamline_mail::Mailer>>,
    microsoft: teamline_sim::microsoft::SimConfig,
    seed: DemoSeed,
}

impl TestAppBuilder {
    /// Which demo enterprises to seed (default: Contoso and the invited Fabrikam).
    pub fn seed(mut self, seed: DemoSeed) -> Self {
        self.seed = seed;
        self
    }

    pub fn database(mut self, database: DatabaseChoice) -> Self {
        self.database = database;
        self
    }

    pub fn settings(mut self, settings: EngineSettings) -> Self {
        self.settings = settings;
        self
    }

    /// At most this many requests at once per Microsoft tenant.
    pub fn tenant_concurrency(mut self, n: usize) -> Self {
        self.tenant_concurrency = n;
        self
    }

    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The URL browsers reach the portal at, as `--public-url` sets it (default: the
    /// listening address).
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Runs the job runner (named `worker` in the jobs table) and the scheduler of periodic
    /// work, as `teamline serve` does.
    pub fn run_jobs(mut self, worker: impl Into<String>) -> Self {
        self.worker = Some(worker.into());
        self
    }

    pub fn first_sync(mut self, first_sync: FirstSync) -> Self {
        self.first_sync = first_sync;
        self
    }

    /// How the portal serves HTTP (time limits, `/metrics`), as `teamline serve`'s flags set
    /// it.
    pub fn web_options(mut self, options: teamline_web::WebOptions) -> Self {
        self.web = options;
        self
    }

    /// Sends invitations with `mailer` (e.g. to a test SMTP server) instead of keeping them in
    /// the outbox.
    pub fn mailer(mut self, mailer: std::sync::Arc<dyn teamline_mail::Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Runs the Microsoft simulator with `config` (e.g. the DNS server its domain
    /// verification asks).
    pub fn microsoft_config(mut self, config: teamline_sim::microsoft::SimConfig) -> Self {
        self.microsoft = config;
        self
    }

    pub async fn spawn(self) -> Result<TestApp, TestkitError> {
        let localhost = SocketAddr::from(([127, 0, 0, 1], 0));
        let microsoft = MicrosoftSimulator::start_with(self.microsoft).await?;
        let contoso_tenant = microsoft.sim.seed_contoso();
        microsoft.sim.seed_fabrikam();
        let pbx = NetSapiensSim::new()
            .seed_contoso()
            .seed_fabrikam()
            .spawn(localhost)
            .await?;

        let (store, database) = match self.database {
            DatabaseChoice::Store(store) => (store, None),
            DatabaseChoice::Sqlite => {
                let db = TestDatabase::sqlite()?;
                (db.open().await?, Some(db))
            }
            #[cfg(feature = "postgres")]
            DatabaseChoice::Postgres => {
                let db = TestDatabase::postgres().await;
                (db.open().await?, Some(db))
            }
        };
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let public_url = self.public_url.unwrap_or_else(|| url.clone());
        let client = microsoft_client(&microsoft.url, &public_url, self.tenant_concurrency)?;
        let engine = Engine::new(store.clone(), client, crate::pbx_connector(), self.settings);
        let outbox = invitations(&engine, &public_url, self.mailer)?;

        let demo = seed_with(&store, &DemoFacts::of_simulators(&pbx.base_url)?, self.seed).await?;
        // Before the scheduler starts: it would queue a first sync of its own.
        let synced = match self.first_sync {
            FirstSync::Skipped => Ok(()),
            FirstSync::Required | FirstSync::Attempted => engine
                .sync_directory(demo.contoso.id, false)
                .await
                .map(drop),
        };
        match (synced, self.first_sync) {
            (Err(e), FirstSync::Attempted) => {
                tracing::warn!(error = %e, "the demo's first directory sync failed");
            }
            (synced, _) => synced?,
        }

        let cancel = CancellationToken::new();
        let state = teamline_web::AppState::new(
            store.clone(),
            engine.clone(),
            teamline_web::metrics::install(),
            public_url,
        )
        .with_options(self.web);
        let server = tokio::spawn(teamline_web::serve(
            listener,
            state,
            cancel.clone().cancelled_owned(),
        ));
        let workers = self.worker.map(|worker| {
            let mut w = Workers::new().runner(&engine, &worker);
            w.add_scheduler(&engine, None);
            w
        });
        Ok(TestApp {
            url,
            store,
            engine,
            reseller: demo.reseller,
            contoso: demo.contoso,
            fabrikam: demo.fabrikam,
            seeded: demo.created,
            contoso_tenant,
            microsoft,
            pbx,
            outbox,
            cancel,
            server,
            workers,
            database,
        })
    }
}

/// The sender of the demo's and tests' invitations.
pub const INVITATION_FROM: &str = "Teamline <noreply@teamline.example>";

/// Invitations signed with a key of this run, sent with `mailer` or kept in an outbox (which is
/// returned).
fn invitations(
    engine: &Engine,
    public_url: &str,
    mailer: Option<std::sync::Arc<dyn teamline_mail::Mailer>>,
) -> Result<Option<teamline_mail::Outbox>, TestkitError> {
    use teamline_engine::onboarding::Invitations;
    use teamline_mail::invitation::InvitationKey;
    let portal = url::Url::parse(public_url)
        .map_err(|e| TestkitError::Setup(format!("the public URL {public_url}: {e}")))?;
    let key = InvitationKey::generate();
    let (config, outbox) = match mailer {
        Some(mailer) => (Invitations::new(key, mailer, portal), None),
        None => {
            let from = teamline_mail::MailAddress::parse(INVITATION_FROM)
                .map_err(|e| TestkitError::Setup(e.to_string()))?;
            let outbox = teamline_mail::Outbox::new(from);
            (
                Invitations::into_outbox(key, outbox.clone(), portal),
                Some(outbox),
            )
        }
    };
    engine.set_invitations(config);
    Ok(outbox)
}

/// Teamline with the demo data against the Microsoft and NetSapiens simulators: the engine,
/// the portal at [`TestApp::url`] and, when built with
/// [`run_jobs`](TestAppBuilder::run_jobs), the job runner and scheduler. Call
/// [`TestApp::stop`] at the end (it also drops a PostgreSQL database).
pub struct TestApp {
    /// The portal, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    pub store: DynStore,
    pub engine: Engine,
    pub reseller: Reseller,
    pub contoso: Enterprise,
    /// The invited Fabrikam, unless seeded [`DemoSeed::WithoutFabrikam`]: see
    /// [`TestApp::fabrikam`].
    fabrikam: Option<Enterprise>,
    /// False when the demo data was already in the database.
    pub seeded: bool,
    /// Contoso's simulated tenant (faults, Teams state, write counts).
    pub contoso_tenant: TenantControl,
    /// The simulated Microsoft cloud (sign-in, Graph, Teams administration).
    pub microsoft: MicrosoftSimulator,
    /// The simulated NetSapiens PBX with Contoso's and Fabrikam's domains.
    pub pbx: NetSapiensSimHandle,
    /// Where invitations are kept, unless the builder was given a mailer.
    pub outbox: Option<teamline_mail::Outbox>,
    cancel: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    workers: Option<Workers>,
    database: Option<TestDatabase>,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            database: DatabaseChoice::Sqlite,
            settings: EngineSettings::default(),
            tenant_concurrency: 4,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            worker: None,
            first_sync: FirstSync::Required,
            mailer: None,
            microsoft: Default::default(),
            web: teamline_web::WebOptions::default(),
            seed: DemoSeed::default(),
        }
    }

    /// The invited Fabrikam of the default seed.
    ///
    /// # Panics
    /// When the app was seeded [`DemoSeed::WithoutFabrikam`]: a test asking for it then is
    /// wrong, not its input.
    #[allow(clippy::expect_used)]
    pub fn fabrikam(&self) -> &Enterprise {
        self.fabrikam
            .as_ref()
            .expect("this TestApp was seeded without Fabrikam")
    }

    /// With the defaults of [`TestAppBuilder`].
    pub async fn spawn() -> Result<Self, TestkitError> {
        Self::builder().spawn().await
    }

    /// Its fresh database (`None` for a store the caller opened).
    pub fn database(&self) -> Option<&TestDatabase> {
        self.database.as_ref()
    }

    /// Stops the portal, the workers and the simulators, and removes a fresh database.
    pub async fn stop(self) -> Result<(), TestkitError> {
        self.run_until(std::future::ready(())).await
    }

    /// Serves until `signal` (e.g. Ctrl-C) or until the portal stops by itself, then stops
    /// like [`TestApp::stop`].
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> Result<(), TestkitError> {
        let Self {
            store,
            engine,
            microsoft,
            pbx,
            cancel,
            mut server,
            workers,
            database,
            ..
        } = self;
        let served = tokio::select! {
            served = &mut server => served,
            () = signal => {
                cancel.cancel();
                server.await
            }
        };
        cancel.cancel();
        if let Some(workers) = workers {
            workers.stop().await;
        }
        microsoft.stop().await;
        pbx.shutdown().await;
        drop((store, engine));
        if let Some(db) = database {
            db.remove().await;
        }
        served.map_err(std::io::Error::other)??;
        Ok(())
    }
}
