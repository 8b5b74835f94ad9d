//! A fuzz-style target over structured input: frames of the protocol's own shapes, from several
//! connections, go through the decoder and the translation into a room's state machine, with
//! disconnects and the passing of time in between. After every step the room's invariants hold,
//! exactly its members have a media path, and only connections it knows hear from it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::protocol::ClientMessage;
use super::translate::{Translated, translate};
use crate::meeting::{ClientId, MeetingId, RoomMode, RoomName};
use crate::room::event::{Event, MediaChange, Output};
use crate::room::input::Input;
use crate::room::model::{ConnId, Credential, Decider, KnockAction, KnockTarget, Theme};
use crate::room::state::{Room, RoomConfig};

#[derive(Debug, Clone)]
enum Key {
    None,
    Host,
    Viewer,
    /// A grant for the client at this index of those seen so far.
    Grant(usize),
    Garbage,
}

#[derive(Debug, Clone)]
enum Act {
    /// A frame from a connection; `pick` chooses among the client ids and resume tokens seen.
    Frame {
        conn: ConnId,
        frame: Shape,
        pick: usize,
    },
    Disconnect(ConnId),
    Advance(i64),
    /// The REST API decides the knock of the client at `pick`, or all of them.
    Api {
        all: bool,
        action: &'static str,
        pick: usize,
    },
}

#[derive(Debug, Clone)]
enum Shape {
    Join {
        key: Key,
        name: String,
        resume: bool,
    },
    Knock(Option<String>),
    Cancel,
    Handle {
        all: bool,
        action: &'static str,
        message: Option<String>,
    },
    Lock(bool),
    Leave,
    Chat(String),
    Kick,
    End,
    Relay(&'static str),
    Message {
        all: bool,
        text: String,
    },
    SendBack(Option<String>),
    /// A network sample: bits a second and per cent lost, valid or not.
    Sample(f64, f64),
    /// The spotlight on the picked client, or (false) on nobody.
    Spotlight(bool),
    /// The picked client added to the spotlight (true) or taken out (false).
    ChangeSpotlight(bool),
    /// The recording started (true) or stopped.
    Record(bool),
    /// A hand up or down: one's own, or (true) the picked client's.
    Hand {
        raised: bool,
        other: bool,
    },
    LowerAllHands,
    /// A reaction by name, known or not.
    Reaction(&'static str),
    /// A host's request of the picked client's media (or of nobody), by name, known or not.
    AskMedia {
        ask: &'static str,
        nobody: bool,
    },
    /// The removal of a chat message by an id, well formed or not.
    RemoveChat(String),
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        3 => Just(Key::None),
        2 => Just(Key::Host),
        1 => Just(Key::Viewer),
        2 => (0usize..16).prop_map(Key::Grant),
        1 => Just(Key::Garbage),
    ]
}

/// Texts people type, good and bad (too long, forbidden characters, blank).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z ]{1,12}",
        1 => ".{0,30}",
        1 => Just("x".repeat(1100)),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    let action = proptest::sample::select(vec!["accept", "hold", "reject"]);
    let relay = proptest::sample::select(vec![
        "ready_to_receive_offer",
        "sdp_offer",
        "sdp_answer",
        "ice_candidate",
        "ice_end_of_candidates",
    ]);
    prop_oneof![
        5 => (key(), text(), proptest::bool::weighted(0.2))
            .prop_map(|(key, name, resume)| Shape::Join { key, name, resume }),
        4 => proptest::option::weighted(0.3, text()).prop_map(Shape::Knock),
        1 => Just(Shape::Cancel),
        4 => (proptest::bool::weighted(0.3), action, proptest::option::weighted(0.5, text()))
            .prop_map(|(all, action, message)| Shape::Handle { all, action, message }),
        1 => any::<bool>().prop_map(Shape::Lock),
        1 => Just(Shape::Leave),
        1 => text().prop_map(Shape::Chat),
        1 => Just(Shape::Kick),
        1 => Just(Shape::End),
        2 => relay.prop_map(Shape::Relay),
        1 => (any::<bool>(), text()).prop_map(|(all, text)| Shape::Message { all, text }),
        1 => proptest::option::weighted(0.5, text()).prop_map(Shape::SendBack),
        1 => (-10.0f64..1e10, -5.0f64..150.0).prop_map(|(bps, loss)| Shape::Sample(bps, loss)),
        1 => any::<bool>().prop_map(Shape::Spotlight),
        1 => any::<bool>().prop_map(Shape::ChangeSpotlight),
        1 => any::<bool>().prop_map(Shape::Record),
        1 => (any::<bool>(), proptest::bool::weighted(0.3))
            .prop_map(|(raised, other)| Shape::Hand { raised, other }),
        1 => Just(Shape::LowerAllHands),
        1 => proptest::sample::select(vec!["clap", "heart", "party", ""]).prop_map(Shape::Reaction),
        1 => (proptest::sample::select(vec!["mute", "turn_off_camera", "unmute", "turn_on_camera", "explode"]),
              proptest::bool::weighted(0.2))
            .prop_map(|(ask, nobody)| Shape::AskMedia { ask, nobody }),
        1 => prop_oneof![Just(String::new()), "[0-9]{1,13}-[0-9]{1,3}", ".{0,80}"].prop_map(Shape::RemoveChat),
    ]
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        12 => (1u64..8, shape(), 0usize..16)
            .prop_map(|(conn, frame, pick)| Act::Frame { conn, frame, pick }),
        2 => (1u64..8).prop_map(Act::Disconnect),
        1 => (1i64..40).prop_map(Act::Advance),
        1 => (any::<bool>(), proptest::sample::select(vec!["accept", "hold", "reject"]), 0usize..16)
            .prop_map(|(all, action, pick)| Act::Api { all, action, pick }),
    ]
}

