//! Small local servers that answer like Microsoft (documented JSON), and record every
//! request they receive with its arrival time, so tests can check what the client sent and
//! when.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use secrecy::SecretString;
use serde_json::Value;
use teamline_microsoft::{MicrosoftClient, MicrosoftConfig, PollPolicy, RetryPolicy, Timeouts};
use url::Url;

pub const CLIENT_ID: &str = "a1b2c3d4-0000-4000-8000-00000000c1d0";
pub const CLIENT_SECRET: &str = "test-client-secret-value";
pub const TENANT: &str = "7e1d5c3a-1111-4222-8333-0123456789ab";

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn form(&self) -> std::collections::HashMap<String, String> {
        serde_urlencoded::from_str(&self.body).unwrap_or_default()
    }

    /// The decoded query string.
    pub fn query_decoded(&self) -> String {
        percent_decode(&self.query)
    }
}

pub fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('&', "%26")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub type Log = Arc<Mutex<Vec<Recorded>>>;

pub struct Server {
    pub base: Url,
    pub log: Log,
}

impl Server {
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }

    pub fn token_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
            .collect()
    }

    pub fn graph_requests(&self) -> Vec<Recorded> {
        self.requests_to("/v1.0/")
    }
}

async fn record(State(log): State<Log>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    log.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts.headers.clone(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        at: Instant::now(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Starts a server on 127.0.0.1:0; `build` receives the server's own base URL (for links
/// such as `@odata.nextLink` and `Location`).
pub async fn serve(build: impl FnOnce(Url) -> Router) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let log: Log = Arc::default();
    let app = build(base.clone()).layer(axum::middleware::from_fn_with_state(log.clone(), record));
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server { base, log }
}

/// A configuration pointing every Microsoft endpoint at `base`, with short waits so tests
/// stay fast.
pub fn config(base: &Url) -> MicrosoftConfig {
    let mut c = MicrosoftConfig::new(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        Url::parse("https://teamline.example/auth/microsoft/callback").unwrap(),
    )
    .with_single_base(base.clone());
    c.retry = RetryPolicy {
        max_attempts: 4,
        max_total_wait: Duration::from_secs(10),
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    };
    c.operation_polling = PollPolicy {
        initial_interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(50),
        max_total: Duration::from_secs(10),
    };
    c.timeouts = Timeouts {
        connect: Duration::from_secs(5),
        request: Duration::from_secs(20),
    };
    c
}

pub fn client(base: &Url) -> MicrosoftClient {
    MicrosoftClient::new(config(base)).unwrap()
}

/// The token endpoint of Entra ID for app-only tokens: hands out `token-{tenant}-{n}`.
pub fn token_route(router: Router) -> Router {
    let counter = Arc::new(Mutex::new(0u32));
    router.route(
        "/{tenant}/oauth2/v2.0/token",
        axum::routing::post(
            move |axum::extract::Path(tenant): axum::extract::Path<String>| {
                let counter = counter.clone();
                async move {
                    let n = {
                        let mut c = counter.lock().unwrap();
                        *c += 1;
                        *c
                    };
                    axum::Json(serde_json::json!({
                        "token_type": "Bearer",
                        "expires_in": 3599,
                        "ext_expires_in": 3599,
                        "access_token": format!("token-{tenant}-{n}"),
                    }))
                }
            },
        ),
    )
}

/// A Graph error envelope as Microsoft documents it.
pub fn graph_error(code: &str, message: &str) -> Value {
    serde_json::json!({"error": {"code": code, "message": message,
        "innerError": {"date": "2025-02-13T10:17:06", "request-id": "93b6f17e-c05d-4f45-ad2a-6665c708d8a0",
                       "client-request-id": "e70c5c1b-8b47-68c0-3171-3d22f5e0bd54"}}})
}

/// A user as Graph returns it for Teamline's `$select`, licensed for Teams and Teams Phone.
pub fn licensed_user(id: &str, upn: &str, name: &str) -> Value {
    serde_json::json!({
        "id": id, "userPrincipalName": upn, "displayName": name, "mail": upn,
        "accountEnabled": true, "userType": "Member", "usageLocation": "US",
        "assignedPlans": [
            {"assignedDateTime": "2024-01-07T09:08:50Z", "capabilityStatus": "Enabled",
             "service": "MicrosoftCommunicationsOnline", "servicePlanId": "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"},
            {"assignedDateTime": "2024-01-07T09:08:50Z", "capabilityStatus": "Enabled",
             "service": "TeamspaceAPI", "servicePlanId": "57ff2da0-773e-42df-b2af-ffb7a2317929"}
        ]
    })
}

/// Waits (with a generous limit) until `cond` holds; for readiness, never a fixed sleep.
pub async fn eventually(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
