//! NetSapiens API v2 client: the [`Pbx`] implementation for NetSapiens (SNAPsolution)
//! platforms. See `FIDELITY.md` for which parts of the wire format are documented and which
//! are inferred.

mod doctor;
mod settings;
mod transport;
mod wire;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub use settings::{
    CredentialScope, NetSapiensAuth, NetSapiensSettings, RetryPolicy, Timeouts, api_root,
};

use crate::error::PbxError;
use crate::model::{Device, EmergencyAddress, Extension, NewDevice, NewEmergencyAddress};
use crate::network::PublicOnlyResolver;
use crate::pbx::{Check, ConnectionReport, Pbx};
use transport::{Answer, Auth, Call, OAuth, Transport};

/// Objects per page when listing (`limit`); the client pages with `start` until a page is
/// empty, so a server that caps pages lower still yields everything.
const PAGE_SIZE: usize = 1000;

/// Safety stop for paging against a server that ignores `start`.
const MAX_PAGES: usize = 10_000;

/// Extensions whose devices are read at the same time when the domain-wide device listing is
/// unavailable.
const DEVICE_LIST_CONCURRENCY: usize = 8;

/// Reads after a 202 Accepted create before giving up (replication usually takes < 1 s).
const READ_BACK_ATTEMPTS: u32 = 6;

/// A client for one NetSapiens PBX location (API host + SIP domain). Cheap to clone.
#[derive(Clone)]
pub struct NetSapiensClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    domain: String,
    /// The PBX asked for `addresses/validate` before an address create: do it first from now on.
    validate_addresses: AtomicBool,
}

impl std::fmt::Debug for NetSapiensClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetSapiensClient")
            .field("api", &self.inner.transport.display_url)
            .field("domain", &self.inner.domain)
            .finish_non_exhaustive()
    }
}

/// Whose object a failed call was about, to name it in the error.
#[derive(Clone, Copy)]
enum Target<'a> {
    Domain,
    Extension(&'a str),
    Device { extension: &'a str, device: &'a str },
}

