//! Shared simulator state: configuration, tenants, the app registrations and Entra's sign-in
//! state (pending flows, codes, refresh tokens, browser sessions).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use super::jwt::SigningKeys;
use super::model::Tenant;

/// How single entities of the Teams administration API are returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntityShape {
    /// As Microsoft's documentation samples show it: the object wrapped in `{"value": {...}}`
    /// (operations and userConfigurations GET by id).
    #[default]
    Documented,
    /// Plain OData: the object itself with `@odata.context`.
    Flat,
}

/// Simulator settings that apply to all tenants.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Shape of single Teams administration entities (see [`EntityShape`]).
    pub entity_shape: EntityShape,
    /// Objects per page of a delta round.
    pub delta_page_size: usize,
    /// Default `$top` of Graph collections.
    pub default_page_size: usize,
    /// Lifetime of issued access and id tokens.
    pub token_lifetime: Duration,
    /// Age after which a delta token answers `syncStateNotFound` (Graph: 7 days).
    pub delta_token_max_age: Duration,
    /// Base URL printed in issuers, links and `Location` headers. When `None`, it is taken from
    /// each request's `Host` header and the listener's scheme.
    pub public_base_url: Option<String>,
    /// Where domain verification looks up a domain's TXT records (the platform's
    /// authoritative server). `None`: the record counts as published once the control API
    /// says so (`/_sim/…/domains/{id}/publish`), or always without
    /// `require_dns_for_domain_verification`.
    pub dns_nameserver: Option<std::net::SocketAddr>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            entity_shape: EntityShape::Documented,
            delta_page_size: 200,
            default_page_size: 100,
            token_lifetime: Duration::from_secs(3599),
            delta_token_max_age: Duration::from_secs(7 * 24 * 3600),
            public_base_url: None,
            dns_nameserver: None,
        }
    }
}

/// An app registration (multi-tenant) known to the simulated Entra ID.
#[derive(Clone)]
pub(crate) struct AppRegistration {
    pub client_id: String,
    pub secret: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub graph_roles: Vec<String>,
    pub delegated_scopes: Vec<String>,
}

/// What a pending browser flow will do once the user signed in.
#[derive(Clone, Debug)]
pub(crate) enum FlowKind {
    Authorize {
        scope: String,
        nonce: Option<String>,
        code_challenge: Option<String>,
        code_challenge_method: Option<String>,
        response_mode: String,
    },
    AdminConsent {
        scope: Option<String>,
        v1: bool,
    },
}

/// A browser flow between `/authorize` (or `/adminconsent`) and the redirect back to the app.
#[derive(Clone, Debug)]
pub(crate) struct Flow {
    pub kind: FlowKind,
    /// The tenant path segment (`organizations`, `common`, a GUID or a domain).
    pub tenant_segment: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub login_hint: Option<String>,
    /// Tenant id and user id once signed in.
    pub user: Option<(String, String)>,
    pub created: Instant,
}

/// An issued authorization code.
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub tenant_id: String,
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub issued: Instant,
    pub redeemed: bool,
}

/// An issued refresh token.
#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    pub tenant_id: String,
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
}

/// Entra's sign-in state.
#[derive(Default)]
pub(crate) struct EntraState {
    pub flows: HashMap<String, Flow>,
    pub codes: HashMap<String, AuthCode>,
    pub refresh: HashMap<String, RefreshGrant>,
    /// Browser sessions (`ESTSAUTH`-like cookie) -> (tenant id, user id).
    pub sessions: HashMap<String, (String, String)>,
}

/// All tenants, by id, plus the domain index.
#[derive(Default)]
pub(crate) struct Directory {
    pub tenants: HashMap<String, Arc<Mutex<Tenant>>>,
    pub by_domain: HashMap<String, String>,
    pub order: Vec<String>,
}

/// The simulator's shared state.
pub(crate) struct SimState {
    pub config: SimConfig,
    pub keys: Arc<SigningKeys>,
    pub directory: RwLock<Directory>,
    pub apps: Mutex<Vec<AppRegistration>>,
    pub entra: Mutex<EntraState>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the simulator's data
/// stays usable for the remaining requests).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SimState {
    /// A tenant by id (GUID), verified domain or display name (case-insensitive).
    pub(crate) fn tenant(&self, key: &str) -> Option<Arc<Mutex<Tenant>>> {
        let dir = self
            .directory
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let lower = key.to_ascii_lowercase();
        if let Some(t) = dir.tenants.get(&lower) {
            return Some(t.clone());
        }
        if let Some(id) = dir.by_domain.get(&lower) {
            return dir.tenants.get(id).cloned();
        }
        dir.tenants
            .values()
            .find(|t| lock(t).display_name.eq_ignore_ascii_case(key))
            .cloned()
    }

    /// Tenant ids in creation order.
    pub(crate) fn tenant_ids(&self) -> Vec<String> {
        self.directory
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .order
            .clone()
    }

    /// Adds (or replaces) a tenant and indexes its domains.
    pub(crate) fn insert_tenant(&self, tenant: Tenant) -> Arc<Mutex<Tenant>> {
        let id = tenant.id.to_ascii_lowercase();
        let domains: Vec<String> = tenant
            .domains
            .iter()
            .map(|d| d.id.to_ascii_lowercase())
            .collect();
        let arc = Arc::new(Mutex::new(tenant));
        let mut dir = self
            .directory
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !dir.tenants.contains_key(&id) {
            dir.order.push(id.clone());
        }
        dir.tenants.insert(id.clone(), arc.clone());
        for d in domains {
            dir.by_domain.insert(d, id.clone());
        }
        arc
    }

    /// Indexes a domain added to a tenant later (POST /domains).
    pub(crate) fn index_domain(&self, domain: &str, tenant_id: &str) {
        let mut dir = self
            .directory
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        dir.by_domain
            .insert(domain.to_ascii_lowercase(), tenant_id.to_ascii_lowercase());
    }

    pub(crate) fn app(&self, client_id: &str) -> Option<AppRegistration> {
        lock(&self.apps)
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
            .cloned()
    }
}
