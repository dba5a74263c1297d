//! Calls through the gateway with real peers on every side (see `stack`).

mod basic;
pub mod stack;
