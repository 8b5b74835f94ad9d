//! Webhooks: room facts become Whereby-shaped events (`event.rs`), wait in the store's outbox, and a
//! delivery worker (`delivery.rs`) posts them, signed (`signing.rs`), with retries. Endpoints are
//! managed through `endpoints.rs`, by the REST API and the command line alike.

pub mod delivery;
pub mod endpoints;
pub mod event;
mod shares;
pub mod signing;

use crate::meeting::facts::FactKind;

/// Every event type an endpoint may subscribe to: Whereby's, then ours.
pub fn event_types() -> impl Iterator<Item = &'static str> {
    FactKind::all().map(FactKind::event_type)
}
