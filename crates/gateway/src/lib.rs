//! Teamline's control of its SIP gateway.
//!
//! Kamailio does the SIP; this crate makes it do what Teamline wants. It renders Kamailio's
//! configuration from typed settings ([`config`]), runs Kamailio as a supervised child process
//! for the demo and the tests ([`supervisor`]; in production systemd runs it), talks to it over
//! its JSON-RPC ([`rpc`]), and keeps its set of device-handle registrations equal to the set
//! Teamline wants ([`registration`], [`reconcile`]), with the PBX's SIP proxy found in DNS as
//! the PBX location says ([`dns`]).
//!
//! Teamline owns the desired state; Kamailio holds nothing that only it knows. Kamailio starts
//! with no registrations and gets every record, SIP password included, over an RPC listener
//! bound to loopback or a private address.

pub mod calls;
pub mod config;
pub mod dns;
pub mod media;
pub mod reconcile;
pub mod registration;
pub mod rpc;
pub mod service;
pub mod supervisor;
pub mod trace;

#[cfg(feature = "testing")]
pub mod testing;
