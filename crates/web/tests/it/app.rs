//! `TestApp`: the web router on 127.0.0.1:0 over a fresh SQLite store with the demo data, and
//! helpers to act as a signed-in admin without going through Microsoft.

use secrecy::SecretString;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use teamline_domain::enterprise::{Enterprise, TenantId};
use teamline_engine::demo::{DemoFacts, DemoTeamsUser, seed};
use teamline_engine::{ApiConnector, Engine, EngineSettings};
use teamline_microsoft::{MicrosoftClient, MicrosoftConfig};
use teamline_sim::microsoft::{MicrosoftSim, RunningSim, SimConfig, demo as ms};
use teamline_sim::netsapiens::{DEMO_API_KEY, NetSapiensSim, NetSapiensSimHandle};
use teamline_store::crypto::Keyring;
use teamline_store::{DynStore, SystemClock};
use teamline_web::AppState;
use teamline_web::session::{EnterpriseAdmin, Principal, StoreSessions};
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};

pub const CONTOSO_TENANT: &str = ms::CONTOSO_TENANT_ID;

/// The portal over the simulated Microsoft tenant and NetSapiens PBX with the demo data.
pub struct TestApp {
    pub url: String,
    pub store: DynStore,
    pub engine: Engine,
    pub contoso: Enterprise,
    pub fabrikam: Enterprise,
    /// No redirects followed, no cookie jar: tests look at every response.
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
    _microsoft: RunningSim,
    _pbx: NetSapiensSimHandle,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// `public_url`: as configured with `--public-url` (default: the listening address).
    pub async fn start_with(public_url: Option<&str>) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let localhost = SocketAddr::from(([127, 0, 0, 1], 0));
        let microsoft = MicrosoftSim::new(SimConfig::default()).unwrap();
        microsoft.seed_contoso();
        microsoft.seed_fabrikam();
        let ms_running = microsoft.spawn_http(localhost).await.unwrap();
        let pbx = NetSapiensSim::new()
            .seed_contoso()
            .spawn(localhost)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store: DynStore = Arc::new(
            teamline_store_sqlite::open(
                &dir.path().join("t.db"),
                Arc::new(Keyring::for_testing()),
                Arc::new(SystemClock),
            )
            .await
            .unwrap(),
        );
        let listener = tokio::net::TcpListener::bind(localhost).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = MicrosoftConfig::new(
            ms::TEAMLINE_APP_CLIENT_ID,
            SecretString::from(ms::TEAMLINE_APP_CLIENT_SECRET.to_owned()),
            format!("{url}/auth/microsoft/callback").parse().unwrap(),
        )
        .with_single_base(ms_running.base_url().parse().unwrap());
        config.consent_redirect_uri =
            Some(format!("{url}/auth/microsoft/consent").parse().unwrap());
        let engine = Engine::new(
            store.clone(),
            Arc::new(MicrosoftClient::new(config).unwrap()),
            Arc::new(ApiConnector),
            EngineSettings::default(),
        );
        let facts = DemoFacts {
            contoso_tenant_id: TenantId::parse(CONTOSO_TENANT).unwrap(),
            contoso_sync_group: (
                ms::contoso_group_id(ms::SYNC_GROUP),
                ms::SYNC_GROUP.to_owned(),
            ),
            debra: DemoTeamsUser {
                object_id: ms::contoso_user_id(ms::DEBRA_BERGER),
                upn: ms::upn_for(ms::DEBRA_BERGER, ms::CONTOSO_DOMAIN),
                display_name: ms::DEBRA_BERGER.to_owned(),
            },
            pbx_api_base_url: format!("{}/ns-api/v2", pbx.base_url),
            pbx_api_key: SecretString::from(DEMO_API_KEY.to_owned()),
            reseller_password: SecretString::from("northwind-demo-2026".to_owned()),
        };
        let summary = seed(&store, &facts).await.unwrap();
        engine
            .sync_directory(summary.contoso.id, false)
            .await
            .unwrap();
        let state = AppState {
            store: store.clone(),
            engine: engine.clone(),
            metrics: teamline_web::metrics::install(),
            public_url: public_url.map_or_else(|| url.clone(), str::to_owned),
        };
        let server = tokio::spawn(async move {
            let _ = teamline_web::serve(listener, state, std::future::pending()).await;
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            url,
            store,
            engine,
            contoso: summary.contoso,
            fabrikam: summary.fabrikam,
            http,
            _dir: dir,
            _server: server,
            _microsoft: ms_running,
            _pbx: pbx,
        }
    }

    /// A session as the Microsoft sign-in leaves it, for Contoso's Global Administrator.
    pub async fn signed_in(&self) -> Browser {
        self.session_for(self.contoso.id, CONTOSO_TENANT).await
    }

    pub async fn session_for(
        &self,
        enterprise: teamline_domain::ids::EnterpriseId,
        tenant: &str,
    ) -> Browser {
        let principal = Principal::EnterpriseAdmin(EnterpriseAdmin {
            enterprise_id: enterprise,
            tenant_id: tenant.to_owned(),
            object_id: "admin-oid".into(),
            username: "admin@contoso.example".into(),
            display_name: "Contoso Admin".into(),
            role: "Global Administrator".into(),
        });
        let csrf = "a".repeat(64);
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([
                (
                    "principal".to_owned(),
                    serde_json::to_value(&principal).unwrap(),
                ),
                ("csrf".to_owned(), serde_json::json!(csrf)),
            ]),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        StoreSessions::new(self.store.clone())
            .create(&mut record)
            .await
            .unwrap();
        Browser {
            base: self.url.clone(),
            cookie: format!("teamline_session={}", record.id),
            csrf,
            http: self.http.clone(),
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.url))
    }
}

/// A signed-in browser: sends the session cookie and, for changes, what a same-origin page
/// would send (fetch metadata, Origin, the page's token).
pub struct Browser {
    pub base: String,
    pub cookie: String,
    pub csrf: String,
    pub http: reqwest::Client,
}

impl Browser {
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
    }

    /// A POST as a Teamline page sends it.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        self.raw_post(path)
            .header("sec-fetch-site", "same-origin")
            .header("origin", &self.base)
            .form(&all)
    }

    /// A POST with the session cookie and nothing else.
    pub fn raw_post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
    }
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