impl NetSapiensClient {
    /// Builds a client from plain settings. Installs the process-wide rustls crypto provider
    /// (ring) if none is installed yet.
    pub fn new(settings: NetSapiensSettings) -> Result<Self, PbxError> {
        // Ignore the error: it only says a provider is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let api_root = settings::api_root(&settings.api_base_url)?;
        settings::check_domain(&settings.domain)?;
        settings.network.check_url(&api_root)?;
        settings.check_credentials_scope(&api_root)?;
        let mut http = reqwest::Client::builder()
            .connect_timeout(settings.timeouts.connect)
            .timeout(settings.timeouts.request)
            .user_agent(concat!("Teamline/", env!("CARGO_PKG_VERSION")))
            // A redirect could lead the credentials, or the connection, anywhere: the API
            // answers where it is asked, and a 3xx is an answer like any other.
            .redirect(reqwest::redirect::Policy::none())
            // Straight to the PBX: through an HTTP proxy, the addresses checked below would be
            // the proxy's, not the PBX's.
            .no_proxy();
        if !settings.network.allow_private {
            http = http.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let http = http.build().map_err(|e| PbxError::InvalidSettings {
            field: "TLS",
            problem: format!("the HTTPS client cannot start: {e}"),
        })?;
        let auth = match settings.auth {
            NetSapiensAuth::ApiKey(key) => Auth::ApiKey(key),
            NetSapiensAuth::OAuth {
                client_id,
                client_secret,
                username,
                password,
            } => Auth::OAuth(OAuth::new(client_id, client_secret, username, password)),
        };
        let display_url = api_root.as_str().trim_end_matches('/').to_owned();
        Ok(NetSapiensClient {
            inner: Arc::new(Inner {
                transport: Transport {
                    http,
                    api_root,
                    display_url,
                    auth,
                    retry: settings.retry,
                    timeouts: settings.timeouts,
                },
                domain: settings.domain,
                validate_addresses: AtomicBool::new(false),
            }),
        })
    }

    /// The v2 API root this client talks to, e.g. `https://pbx.example.com/ns-api/v2`.
    pub fn api_url(&self) -> &str {
        &self.inner.transport.display_url
    }

    fn t(&self) -> &Transport {
        &self.inner.transport
    }

    fn d(&self) -> &str {
        &self.inner.domain
    }

    fn path(&self, rest: &[&str]) -> Vec<String> {
        let mut p = vec!["domains".to_owned(), self.d().to_owned()];
        p.extend(rest.iter().map(|s| (*s).to_owned()));
        p
    }

    /// Turns a 4xx answer into the error that names the object.
    fn failure(&self, answer: &Answer, action: &str, target: Target<'_>) -> PbxError {
        let domain = self.d().to_owned();
        let message = answer.message();
        let lower = message.to_ascii_lowercase();
        match answer.status {
            StatusCode::FORBIDDEN => PbxError::PermissionDenied {
                action: action.to_owned(),
                domain,
                detail: message,
            },
            StatusCode::NOT_FOUND => {
                // NetSapiens says which object is missing: "Domain x does not exist",
                // "User 1099 does not exist in domain x"; otherwise go by what was asked for.
                let missing_domain =
                    lower.starts_with("domain ") && !lower.contains("access denied");
                let missing_user = lower.starts_with("user ");
                match target {
                    _ if missing_domain => PbxError::DomainNotFound {
                        domain,
                        url: self.t().display_url.clone(),
                    },
                    Target::Extension(extension) | Target::Device { extension, .. }
                        if missing_user =>
                    {
                        PbxError::ExtensionNotFound {
                            extension: extension.to_owned(),
                            domain,
                        }
                    }
                    Target::Device { extension, device } => PbxError::DeviceNotFound {
                        device: device.to_owned(),
                        extension: extension.to_owned(),
                        domain,
                    },
                    Target::Extension(extension) => PbxError::ExtensionNotFound {
                        extension: extension.to_owned(),
                        domain,
                    },
                    Target::Domain => PbxError::DomainNotFound {
                        domain,
                        url: self.t().display_url.clone(),
                    },
                }
            }
            status => PbxError::Rejected {
                action: action.to_owned(),
                status: status.as_u16(),
                message,
            },
        }
    }

    fn unexpected(action: &str, detail: impl Into<String>) -> PbxError {
        PbxError::UnexpectedResponse {
            action: action.to_owned(),
            detail: detail.into(),
        }
    }

    /// GETs a list, page by page (`limit`/`start`), until an empty page. `read` turns one
    /// page's body into its rows (one per object listed, in order), straight from the bytes.
    async fn list_all<T: PartialEq>(
        &self,
        path: Vec<String>,
        action: &str,
        target: Target<'_>,
        read: impl Fn(&[u8]) -> Result<Vec<T>, PbxError>,
    ) -> Result<Vec<T>, PbxError> {
        let mut out: Vec<T> = Vec::new();
        let mut previous_first: Option<usize> = None;
        for _ in 0..MAX_PAGES {
            let mut call = Call::get(path.clone(), action.to_owned());
            call.query = vec![
                ("limit", PAGE_SIZE.to_string()),
                ("start", out.len().to_string()),
            ];
            let answer = self.t().execute(&call).await?;
            if answer.status == StatusCode::NOT_FOUND && wire::is_empty_list_404(&answer.message())
            {
                break;
            }
            if !answer.status.is_success() {
                return Err(self.failure(&answer, action, target));
            }
            let items = read(&answer.body)?;
            let Some(first) = items.first() else {
                break;
            };
            // A server that ignores `start` sends the same page again: stop instead of looping.
            if previous_first.is_some_and(|i| out.get(i) == Some(first)) {
                break;
            }
            previous_first = Some(out.len());
            out.extend(items);
        }
        Ok(out)
    }

    async fn users(&self) -> Result<Vec<wire::UserRow>, PbxError> {
        let action = format!("list the extensions of domain {}", self.d());
        let rows = self
            .list_all(self.path(&["users"]), &action, Target::Domain, |body| {
                wire::listing_page(body, &action, wire::UserListing::into_row, wire::user_row)
            })
            .await?;
        let mut seen = HashSet::new();
        Ok(rows
            .into_iter()
            .flatten()
            .filter(|u| !u.is_system && seen.insert(u.extension.clone()))
            .collect())
    }

    /// Device ids per extension from the domain-wide listing, or `None` when this PBX has no
    /// such listing (older versions).
    async fn devices_by_extension(
        &self,
    ) -> Result<Option<BTreeMap<String, Vec<String>>>, PbxError> {
        let action = format!("list the devices of domain {}", self.d());
        let listed = self
            .list_all(self.path(&["devices"]), &action, Target::Domain, |body| {
                wire::listing_page(
                    body,
                    &action,
                    wire::DeviceListing::into_owner,
                    wire::device_owner_row,
                )
            })
            .await;
        match listed {
            Ok(rows) => {
                let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for row in rows {
                    if let (Some(owner), Some(id)) = (row.extension, row.device) {
                        map.entry(owner).or_default().push(id);
                    }
                }
                Ok(Some(map))
            }
            Err(
                PbxError::DomainNotFound { .. }
                | PbxError::Rejected { .. }
                | PbxError::PermissionDenied { .. },
            ) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn device_ids_of(&self, extension: &str) -> Result<Vec<String>, PbxError> {
        Ok(self
            .list_devices(extension)
            .await?
            .into_iter()
            .map(|d| d.auth_id)
            .collect())
    }

    async fn read_device(
        &self,
        extension: &str,
        auth_id: &str,
        action: &str,
    ) -> Result<Device, PbxError> {
        let call = Call::get(
            self.path(&["users", extension, "devices", auth_id]),
            action.to_owned(),
        );
        let answer = self.t().execute(&call).await?;
        if !answer.status.is_success() {
            return Err(self.failure(
                &answer,
                action,
                Target::Device {
                    extension,
                    device: auth_id,
                },
            ));
        }
        let value = answer
            .json()
            .ok_or_else(|| Self::unexpected(action, "the answer is not JSON"))?;
        // Some versions wrap the single device in a list.
        let obj = match value {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        wire::device(&obj, extension, self.d())
            .ok_or_else(|| Self::unexpected(action, "the device has no id"))
    }

    /// After a 202 Accepted, the device may take a moment to replicate: read until it shows.
    async fn read_back(
        &self,
        extension: &str,
        auth_id: &str,
        action: &str,
    ) -> Result<Device, PbxError> {
        let mut wait = Duration::from_millis(100);
        for attempt in 1..=READ_BACK_ATTEMPTS {
            match self.read_device(extension, auth_id, action).await {
                Ok(d) => return Ok(d),
                Err(PbxError::DeviceNotFound { .. }) if attempt < READ_BACK_ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                Err(PbxError::DeviceNotFound { .. }) => break,
                Err(e) => return Err(e),
            }
        }
        Err(PbxError::DeviceNotVisibleYet {
            device: auth_id.to_owned(),
            extension: extension.to_owned(),
            domain: self.d().to_owned(),
        })
    }

    async fn post_address(
        &self,
        extension: &str,
        body: Value,
        action: &str,
    ) -> Result<Answer, PbxError> {
        let call = Call {
            method: Method::POST,
            path: self.path(&["users", extension, "addresses"]),
            query: Vec::new(),
            body: Some(body),
            action: action.to_owned(),
            idempotent: false,
        };
        self.t().execute(&call).await
    }

    /// Runs the address through `POST /domains/{d}/addresses/validate` and returns the create
    /// body with the id and standardised address it handed back.
    async fn validated_address_body(
        &self,
        address: &NewEmergencyAddress,
        action: &str,
    ) -> Result<Value, PbxError> {
        let call = Call {
            method: Method::POST,
            path: self.path(&["addresses", "validate"]),
            query: Vec::new(),
            body: Some(wire::validate_address_body(address)),
            action: format!("validate the address for: {action}"),
            idempotent: true,
        };
        let answer = self.t().execute(&call).await?;
        if !answer.status.is_success() {
            return Err(PbxError::Rejected {
                action: format!(
                    "validate the emergency address \"{}\" (the PBX requires it before adding one)",
                    address.name
                ),
                status: answer.status.as_u16(),
                message: answer.message(),
            });
        }
        let (id, pidflo) = answer
            .json()
            .as_ref()
            .and_then(wire::validated_address)
            .ok_or_else(|| {
                Self::unexpected(
                    action,
                    "the address validation returned no emergency-address-id",
                )
            })?;
        Ok(wire::create_validated_address_body(address, &id, &pidflo))
    }

    fn check_id(what: &str, id: &str) -> Result<(), PbxError> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(())
        } else {
            Err(PbxError::InvalidInput {
                what: format!("{what} '{id}'"),
                problem: "use 1 to 64 letters, digits, dots, hyphens or underscores".to_owned(),
            })
        }
    }

    async fn check_reachable(&self) -> Check {
        let t = self.t();
        // One attempt, no retries: the admin is waiting for the answer.
        let no_retry = RetryPolicy {
            max_retries: 0,
            ..t.retry
        };
        let call = Call::get(
            vec!["version".to_owned()],
            "reach the NetSapiens API".to_owned(),
        );
        // Whatever else answered (another service, a refusal, an error page) is reported as
        // not reaching the PBX, without its status or text: Test connection must not tell
        // what else listens at an address.
        let not_reached = || {
            Check::failed(
                PbxError::Unreachable {
                    url: t.display_url.clone(),
                    detail: String::new(),
                }
                .to_string(),
            )
        };
        match t.send(&call, None, no_retry).await {
            Ok(answer) => {
                let version = answer
                    .status
                    .is_success()
                    .then(|| answer.json())
                    .flatten()
                    .as_ref()
                    .and_then(|v| wire::text(v, "apiversion"));
                match version {
                    Some(v) => Check::passed(format!(
                        "the NetSapiens API at {} answers (API version {v})",
                        t.display_url
                    )),
                    None => {
                        tracing::warn!(url = %t.display_url, status = answer.status.as_u16(), "the PBX API base URL answered, but not as a NetSapiens API");
                        not_reached()
                    }
                }
            }
            Err(e @ PbxError::Tls { .. }) => Check::failed(e.to_string()),
            Err(_) => not_reached(),
        }
    }

    async fn check_authenticated(&self) -> Check {
        let t = self.t();
        match &t.auth {
            Auth::ApiKey(_) => {
                let call = Call::get(
                    vec!["apikeys".to_owned(), "~".to_owned()],
                    "check the API key".to_owned(),
                );
                match t.execute(&call).await {
                    Ok(answer) => {
                        let scope = answer
                            .json()
                            .as_ref()
                            .and_then(|v| wire::text(v, "user-scope"));
                        match scope {
                            Some(s) if answer.status.is_success() => {
                                Check::passed(format!("the API key is accepted (scope {s})"))
                            }
                            _ => Check::passed("the API key is accepted"),
                        }
                    }
                    Err(e) => Check::failed(e.to_string()),
                }
            }
            Auth::OAuth(oauth) => match t.bearer(oauth).await {
                Ok(_) => Check::passed(format!(
                    "the OAuth client and the login {} are accepted",
                    oauth.username
                )),
                Err(e) => Check::failed(e.to_string()),
            },
        }
    }

    async fn check_domain(&self) -> Check {
        let action = format!("read domain {}", self.d());
        let call = Call::get(self.path(&[]), action.clone());
        match self.t().execute(&call).await {
            Ok(answer) if answer.status.is_success() => {
                let description = answer
                    .json()
                    .as_ref()
                    .and_then(|v| wire::text(v, "description"));
                match description {
                    Some(d) => Check::passed(format!("domain {} exists ({d})", self.d())),
                    None => Check::passed(format!("domain {} exists", self.d())),
                }
            }
            Ok(answer) if answer.status == StatusCode::FORBIDDEN => Check::failed(format!(
                "domain {} does not exist or the API credentials may not access it: check the SIP domain in PBX settings, and that the API key or login has Office Manager or Reseller scope for it",
                self.d()
            )),
            Ok(answer) => Check::failed(self.failure(&answer, &action, Target::Domain).to_string()),
            Err(e) => Check::failed(e.to_string()),
        }
    }

    async fn check_users(&self) -> Check {
        let action = format!("list the extensions of domain {}", self.d());
        let mut call = Call::get(self.path(&["users"]), action.clone());
        call.query = vec![("limit", "1".to_owned()), ("start", "0".to_owned())];
        match self.t().execute(&call).await {
            Ok(answer) if answer.status.is_success() => {
                let count_call = Call::get(self.path(&["users", "count"]), action.clone());
                let total = match self.t().execute(&count_call).await {
                    Ok(a) if a.status.is_success() => a
                        .json()
                        .and_then(|v| v.get("total").and_then(Value::as_u64)),
                    _ => None,
                };
                match total {
                    Some(n) => Check::passed(format!(
                        "Teamline can list the extensions of domain {} ({n} found)",
                        self.d()
                    )),
                    None => Check::passed(format!(
                        "Teamline can list the extensions of domain {}",
                        self.d()
                    )),
                }
            }
            Ok(answer) => Check::failed(self.failure(&answer, &action, Target::Domain).to_string()),
            Err(e) => Check::failed(e.to_string()),
        }
    }
}

#[async_trait]
impl Pbx for NetSapiensClient {
    fn kind(&self) -> &'static str {
        "NetSapiens"
    }

    fn domain(&self) -> &str {
        self.d()
    }

    async fn list_extensions(&self) -> Result<Vec<Extension>, PbxError> {
        // The two listings are independent: asked at once, a large domain's pages of users
        // and of devices come back side by side instead of one after the other.
        let (users, devices) = futures::try_join!(self.users(), self.devices_by_extension())?;
        let mut devices = match devices {
            Some(map) => map,
            None => {
                let extensions: Vec<String> = users.iter().map(|u| u.extension.clone()).collect();
                let per_user: Vec<(String, Vec<String>)> = stream::iter(extensions)
                    .map(|ext| async move { self.device_ids_of(&ext).await.map(|ids| (ext, ids)) })
                    .buffer_unordered(DEVICE_LIST_CONCURRENCY)
                    .try_collect()
                    .await?;
                per_user.into_iter().collect()
            }
        };
        let mut out: Vec<Extension> = users
            .into_iter()
            .map(|u| {
                let ids = devices.remove(&u.extension).unwrap_or_default();
                wire::extension(u, ids)
            })
            .collect();
        out.sort_by(|a, b| wire::compare_extensions(&a.id, &b.id));
        Ok(out)
    }

    async fn list_devices(&self, extension: &str) -> Result<Vec<Device>, PbxError> {
        Self::check_id("extension", extension)?;
        let action = format!(
            "list the devices of extension {extension} in domain {}",
            self.d()
        );
        let call = Call::get(self.path(&["users", extension, "devices"]), action.clone());
        let answer = self.t().execute(&call).await?;
        if answer.status == StatusCode::NOT_FOUND && wire::is_empty_list_404(&answer.message()) {
            // An empty list answered with 404: make sure the extension itself exists.
            let user = Call::get(self.path(&["users", extension]), action.clone());
            let found = self.t().execute(&user).await?;
            if found.status.is_success() {
                return Ok(Vec::new());
            }
            return Err(self.failure(&found, &action, Target::Extension(extension)));
        }
        if !answer.status.is_success() {
            return Err(self.failure(&answer, &action, Target::Extension(extension)));
        }
        let rows = match answer.json() {
            Some(Value::Array(rows)) => rows,
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(o)) if o.is_empty() => Vec::new(),
            Some(_) => return Err(Self::unexpected(&action, "expected a JSON list")),
        };
        let mut devices: Vec<Device> = rows
            .iter()
            .filter_map(|r| wire::device(r, extension, self.d()))
            .collect();
        devices.sort_by(|a, b| wire::compare_extensions(&a.auth_id, &b.auth_id));
        Ok(devices)
    }

