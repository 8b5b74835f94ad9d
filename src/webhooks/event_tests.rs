use chrono::TimeZone;
use serde_json::{Value, json};

use super::*;
use crate::meeting::facts::{ClientCounts, DecidedBy, FactClient};
use crate::meeting::{ClientId, MeetingId, Role, RoomName};

/// The body as it was built before, key by key in a `Value`: the reference the typed one must match
/// byte for byte (but for the event's random id).
fn built_as_a_value(fact: &RoomFact, subdomain: &str, id: &str) -> String {
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
        "id": id,
        "apiVersion": "1.0",
        "createdAt": format_date(fact.at),
        "type": fact.kind.event_type(),
        "data": data,
    })
    .to_string()
}

fn fact(kind: FactKind, client: Option<FactClient>, message: Option<&str>) -> RoomFact {
    let mut by_role = BTreeMap::new();
    by_role.insert(Role::Host, 1);
    by_role.insert(Role::GrantedVisitor, 2);
    RoomFact {
        kind,
        at: chrono::Utc
            .with_ymd_and_hms(2026, 12, 2, 21, 0, 0)
            .single()
            .expect("a valid date"),
        meeting_id: MeetingId(42),
        room_name: RoomName::parse("/room-1").expect("a valid room name"),
        room_session_id: (kind != FactKind::Locked).then(|| "session \"1\"".to_owned()),
        client,
        message: message.map(str::to_owned),
        decided_by: message.map(|_| DecidedBy::Host),
        counts: ClientCounts { total: 3, by_role },
        why: None,
    }
}

#[test]
fn every_kind_of_event_is_the_body_a_value_would_print() {
    let knocker = FactClient {
        client_id: ClientId::new("c-1"),
        role: None,
        display_name: "Pat \u{e9} \"Doe\"".into(),
        external_id: None,
        metadata: Some("{\"a\":1}".into()),
        user_agent: Some("bench".into()),
    };
    let member = FactClient {
        role: Some(Role::GrantedVisitor),
        external_id: Some("ext-9".into()),
        metadata: None,
        ..knocker.clone()
    };
    let mut checked = 0;
    for kind in FactKind::all() {
        for client in [None, Some(knocker.clone()), Some(member.clone())] {
            for message in [None, Some("come back at 3\n")] {
                let fact = fact(kind, client.clone(), message);
                let body = envelope(&fact, "acme");
                let id = serde_json::from_str::<Value>(&body).expect("a JSON body")["id"]
                    .as_str()
                    .expect("an id")
                    .to_owned();
                assert_eq!(body, built_as_a_value(&fact, "acme", &id), "{kind:?}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, FactKind::all().count() * 6);
}
