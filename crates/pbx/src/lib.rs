//! Teamline's PBX side: the [`Pbx`] trait every PBX type implements, Teamline's own PBX types
//! ([`Extension`], [`Device`], [`EmergencyAddress`], …) and the NetSapiens API v2 client
//! ([`NetSapiensClient`]).
//!
//! Only this crate knows NetSapiens JSON. Callers build a client from plain settings (the PBX
//! location record, secrets already decrypted) and use it through `Arc<dyn Pbx>`:
//!
//! ```no_run
//! # async fn demo() -> Result<(), teamline_pbx::PbxError> {
//! use std::sync::Arc;
//! use secrecy::SecretString;
//! use teamline_pbx::{NetSapiensAuth, NetSapiensClient, NetSapiensSettings, NewDevice, Pbx};
//!
//! let settings = NetSapiensSettings::new(
//!     "https://pbx.example.com",
//!     "contoso",
//!     NetSapiensAuth::ApiKey(SecretString::from("nsr_...")),
//! );
//! let pbx: Arc<dyn Pbx> = Arc::new(NetSapiensClient::new(settings)?);
//! let addresses = pbx.list_emergency_addresses("1002").await?;
//! let address = teamline_pbx::default_emergency_address(&addresses, "1002").map(|a| a.id.clone());
//! let device = pbx
//!     .create_device("1002", NewDevice { auth_id: "1002tm".into(), sip_password: None, emergency_address_id: address })
//!     .await?;
//! # let _ = device; Ok(()) }
//! ```

mod error;
mod model;
pub mod netsapiens;
mod network;
mod pbx;

pub use error::PbxError;
pub use model::{
    AddressScope, Device, EmergencyAddress, Extension, NewDevice, NewEmergencyAddress,
    Registration, RegistrationState, bare_device_id, default_emergency_address, device_handle,
    split_device_handle,
};
pub use netsapiens::{
    CredentialScope, NetSapiensAuth, NetSapiensClient, NetSapiensSettings, RetryPolicy, Timeouts,
};
pub use network::{NetworkPolicy, is_public};
pub use pbx::{Check, CheckStatus, ConnectionReport, Pbx};
