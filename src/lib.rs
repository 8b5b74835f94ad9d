//! anteroom: a self-hosted video-meeting server whose heart is the waiting room.
//!
//! Layout: `api` is the Whereby-compatible REST API, `store` the persistence behind one trait,
//! `tokens` the signed room keys, `config` the settings and `app` the wiring that runs it all.

pub mod api;
pub mod app;
pub mod config;
pub mod meeting;
pub mod room;
pub mod signal;
pub mod store;
pub mod tokens;
pub mod web;
pub mod webhooks;
