//! Teamline as the tests, the demo and the benchmarks run it, kept out of the production
//! crates:
//!
//! - [`demo`]: the demo data, and the one mapping from the simulators' seeds to it;
//! - [`testbed`]: an onboarded enterprise with many users on a generated simulated tenant;
//! - [`TestApp`]: the whole product on one machine — the Microsoft and NetSapiens
//!   simulators, a fresh SQLite or PostgreSQL database with the demo data, the engine, the
//!   portal on a random port and, when asked, the job runner and scheduler;
//! - the parts it is built from, for tests that need less: [`TestDatabase`],
//!   [`MicrosoftSimulator`], [`engine_for`], [`pbx_connector`], [`Workers`].

mod app;
mod database;
pub mod demo;
mod error;
mod simulators;
pub mod testbed;
mod workers;

pub use app::{DatabaseChoice, FirstSync, INVITATION_FROM, TestApp, TestAppBuilder};
pub use database::{DatabaseLocation, TestDatabase};
pub use error::TestkitError;
pub use simulators::{MicrosoftSimulator, engine_for, microsoft_client, pbx_connector};
pub use workers::Workers;
