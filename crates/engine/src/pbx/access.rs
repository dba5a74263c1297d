//! Reaching the PBX of a PBX location: builds (and briefly caches) a client from the stored
//! settings and decrypted credentials, under the operator's network policy.

use crate::EngineError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use teamline_domain::ids::{EnterpriseId, PbxLocationId};
use teamline_domain::pbx_location::{BoundPbxAuth, PbxApiAuth, PbxLocationSettings, PbxType};
use teamline_pbx::{
    CredentialScope, NetSapiensAuth, NetSapiensClient, NetSapiensSettings, NetworkPolicy, Pbx,
    PbxError,
};
use teamline_store::DynStore;

/// Builds a PBX client for a location. Production uses [`ApiConnector`]; tests may point it
/// elsewhere.
#[async_trait]
pub trait PbxConnector: Send + Sync + 'static {
    /// Whether Teamline may reach a PBX API with these settings at all (e.g. the operator's
    /// network policy), checked before they are saved or tested. Errors name the setting.
    fn check_settings(&self, settings: &PbxLocationSettings) -> Result<(), PbxError>;

    /// A client for `settings` with `credentials`, which must have been saved for these
    /// settings: a client for anything else is refused, so no code path sends stored secrets
    /// to a host, a domain or with a method other than the ones they were saved with.
    async fn connect(
        &self,
        settings: &PbxLocationSettings,
        credentials: BoundPbxAuth,
    ) -> Result<Arc<dyn Pbx>, EngineError>;
}

/// Connects to the PBX's real API with the location's settings.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApiConnector {
    /// Which hosts PBX APIs may be on (default: https on public addresses).
    pub network: NetworkPolicy,
}

impl ApiConnector {
    pub fn new(network: NetworkPolicy) -> Self {
        Self { network }
    }

    fn netsapiens_settings(
        &self,
        settings: &PbxLocationSettings,
        credentials: BoundPbxAuth,
    ) -> Result<NetSapiensSettings, PbxError> {
        let BoundPbxAuth { auth, bound_to } = credentials;
        if bound_to.auth_kind != settings.api_auth_kind || auth.kind() != settings.api_auth_kind {
            return Err(PbxError::CredentialsBoundElsewhere {
                field: "authentication method",
                saved_for: bound_to.auth_kind.as_str().to_owned(),
                requested: settings.api_auth_kind.as_str().to_owned(),
            });
        }
        let auth = match auth {
            PbxApiAuth::ApiKey { api_key } => NetSapiensAuth::ApiKey(api_key),
            PbxApiAuth::OAuth {
                client_id,
                client_secret,
                username,
                password,
            } => NetSapiensAuth::OAuth {
                client_id,
                client_secret,
                username,
                password,
            },
        };
        Ok(NetSapiensSettings::new(
            settings.api_base_url.as_str(),
            settings.sip_domain.as_str(),
            auth,
        )
        .credentials_saved_for(CredentialScope {
            api_base_url: bound_to.api_base_url.as_str().to_owned(),
            domain: bound_to.sip_domain.as_str().to_owned(),
        })
        .network(self.network))
    }
}

#[async_trait]
impl PbxConnector for ApiConnector {
    fn check_settings(&self, settings: &PbxLocationSettings) -> Result<(), PbxError> {
        match settings.pbx_type {
            PbxType::NetSapiens => {
                let root = teamline_pbx::netsapiens::api_root(settings.api_base_url.as_str())?;
                self.network.check_url(&root)
            }
        }
    }

    async fn connect(
        &self,
        settings: &PbxLocationSettings,
        credentials: BoundPbxAuth,
    ) -> Result<Arc<dyn Pbx>, EngineError> {
        match settings.pbx_type {
            PbxType::NetSapiens => {
                let settings = self.netsapiens_settings(settings, credentials)?;
                Ok(Arc::new(NetSapiensClient::new(settings)?))
            }
        }
    }
}

/// A client and when it was built.
type CachedClient = (Instant, Arc<dyn Pbx>);

/// How long a built client is reused: long enough to keep OAuth tokens and connections warm,
/// short enough that edited settings take effect soon (edits also clear it).
const CLIENT_TTL: Duration = Duration::from_secs(300);

/// The clients of the PBX locations in use.
pub(super) struct PbxAccess {
    store: DynStore,
    pub connector: Arc<dyn PbxConnector>,
    cache: Mutex<HashMap<PbxLocationId, CachedClient>>,
}

impl PbxAccess {
    pub fn new(store: DynStore, connector: Arc<dyn PbxConnector>) -> Self {
        Self {
            store,
            connector,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn client(
        &self,
        enterprise: EnterpriseId,
        location: PbxLocationId,
    ) -> Result<Arc<dyn Pbx>, EngineError> {
        if let Some(pbx) = self.cached(location) {
            return Ok(pbx);
        }
        let loc = self.store.get_pbx_location(enterprise, location).await?;
        let credentials = self.store.pbx_location_auth(enterprise, location).await?;
        let pbx = self.connector.connect(&loc.settings, credentials).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(location, (Instant::now(), pbx.clone()));
        }
        Ok(pbx)
    }

    fn cached(&self, location: PbxLocationId) -> Option<Arc<dyn Pbx>> {
        let cache = self.cache.lock().ok()?;
        cache
            .get(&location)
            .filter(|(at, _)| at.elapsed() < CLIENT_TTL)
            .map(|(_, pbx)| pbx.clone())
    }

    /// Forgets a location's client (after its settings changed).
    pub fn forget(&self, location: PbxLocationId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&location);
        }
    }
}
