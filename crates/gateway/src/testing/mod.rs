//! Test fixtures (feature `testing`): every piece of a call's path, real, on loopback — the
//! stand-in PBX (the simulated NetSapiens PBX and its Kamailio registrar), the gateway node
//! (Kamailio supervised, rtpengine), and a stand-in for Microsoft's SIP proxies and media
//! processor (Kamailio over mutual TLS and its own rtpengine), with certificates made here.
//! The gateway's tests, the CLI's tests and `teamline bench calls` run on them.
//!
//! Nothing is skipped: a missing tool (kamailio, rtpengine, sipp) fails with the Debian
//! package to install.

// Fixtures, like assertions: a setup that fails panics with what failed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod calls;
pub mod node;
