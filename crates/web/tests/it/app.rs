//! The test kit's `TestApp` (the portal over the simulators and a fresh SQLite store with the
//! demo data, no job runner) with what the page tests add: an HTTP client that shows every
//! response, and sessions of a signed-in admin without going through Microsoft.

use std::collections::HashMap;
use teamline_sim::microsoft::demo as ms;
use teamline_testkit::DatabaseChoice;
use teamline_web::session::{EnterpriseAdmin, Principal, StoreSessions};
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};

pub const CONTOSO_TENANT: &str = ms::CONTOSO_TENANT_ID;

/// The portal over the simulated Microsoft tenant and NetSapiens PBX with the demo data.
pub struct TestApp {
    app: teamline_testkit::TestApp,
    /// No redirects followed, no cookie jar: tests look at every response.
    pub http: reqwest::Client,
}

impl std::ops::Deref for TestApp {
    type Target = teamline_testkit::TestApp;

    fn deref(&self) -> &Self::Target {
        &self.app
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::from(teamline_testkit::TestApp::builder()).await
    }

    /// `public_url`: as configured with `--public-url`.
    pub async fn start_with(public_url: &str) -> Self {
        Self::from(teamline_testkit::TestApp::builder().public_url(public_url)).await
    }

    /// With the job runner (nothing periodic, quick propagation re-checks), so changes reach
    /// the simulated Microsoft tenant and PBX.
    pub async fn start_with_jobs() -> Self {
        let settings = teamline_engine::EngineSettings {
            directory_sync_every: None,
            reconcile_every: None,
            propagation_recheck: std::time::Duration::from_millis(200),
            ..Default::default()
        };
        Self::from(
            teamline_testkit::TestApp::builder()
                .settings(settings)
                .run_jobs("web-tests"),
        )
        .await
    }

    /// On a fresh PostgreSQL database instead of SQLite.
    pub async fn start_on_postgres() -> Self {
        Self::from(teamline_testkit::TestApp::builder().database(DatabaseChoice::Postgres)).await
    }

    /// The portal as `builder` sets it up.
    pub async fn from(builder: teamline_testkit::TestAppBuilder) -> Self {
        // After the app: it installs the TLS crypto provider the client needs.
        let app = builder.spawn().await.unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        Self { app, http }
    }

    /// Stops the portal and the simulators and removes the database.
    pub async fn stop(self) {
        self.app.stop().await.unwrap();
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
        self.session_as(enterprise, tenant, "admin@contoso.example", "Contoso Admin")
            .await
    }

    /// A session of `username` (`display_name`), Global Administrator of `tenant`, signed in to
    /// `enterprise`.
    pub async fn session_as(
        &self,
        enterprise: teamline_domain::ids::EnterpriseId,
        tenant: &str,
        username: &str,
        display_name: &str,
    ) -> Browser {
        let principal = Principal::EnterpriseAdmin(EnterpriseAdmin {
            enterprise_id: enterprise,
            tenant_id: tenant.to_owned(),
            object_id: "admin-oid".into(),
            username: username.into(),
            display_name: display_name.into(),
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

/// Polls `check` until it holds (generous: the machine may be loaded).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1200 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The status and body of a response.
pub async fn text(r: reqwest::RequestBuilder) -> (u16, String) {
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}