/// What the run has seen, to aim later frames at real clients and tokens.
#[derive(Default)]
struct Seen {
    clients: Vec<ClientId>,
    tokens: Vec<String>,
}

impl Seen {
    fn client(&self, pick: usize) -> Option<&ClientId> {
        (!self.clients.is_empty()).then(|| &self.clients[pick % self.clients.len()])
    }

    fn learn(&mut self, event: &Event) {
        let (client, token) = match event {
            Event::Joined(joined) => (Some(&joined.self_id), None),
            Event::AtDoor(door) => (Some(&door.self_id), Some(&door.resume_token)),
            Event::KnockSent { client_id } => (Some(client_id), None),
            _ => (None, None),
        };
        if let Some(client) = client
            && !self.clients.contains(client)
        {
            self.clients.push(client.clone());
        }
        if let Some(token) = token
            && !self.tokens.contains(token)
        {
            self.tokens.push(token.clone());
        }
    }
}

fn frame(shape: &Shape, pick: usize, seen: &Seen) -> Value {
    let client = seen.client(pick).map(|c| c.as_str().to_owned());
    match shape {
        Shape::Join { key, name, resume } => {
            let room_key = match key {
                Key::None => None,
                Key::Host => Some("host".to_owned()),
                Key::Viewer => Some("viewer".to_owned()),
                Key::Grant(i) => seen.client(*i).map(|c| format!("grant:{c}")),
                Key::Garbage => Some("not-a-key".to_owned()),
            };
            let token = (*resume && !seen.tokens.is_empty())
                .then(|| seen.tokens[pick % seen.tokens.len()].clone());
            json!({"type": "join_room", "payload": {"roomName": "/fuzz", "roomKey": room_key,
                   "displayName": name, "resumeToken": token}})
        }
        Shape::Knock(name) => json!({"type": "knock_room", "payload": {"displayName": name}}),
        Shape::Cancel => json!({"type": "cancel_room_knock"}),
        Shape::Handle {
            all,
            action,
            message,
        } => {
            let target = if *all || client.is_none() {
                json!({"all": true})
            } else {
                json!({"clientId": client})
            };
            let mut payload = target;
            payload["action"] = json!(action);
            payload["message"] = json!(message);
            json!({"type": "handle_knock", "payload": payload})
        }
        Shape::Lock(locked) => json!({"type": "set_lock", "payload": {"locked": locked}}),
        Shape::Leave => json!({"type": "leave_room"}),
        Shape::Chat(text) => json!({"type": "chat_message", "payload": {"text": text}}),
        Shape::Kick => {
            json!({"type": "kick_client", "payload": {"clientId": client.unwrap_or_default()}})
        }
        Shape::End => json!({"type": "end_meeting"}),
        Shape::Message { all, text } => {
            let mut payload = if *all || client.is_none() {
                json!({"all": true})
            } else {
                json!({"clientId": client})
            };
            payload["message"] = json!(text);
            json!({"type": "message_knockers", "payload": payload})
        }
        Shape::SendBack(message) => json!({"type": "send_to_waiting_room", "payload": {
            "clientId": client.unwrap_or_default(), "message": message}}),
        Shape::Relay(kind) => json!({"type": kind, "payload": {
            "receiverId": client.unwrap_or_default(), "message": {"sdp": "v=0", "type": "offer"}}}),
        Shape::Sample(bps, loss) => json!({"type": "network_sample", "payload": {
            "bitrateSend": bps, "bitrateRecv": bps, "packetLossSend": loss, "packetLossRecv": loss}}),
        Shape::Spotlight(on) => json!({"type": "set_spotlight", "payload": {
            "clientId": if *on { client } else { None }}}),
        Shape::ChangeSpotlight(lit) => json!({
            "type": if *lit { "add_spotlight" } else { "remove_spotlight" },
            "payload": {"clientId": client.unwrap_or_default()}}),
        Shape::Record(on) => {
            json!({"type": if *on { "start_recording" } else { "stop_recording" }})
        }
        Shape::Hand { raised, other } => json!({"type": "set_hand", "payload": {
            "raised": raised, "clientId": if *other { client } else { None }}}),
        Shape::LowerAllHands => json!({"type": "lower_all_hands"}),
        Shape::Reaction(name) => json!({"type": "send_reaction", "payload": {"reaction": name}}),
        Shape::AskMedia { ask, nobody } => {
            let ids: Vec<String> = if *nobody {
                Vec::new()
            } else {
                client.into_iter().collect()
            };
            json!({"type": "ask_media", "payload": {"clientIds": ids, "ask": ask}})
        }
        Shape::RemoveChat(id) => json!({"type": "remove_chat_message", "payload": {"id": id}}),
    }
}

