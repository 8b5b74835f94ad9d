//! A room fact as the webhook event Whereby would send: `{id, apiVersion, createdAt, type, data}`.
//!
//! Every fact a room records gets its body here, on the path a cluster's room waits for: so it is
//! written straight from typed fields (a `serde_json::Value` built key by key cost 5 % of a node's
//! CPU under load). Fields are declared in alphabetical order, as a `Value` would print them, so
//! the bodies are the bytes they were.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::meeting::facts::{FactKind, RoomFact};
use crate::meeting::format_date;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    api_version: &'static str,
    created_at: String,
    data: Data<'a>,
    id: String,
    r#type: &'static str,
}

/// `Option<Option<_>>`: outer `None` leaves the field out, `Some(None)` writes `null`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    decided_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_locked: Option<bool>,
    meeting_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_clients: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_clients_by_role_name: Option<BTreeMap<&'static str, u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participant_id: Option<&'a str>,
    /// Ours: why someone left, a knock was cancelled or a session ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_name: Option<&'static str>,
    room_name: &'a str,
    room_session_id: Option<&'a str>,
    subdomain: &'a str,
}

/// The compact JSON body of the event for this fact.
pub fn envelope(fact: &RoomFact, subdomain: &str) -> String {
    let client = fact.client.as_ref();
    let counted = fact.kind.changes_attendance();
    let verdict = matches!(
        fact.kind,
        FactKind::KnockHeld | FactKind::KnockRejected | FactKind::KnockAccepted
    );
    let data = Data {
        decided_by: fact.decided_by.filter(|_| verdict).map(|by| by.as_str()),
        display_name: client.map(|c| c.display_name.as_str()),
        external_id: client.map(|c| c.external_id.as_deref()),
        is_locked: match fact.kind {
            FactKind::Locked => Some(true),
            FactKind::Unlocked => Some(false),
            _ => None,
        },
        meeting_id: fact.meeting_id.to_string(),
        message: verdict.then_some(fact.message.as_deref()),
        metadata: client.map(|c| c.metadata.as_deref()),
        num_clients: counted.then_some(fact.counts.total),
        num_clients_by_role_name: counted.then(|| {
            fact.counts
                .by_role
                .iter()
                .map(|(role, n)| (role.as_str(), *n))
                .collect()
        }),
        participant_id: client.map(|c| c.client_id.as_str()),
        reason: fact.why.map(|why| why.as_str()),
        role_name: client.and_then(|c| c.role).map(|role| role.as_str()),
        room_name: fact.room_name.as_str(),
        room_session_id: fact.room_session_id.as_deref(),
        subdomain,
    };
    let envelope = Envelope {
        api_version: "1.0",
        created_at: format_date(fact.at),
        data,
        id: uuid::Uuid::new_v4().to_string(),
        r#type: fact.kind.event_type(),
    };
    serde_json::to_string(&envelope).expect("an envelope of strings and numbers always serialises")
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