    async fn get_device(&self, extension: &str, auth_id: &str) -> Result<Device, PbxError> {
        let auth_id = crate::model::bare_device_id(auth_id);
        Self::check_id("extension", extension)?;
        Self::check_id("device", auth_id)?;
        let action = format!(
            "read device {auth_id} on extension {extension} in domain {}",
            self.d()
        );
        self.read_device(extension, auth_id, &action).await
    }

    async fn create_device(&self, extension: &str, new: NewDevice) -> Result<Device, PbxError> {
        let auth_id = crate::model::bare_device_id(&new.auth_id).to_owned();
        Self::check_id("extension", extension)?;
        Self::check_id("device", &auth_id)?;
        let new = NewDevice {
            auth_id: auth_id.clone(),
            ..new
        };
        let action = format!(
            "create device {auth_id} on extension {extension} in domain {}",
            self.d()
        );
        let call = Call {
            method: Method::POST,
            path: self.path(&["users", extension, "devices"]),
            query: Vec::new(),
            body: Some(wire::create_device_body(&new)),
            action: action.clone(),
            idempotent: false,
        };
        let answer = self.t().execute(&call).await?;
        let target = Target::Device {
            extension,
            device: &auth_id,
        };
        let exists = PbxError::DeviceExists {
            device: auth_id.clone(),
            extension: extension.to_owned(),
            domain: self.d().to_owned(),
        };
        match answer.status.as_u16() {
            200 | 201 => {
                let created = answer
                    .json()
                    .as_ref()
                    .and_then(|v| wire::device(v, extension, self.d()));
                match created {
                    Some(d) if d.sip_password.is_some() => Ok(d),
                    // No usable body (or no password in it): read what the PBX stored.
                    _ => self.read_back(extension, &auth_id, &action).await,
                }
            }
            202 => self.read_back(extension, &auth_id, &action).await,
            // Our first attempt may have created it before failing to answer: then the
            // device is ours, read it back instead of reporting a conflict.
            409 if answer.attempts > 1 => self.read_back(extension, &auth_id, &action).await,
            409 => Err(exists),
            400 | 422 => {
                let message = answer.message();
                let lower = message.to_ascii_lowercase();
                if lower.contains("already exist") {
                    Err(exists)
                } else if new.emergency_address_id.is_none() && lower.contains("emergency") {
                    Err(PbxError::EmergencyAddressRequired {
                        device: auth_id.clone(),
                        extension: extension.to_owned(),
                        domain: self.d().to_owned(),
                        detail: message,
                    })
                } else {
                    Err(self.failure(&answer, &action, target))
                }
            }
            _ => Err(self.failure(&answer, &action, target)),
        }
    }

