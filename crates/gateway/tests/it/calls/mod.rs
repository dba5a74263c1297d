//! Calls through the gateway with real peers on every side (see `stack`).

mod basic;
mod policies;
mod unanswered;
pub mod stack;
