//! The portal over HTTP: sessions, CSRF, scoping and error pages, on a real server with a
//! fresh SQLite store holding the demo data.

// Test code asserts by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acting;
mod api;
mod app;
mod audit_log;
mod bulk_upload;
mod calls;
mod consent;
mod device_on_save;
mod edit_and_move;
mod enterprise_edit;
mod foundations;
mod gateway_health;
mod hardening;
mod isolation;
mod onboarding;
mod operator;
mod pages;
mod pbx_audit;
mod portal_truth;
mod preview;
mod readiness;
mod registrations;
mod reseller;
mod reseller_reports;
mod signin;
mod sip_ladder;
mod two_factor;
mod users;
mod users_list;
