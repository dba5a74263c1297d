#![doc = include_str!("../README.md")]

mod aad;
mod client;
pub mod config;
pub mod direct_routing;
pub mod directory;
pub mod doctor;
mod error;
mod graph;
mod http;
mod learned;
mod odata;
pub mod signin;
mod teams_admin;
mod tenant;
pub mod throttle;
mod tokens;
pub mod voice;

pub use client::{MicrosoftClient, MicrosoftCloud, TenantApi};
pub use config::{MicrosoftConfig, PollPolicy, RetryPolicy, Timeouts};
pub use direct_routing::TenantVoiceSetup;
pub use directory::Directory;
pub use error::MicrosoftError;
pub use learned::{CreateForm, PolicyPath};
pub use signin::SignIn;
pub use voice::TeamsVoice;
