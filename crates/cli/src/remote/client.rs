//! The HTTP client of a Teamline server's JSON API (`/api/v1`), answering with the API's own
//! response types (`teamline_web::api`), so the CLI and the server cannot drift apart.
//!
//! A refusal comes back as the server's problem details ([`ApiError`]), shown with each field
//! at fault and what to change. A request answered 429 waits the `Retry-After` the server asks
//! for and is sent again; every POST carries an `Idempotency-Key`, so sending it again never
//! does the work twice.

use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;
use teamline_web::api::problem::Problem;
use url::Url;

/// How often a request answered 429 is sent again before giving up.
const RATE_LIMIT_RETRIES: u32 = 5;

pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
}

/// Why a request to the server did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Refused(#[from] ApiError),
    #[error(
        "could not reach the Teamline server at {url}: {source}. Check --server (scheme, host and port) and that the server is running"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "{method} {path}: the server answered {status} with something that is not the Teamline API ({detail}). Check that --server is the Teamline server's address"
    )]
    NotTheApi {
        method: Method,
        path: String,
        status: StatusCode,
        detail: String,
    },
}

/// The server's problem details for a refused request.
#[derive(Debug)]
pub struct ApiError {
    pub method: Method,
    pub path: String,
    pub problem: Problem,
}

impl std::error::Error for ApiError {}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.problem;
        write!(
            f,
            "{} {} was refused ({} {}): {}",
            self.method, self.path, p.status, p.title, p.detail
        )?;
        for e in &p.errors {
            write!(f, "\n  {}: {}", e.field, e.detail)?;
        }
        Ok(())
    }
}

impl ApiError {
    pub fn status(&self) -> u16 {
        self.problem.status
    }
}

impl Client {
    /// `server` is the Teamline server's base URL, e.g. `https://teamline.example.net`.
    pub fn new(server: &str, token: SecretString) -> anyhow::Result<Self> {
        let mut base = Url::parse(server.trim()).map_err(|e| {
            anyhow::anyhow!(
                "--server {server:?} is not a URL ({e}): give the server's address, e.g. https://teamline.example.net"
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            anyhow::bail!("--server {server:?} must be an http:// or https:// address");
        }
        // Joined paths are absolute (`/api/v1/…`), so only the origin matters.
        base.set_path("/");
        let http = reqwest::Client::builder()
            .user_agent(concat!("teamline-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Self { http, base, token })
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        self.send(Method::GET, path, query, |r| r).await
    }

    /// A POST with a fresh idempotency key (kept across the retries of this call).
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        self.post_query(path, &[], body).await
    }

    /// A POST with query parameters (e.g. `dry_run=true`) and a fresh idempotency key.
    pub async fn post_query<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        self.send(Method::POST, path, query, |r| match body {
            Some(body) => r.json(body),
            None => r,
        })
        .await
    }

    /// A POST of a CSV file as the body (`text/csv`), with a fresh idempotency key.
    pub async fn post_csv<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        csv: &str,
    ) -> Result<T, ClientError> {
        self.send(Method::POST, path, query, |r| {
            r.header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
                .body(csv.to_owned())
        })
        .await
    }

    /// Sends the request `body` completes (it adds the body, if any, to each attempt).
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let mut url = self.base.clone();
        url.set_path(path);
        let idempotency_key = (method == Method::POST).then(|| {
            let mut bytes = [0u8; 16];
            rand::fill(&mut bytes);
            hex::encode(bytes)
        });
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.token.expose_secret())
                .header(header::ACCEPT, "application/json");
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(key) = &idempotency_key {
                request = request.header("idempotency-key", key);
            }
            let response =
                body(request)
                    .send()
                    .await
                    .map_err(|source| ClientError::Unreachable {
                        url: self.base.to_string(),
                        source,
                    })?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS && attempt < RATE_LIMIT_RETRIES {
                attempt += 1;
                let wait = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait.clamp(1, 60))).await;
                continue;
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|source| ClientError::Unreachable {
                    url: self.base.to_string(),
                    source,
                })?;
            let not_the_api = |detail: String| ClientError::NotTheApi {
                method: method.clone(),
                path: path.to_owned(),
                status,
                detail,
            };
            if status.is_success() {
                return serde_json::from_slice(&bytes).map_err(|e| not_the_api(e.to_string()));
            }
            let problem: Problem = serde_json::from_slice(&bytes).map_err(|_| {
                not_the_api(String::from_utf8_lossy(&bytes).chars().take(200).collect())
            })?;
            return Err(ApiError {
                method,
                path: path.to_owned(),
                problem,
            }
            .into());
        }
    }
}
