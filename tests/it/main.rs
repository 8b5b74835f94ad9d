//! Integration tests: the real `anteroom` binary, a fresh data directory per test, real HTTP.

mod abuse;
mod auth;
mod away;
mod call;
mod cli;
mod crash;
mod door;
mod durability;
mod handover;
mod helpers;
mod insights;
mod media;
mod media_client;
mod meetings;
mod ops;
mod proxy;
mod rate_limit;
mod receiver;
mod recordings;
mod schema;
mod signal_join;
mod signal_knock;
mod signal_robustness;
mod themes;
mod webhooks;
mod ws;
