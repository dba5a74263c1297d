//! Browser tests: the Enterprise portal in headless Chromium (Debian's chromium and
//! chromium-driver), against the demo stack with its simulated Microsoft 365 tenant and
//! NetSapiens PBX. They follow the seed article step by step and its failure paths.

// Test code asserts by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod pages;

mod accessibility;
mod acting;
mod audit_log;
mod bulk_upload;
mod calls;
mod failures;
mod ladder;
mod onboarding;
mod pbx_form;
mod phone;
mod readiness;
mod screenshots;
mod seed_article;
mod time_zone;