    async fn delete_device(&self, extension: &str, auth_id: &str) -> Result<(), PbxError> {
        let auth_id = crate::model::bare_device_id(auth_id);
        Self::check_id("extension", extension)?;
        Self::check_id("device", auth_id)?;
        let action = format!(
            "delete device {auth_id} on extension {extension} in domain {}",
            self.d()
        );
        let call = Call {
            method: Method::DELETE,
            path: self.path(&["users", extension, "devices", auth_id]),
            query: Vec::new(),
            body: None,
            action: action.clone(),
            idempotent: true,
        };
        let answer = self.t().execute(&call).await?;
        match answer.status.as_u16() {
            200..=299 => Ok(()),
            // A retried delete whose first attempt went through: the device is gone, as asked.
            404 if answer.attempts > 1 => Ok(()),
            _ => Err(self.failure(
                &answer,
                &action,
                Target::Device {
                    extension,
                    device: auth_id,
                },
            )),
        }
    }

    async fn list_phone_numbers(&self, extension: &str) -> Result<Vec<String>, PbxError> {
        Self::check_id("extension", extension)?;
        // NetSapiens v2 lists a domain's numbers in one collection (each a dial rule whose
        // destination user is the extension it rings); there is no per-user listing.
        let action = format!("list the phone numbers of domain {}", self.d());
        let rows = self
            .list_all(
                self.path(&["phonenumbers"]),
                &action,
                Target::Domain,
                |body| wire::value_page(body, &action),
            )
            .await?;
        let mut numbers: Vec<String> = rows
            .iter()
            .filter_map(wire::phone_number)
            .filter(|n| n.enabled && n.extension == extension)
            .map(|n| n.number)
            .collect();
        numbers.sort();
        numbers.dedup();
        Ok(numbers)
    }

