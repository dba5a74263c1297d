//! Simulators of the services Teamline talks to: the Microsoft cloud (Entra ID sign-in and
//! consent, Microsoft Graph, Teams administration) and a NetSapiens PBX (API v2); and a
//! recording HTTP listener ([`recorder`]) that stands for a host nobody should send anything
//! to.
//!
//! They speak the real wire formats and enforce the real services' invariants, so that the demo
//! and every test exercise the same client code that production points at the real services.
//! This crate depends on no other Teamline crate: it must behave like the service, not like our
//! client.

pub mod microsoft;
pub mod netsapiens;
pub mod recorder;
pub mod tls;
