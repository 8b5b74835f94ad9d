//! The decoder: what it accepts, how it explains what it refuses, and that nothing a client sends
//! makes it panic.

use proptest::prelude::*;
use serde_json::{Value, json};
use strum::IntoEnumIterator;

use super::*;

#[test]
fn decodes_messages_and_explains_bad_frames() {
    let join = ClientMessage::decode(
        r#"{"type":"join_room","payload":{"roomName":"/r","displayName":"Ann"}}"#,
    )
    .unwrap();
    assert!(matches!(join, ClientMessage::JoinRoom(j) if j.room_name == "/r"));
    assert_eq!(
        ClientMessage::decode(r#"{"type":"leave_room"}"#).unwrap(),
        ClientMessage::LeaveRoom
    );
    let bad = ClientMessage::decode("not json").unwrap_err();
    assert_eq!(bad.code, ErrorCode::InvalidJson);
    let unknown = ClientMessage::decode(r#"{"type":"fly"}"#).unwrap_err();
    assert_eq!(unknown.code, ErrorCode::UnknownType);
    assert_eq!(unknown.request_type.as_deref(), Some("fly"));
    let missing = ClientMessage::decode(r#"{"type":"set_lock","payload":{}}"#).unwrap_err();
    assert_eq!(missing.code, ErrorCode::InvalidPayload);
    assert!(missing.message.contains("locked"), "{}", missing.message);
    let wrong = ClientMessage::decode(r#"{"type":"handle_knock","payload":{"action":"maybe"}}"#)
        .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::InvalidPayload);
}

#[test]
fn every_message_type_is_named_once_and_round_trips() {
    let names: Vec<&str> = MessageType::iter().map(MessageType::as_str).collect();
    assert_eq!(names.len(), 34);
    for kind in MessageType::iter() {
        assert_eq!(kind.as_str().parse::<MessageType>(), Ok(kind));
    }
    assert_eq!(
        MessageType::of_relay(RelayKind::IceCandidate).as_str(),
        "ice_candidate"
    );
}

/// Any JSON value: what a hostile or broken client could put anywhere in a frame.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A known type, or a made-up one.
fn frame_type() -> impl Strategy<Value = String> {
    let known: Vec<String> = MessageType::iter().map(|t| t.as_str().to_owned()).collect();
    prop_oneof![
        4 => proptest::sample::select(known),
        1 => "[a-z_]{0,20}",
    ]
}

/// Payloads with the fields the protocol uses, holding values of any shape.
fn payload() -> impl Strategy<Value = Value> {
    let field = proptest::sample::select(vec![
        "roomName",
        "roomKey",
        "displayName",
        "externalId",
        "metadata",
        "resumeToken",
        "clientId",
        "all",
        "action",
        "message",
        "locked",
        "text",
        "receiverId",
    ]);
    prop::collection::vec((field, json_value()), 0..6).prop_map(|fields| {
        Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Frames of the right shape, with known and unknown types and payloads of any shape: decoding
    /// answers Ok or an error that says what was wrong, with the code for what broke.
    #[test]
    fn decoding_frames_of_any_shape_never_panics(
        kind in frame_type(),
        body in prop_oneof![payload(), json_value()],
        drop_payload in any::<bool>(),
    ) {
        let frame = if drop_payload {
            json!({"type": kind})
        } else {
            json!({"type": kind, "payload": body})
        };
        match ClientMessage::decode(&frame.to_string()) {
            Ok(message) => prop_assert_eq!(message.kind().as_str(), kind.as_str()),
            Err(err) => {
                prop_assert!(!err.message.is_empty());
                let known = kind.parse::<MessageType>().is_ok();
                let expected = if known { ErrorCode::InvalidPayload } else { ErrorCode::UnknownType };
                prop_assert_eq!(err.code, expected);
                prop_assert_eq!(err.request_type.as_deref(), Some(kind.as_str()));
            }
        }
    }

    /// Whole frames that are any JSON at all (objects without a string `type`, arrays, numbers…).
    #[test]
    fn decoding_any_json_never_panics(value in json_value()) {
        let typed = value.get("type").is_some_and(Value::is_string);
        if let Err(err) = ClientMessage::decode(&value.to_string()) {
            prop_assert!(!err.message.is_empty());
            if !typed {
                prop_assert_eq!(err.code, ErrorCode::InvalidJson);
            }
        }
    }
}
