//! A room fact as the webhook event Whereby would send: `{id, apiVersion, createdAt, type, data}`.

use serde_json::{Value, json};

use crate::meeting::facts::{FactKind, RoomFact};
use crate::meeting::format_date;

/// The compact JSON body of the event for this fact.
pub fn envelope(fact: &RoomFact, subdomain: &str) -> String {
    let mut data = json!({
        "meetingId": fact.meeting_id.to_string(),
        "roomName": fact.room_name.as_str(),
        "roomSessionId": fact.room_session_id,
        "subdomain": subdomain,
    });
    if let Some(client) = &fact.client {
        data["participantId"] = json!(client.client_id.as_str());
        data["displayName"] = json!(client.display_name);
        data["metadata"] = json!(client.metadata);
        data["externalId"] = json!(client.external_id);
        if let Some(role) = client.role {
            data["roleName"] = json!(role.as_str());
        }
    }
    if matches!(
        fact.kind,
        FactKind::Joined | FactKind::Left | FactKind::SessionStarted | FactKind::SessionEnded
    ) {
        data["numClients"] = json!(fact.counts.total);
        let by_role: serde_json::Map<String, Value> = fact
            .counts
            .by_role
            .iter()
            .map(|(role, n)| (role.as_str().to_owned(), json!(n)))
            .collect();
        data["numClientsByRoleName"] = Value::Object(by_role);
    }
    match fact.kind {
        FactKind::KnockHeld | FactKind::KnockRejected | FactKind::KnockAccepted => {
            data["message"] = json!(fact.message);
            if let Some(by) = fact.decided_by {
                data["decidedBy"] = json!(by.as_str());
            }
        }
        FactKind::Locked => data["isLocked"] = json!(true),
        FactKind::Unlocked => data["isLocked"] = json!(false),
        _ => {}
    }
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "apiVersion": "1.0",
        "createdAt": format_date(fact.at),
        "type": fact.kind.event_type(),
        "data": data,
    })
    .to_string()
}
