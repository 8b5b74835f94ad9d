//! anteroom: a self-hosted video-meeting server whose heart is the waiting room.
//!
//! Layers, arrows pointing down only (docs/architecture.md):
//! - transport: `api` (REST), `signal` (WebSocket), `web` (the browser client), `ops` (health and
//!   metrics), the command line;
//! - services: `services` (meetings, rooms, themes, recorder, keys, insights), `webhooks`;
//! - the room engine `room`, and the kernel `meeting` every layer speaks;
//! - ports and adapters: `store` (traits; SQLite and PostgreSQL under them), `cluster` (Redis:
//!   room leases, kept room state, shared limits); `tokens` signs room keys.
//!
//! `app` wires them together; `config` is every setting.

pub mod api;
pub mod app;
pub mod cluster;
pub mod config;
pub mod media;
pub mod meeting;
pub mod ops;
pub mod proxy;
pub mod room;
pub mod serve;
pub mod services;
pub mod signal;
pub mod store;
pub mod tokens;
pub mod web;
pub mod webhooks;

#[cfg(test)]
mod layers_tests;
