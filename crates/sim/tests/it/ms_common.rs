//! Helpers: start the Microsoft simulator, get tokens, call Graph.

use reqwest::{Client, Response, redirect};
use serde_json::Value;
use teamline_sim::microsoft::{MicrosoftSim, RunningSim, SimConfig, TenantControl, demo};

pub struct Sim {
    pub sim: MicrosoftSim,
    pub run: RunningSim,
    pub http: Client,
    pub contoso: TenantControl,
    pub fabrikam: TenantControl,
}

pub fn client() -> Client {
    teamline_sim::tls::install_crypto_provider();
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn start() -> Sim {
    start_with(SimConfig::default()).await
}

pub async fn start_with(config: SimConfig) -> Sim {
    let sim = MicrosoftSim::new(config).unwrap();
    let contoso = sim.seed_contoso();
    let fabrikam = sim.seed_fabrikam();
    let run = sim
        .spawn_http("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Sim {
        sim,
        run,
        http: client(),
        contoso,
        fabrikam,
    }
}

impl Sim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.run.base_url(), path)
    }

    /// Raw token endpoint call.
    pub async fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(&format!("/{tenant}/oauth2/v2.0/token")))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// App-only token for Teamline in `tenant` for `scope` (…/.default).
    pub async fn app_token_for(&self, tenant: &str, scope: &str) -> String {
        let resp = self
            .token_request(
                tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", demo::TEAMLINE_APP_CLIENT_ID),
                    ("client_secret", demo::TEAMLINE_APP_CLIENT_SECRET),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(resp.status(), 200, "token request failed");
        let v: Value = resp.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    pub async fn graph_token(&self) -> String {
        self.app_token_for(
            demo::CONTOSO_TENANT_ID,
            "https://graph.microsoft.com/.default",
        )
        .await
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (u16, Value) {
        let resp = self.get(token, path).await;
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Follows `@odata.nextLink` and returns every item.
    pub async fn get_all(&self, token: &str, path: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut next = Some(self.url(path));
        while let Some(url) = next {
            let resp = self.http.get(&url).bearer_auth(token).send().await.unwrap();
            assert_eq!(resp.status(), 200, "GET {url}");
            let v: Value = resp.json().await.unwrap();
            pages += 1;
            items.extend(v["value"].as_array().unwrap().iter().cloned());
            next = v["@odata.nextLink"].as_str().map(str::to_string);
        }
        (items, pages)
    }
}

/// Asserts Graph's error envelope and returns the code.
pub fn graph_error_code(body: &Value) -> String {
    let e = &body["error"];
    assert!(e["message"].is_string(), "no message in {body}");
    assert!(
        e["innerError"]["request-id"].is_string(),
        "no innerError.request-id in {body}"
    );
    assert!(
        e["innerError"]["date"].is_string(),
        "no innerError.date in {body}"
    );
    assert!(
        e["innerError"]["client-request-id"].is_string(),
        "no client-request-id in {body}"
    );
    e["code"].as_str().unwrap().to_string()
}

/// Asserts Entra's error shape and returns the AADSTS number.
pub fn aad_error_code(body: &Value) -> u64 {
    for k in [
        "error",
        "error_description",
        "timestamp",
        "trace_id",
        "correlation_id",
    ] {
        assert!(body[k].is_string(), "missing {k} in {body}");
    }
    let code = body["error_codes"][0].as_u64().unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}:"))
    );
    code
}

/// Payload of a JWT (no verification).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Value of a hidden form field in an HTML page.
pub fn form_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// Query parameters of a redirect `Location`.
pub fn location_params(resp: &Response) -> (String, std::collections::HashMap<String, String>) {
    let loc = resp.headers()["location"].to_str().unwrap().to_string();
    let url = url::Url::parse(&loc).unwrap();
    let params = url.query_pairs().into_owned().collect();
    (loc, params)
}
