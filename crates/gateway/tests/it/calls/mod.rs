//! Calls through the gateway with real peers on every side (see `stack`).

mod basic;
mod features;
mod ladder;
mod media_relay;
mod microsoft_side;
mod offers;
mod policies;
pub mod stack;
mod test_call;
mod unanswered;