/// The signing layer's part, played by the test: what each key stands for.
fn credential(key: Option<&str>) -> Option<Credential> {
    match key {
        None => Some(Credential::None),
        Some("host") => Some(Credential::Host),
        Some("viewer") => Some(Credential::Viewer),
        Some(key) => key
            .strip_prefix("grant:")
            .map(|id| Credential::Grant(ClientId::new(id))),
    }
}

fn room(mode: RoomMode, locked: bool) -> Room {
    let start = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
    Room::new(RoomConfig {
        meeting_id: MeetingId(1),
        room_name: RoomName::parse("/fuzz").unwrap(),
        mode,
        locked,
        expires_at: start + Duration::hours(1),
        reject_cooldown: Duration::seconds(20),
        resume_grace: Duration::seconds(15),
        knock_away_grace: Duration::seconds(120),
        grant_validity: Duration::minutes(5),
        session_end_grace: Duration::seconds(30),
        max_knocks: 5,
        max_knocks_per_address: 3,
        knock_timeout: Some(Duration::seconds(50)),
        theme: Theme::default(),
        recording: crate::meeting::RecordingKind::Local,
    })
}

fn run(mode: RoomMode, locked: bool, acts: Vec<Act>) {
    let mut room = room(mode, locked);
    let mut now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
    let mut seen = Seen::default();
    let mut media: BTreeMap<ClientId, ConnId> = BTreeMap::new();
    let mut known: BTreeSet<ConnId> = BTreeSet::new();
    let mint = |client: &ClientId| format!("grant:{client}");
    for act in acts {
        let mut inputs = Vec::new();
        match act {
            Act::Frame {
                conn,
                frame: shape,
                pick,
            } => {
                let text = frame(&shape, pick, &seen).to_string();
                let message = match ClientMessage::decode(&text) {
                    Ok(message) => message,
                    // A payload of the wrong shape (an unknown reaction, say) is refused with a
                    // reason before it is translated; nothing reaches the room.
                    Err(refused) => {
                        assert!(!refused.message.is_empty());
                        continue;
                    }
                };
                match translate(conn, message, None) {
                    Ok(Translated::Room(input)) => inputs.push(input),
                    // Preview, media-server frames and pings do not reach the room.
                    Ok(Translated::Preview { .. } | Translated::Media(_) | Translated::Ping) => {}
                    Ok(Translated::Join(join)) => {
                        if let Some(credential) = credential(join.room_key.as_deref()) {
                            let peer = IpAddr::V4(Ipv4Addr::new(127, 0, 0, conn as u8));
                            inputs.push(join.into_request(conn, peer, credential));
                            known.insert(conn);
                        }
                    }
                    Err(refused) => assert!(!refused.message.is_empty()),
                }
            }
            Act::Disconnect(conn) => inputs.push(Input::Disconnected { conn }),
            Act::Api { all, action, pick } => {
                let target = match seen.client(pick) {
                    Some(client) if !all => KnockTarget::One(client.clone()),
                    _ => KnockTarget::All,
                };
                let action = match action {
                    "accept" => KnockAction::Accept,
                    "hold" => KnockAction::Hold,
                    _ => KnockAction::Reject,
                };
                inputs.push(Input::HandleKnock {
                    by: Decider::Api,
                    target,
                    action,
                    message: None,
                });
            }
            Act::Advance(seconds) => {
                now += Duration::seconds(seconds);
                inputs.push(Input::Tick);
            }
        }
        while let Some(input) = inputs.pop() {
            let sender = input.conn();
            for output in room.handle(now, input, &mint) {
                match output {
                    Output::Send { to, event } => {
                        for conn in &to {
                            assert!(
                                known.contains(conn) || Some(*conn) == sender,
                                "the room wrote to connection {conn}, which it never met"
                            );
                        }
                        seen.learn(&event);
                    }
                    // The actor reports a closed connection's end.
                    Output::Close { conn } => {
                        known.remove(&conn);
                        inputs.push(Input::Disconnected { conn });
                    }
                    Output::Fact(_) => {}
                    Output::Answer(_) => assert!(sender.is_none(), "an answer to a connection"),
                    Output::Measured { client_id, .. } => {
                        assert_eq!(mode, RoomMode::Normal, "a group room's server measures");
                        assert!(media.contains_key(&client_id), "a sample of a non-member");
                    }
                    Output::Media(MediaChange::Admit {
                        client_id, conn, ..
                    }) => {
                        assert!(media.insert(client_id, conn).is_none(), "admitted twice");
                    }
                    Output::Media(MediaChange::Revoke { client_id }) => {
                        assert!(media.remove(&client_id).is_some(), "revoked unadmitted");
                    }
                }
            }
            room.check_invariants();
        }
        let present = room.room_view(true).clients.into_iter().filter(|c| !c.away);
        let members: BTreeSet<ClientId> = present.map(|c| c.id).collect();
        let admitted: BTreeSet<ClientId> = media.keys().cloned().collect();
        assert_eq!(admitted, members, "media paths are exactly the members'");
        if room.is_ended() {
            assert!(media.is_empty());
            break;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn frames_drive_a_locked_normal_room(acts in proptest::collection::vec(act(), 1..120)) {
        run(RoomMode::Normal, true, acts);
    }

    #[test]
    fn frames_drive_an_open_group_room(acts in proptest::collection::vec(act(), 1..120)) {
        run(RoomMode::Group, false, acts);
    }
}