    async fn list_emergency_addresses(
        &self,
        extension: &str,
    ) -> Result<Vec<EmergencyAddress>, PbxError> {
        Self::check_id("extension", extension)?;
        let action = format!(
            "list the emergency addresses of extension {extension} in domain {}",
            self.d()
        );
        let rows = self
            .list_all(
                self.path(&["users", extension, "addresses"]),
                &action,
                Target::Extension(extension),
                |body| wire::value_page(body, &action),
            )
            .await?;
        let mut seen = HashSet::new();
        Ok(rows
            .iter()
            .filter_map(wire::address)
            .filter(|a| seen.insert(a.id.clone()))
            .collect())
    }

    async fn create_emergency_address(
        &self,
        extension: &str,
        address: NewEmergencyAddress,
    ) -> Result<EmergencyAddress, PbxError> {
        Self::check_id("extension", extension)?;
        let required = [
            ("name", &address.name),
            ("caller name", &address.caller_name),
            ("address line 1", &address.line1),
            ("city", &address.city),
            ("state", &address.state),
            ("postal code", &address.postal_code),
            ("country", &address.country),
        ];
        if let Some((field, _)) = required.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(PbxError::InvalidInput {
                what: format!("the emergency address {field}"),
                problem: "is required".to_owned(),
            });
        }
        let action = format!(
            "add an emergency address for extension {extension} in domain {}",
            self.d()
        );
        let validate_first = self.inner.validate_addresses.load(Ordering::Relaxed);
        let body = if validate_first {
            self.validated_address_body(&address, &action).await?
        } else {
            wire::create_address_body(&address)
        };
        let mut answer = self.post_address(extension, body, &action).await?;
        if !validate_first
            && matches!(answer.status.as_u16(), 400 | 422)
            && wire::asks_for_validation(&answer.message())
        {
            // The v2 spec's create takes the id and standardised address of a validation.
            self.inner.validate_addresses.store(true, Ordering::Relaxed);
            let body = self.validated_address_body(&address, &action).await?;
            answer = self.post_address(extension, body, &action).await?;
        }
        if !answer.status.is_success() {
            return Err(self.failure(&answer, &action, Target::Extension(extension)));
        }
        if let Some(created) = answer.json().as_ref().and_then(wire::address) {
            return Ok(created);
        }
        // 202 or an answer without the id: find the new address in the list.
        let listed = self.list_emergency_addresses(extension).await?;
        listed
            .into_iter()
            .rev()
            .find(|a| {
                a.name == address.name
                    && a.line1 == address.line1
                    && a.postal_code == address.postal_code
            })
            .ok_or_else(|| {
                Self::unexpected(
                    &action,
                    "the new address is not in the extension's list yet",
                )
            })
    }

    async fn doctor(&self, extension: Option<&str>) -> Vec<teamline_domain::diagnosis::Check> {
        self.run_doctor(extension).await
    }

    async fn test_connection(&self) -> ConnectionReport {
        let skipped = |why: &str| Check::skipped(format!("not checked: {why}"));
        let reachable = self.check_reachable().await;
        if !reachable.is_passed() {
            return ConnectionReport {
                reachable,
                authenticated: skipped("the API is not reachable"),
                domain_exists: skipped("the API is not reachable"),
                can_list_users: skipped("the API is not reachable"),
            };
        }
        let authenticated = self.check_authenticated().await;
        if !authenticated.is_passed() {
            return ConnectionReport {
                reachable,
                authenticated,
                domain_exists: skipped("the credentials were refused"),
                can_list_users: skipped("the credentials were refused"),
            };
        }
        let domain_exists = self.check_domain().await;
        if !domain_exists.is_passed() {
            return ConnectionReport {
                reachable,
                authenticated,
                domain_exists,
                can_list_users: skipped("the domain is not available"),
            };
        }
        let can_list_users = self.check_users().await;
        ConnectionReport {
            reachable,
            authenticated,
            domain_exists,
            can_list_users,
        }
    }
}
