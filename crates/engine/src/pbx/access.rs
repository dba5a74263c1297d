//! Reaching the PBX of a PBX location: builds (and briefly caches) a client from the stored
//! settings and decrypted credentials.

use crate::EngineError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use teamline_domain::ids::{EnterpriseId, PbxLocationId};
use teamline_domain::pbx_location::{PbxApiAuth, PbxLocation, PbxType};
use teamline_pbx::{NetSapiensAuth, NetSapiensClient, NetSapiensSettings, Pbx};
use teamline_store::DynStore;

/// Builds a PBX client for a location. Production uses [`ApiConnector`]; tests may point it
/// elsewhere.
#[async_trait]
pub trait PbxConnector: Send + Sync + 'static {
    async fn connect(
        &self,
        location: &PbxLocation,
        auth: PbxApiAuth,
    ) -> Result<Arc<dyn Pbx>, EngineError>;
}

/// Connects to the PBX's real API with the location's settings.
#[derive(Debug, Default)]
pub struct ApiConnector;

#[async_trait]
impl PbxConnector for ApiConnector {
    async fn connect(
        &self,
        location: &PbxLocation,
        auth: PbxApiAuth,
    ) -> Result<Arc<dyn Pbx>, EngineError> {
        let s = &location.settings;
        match s.pbx_type {
            PbxType::NetSapiens => {
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
                let settings =
                    NetSapiensSettings::new(s.api_base_url.as_str(), s.sip_domain.as_str(), auth);
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
    connector: Arc<dyn PbxConnector>,
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
        let auth = self.store.pbx_location_auth(enterprise, location).await?;
        let pbx = self.connector.connect(&loc, auth).await?;
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
