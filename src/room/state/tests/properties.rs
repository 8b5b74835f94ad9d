//! Properties of the room over random sequences of inputs: what each connection may learn, that every
//! host's list is the queue, capacity, the media gate, and the room's own invariants after every step.

use std::collections::BTreeMap;

use chrono::Duration;
use proptest::prelude::*;

use super::observer::{Listed, Observer, every_member_was_told};
use super::*;
use crate::room::state::connections::Place;
use crate::room::state::seats::Capacity;

#[derive(Debug, Clone)]
enum Step {
    Join {
        conn: ConnId,
        credential: Credential,
        /// Whose resume token it presents: that connection's, or (`Some(None)`) the one that
        /// went last's (the common case: a dropped connection coming back).
        resume_of: Option<Option<ConnId>>,
    },
    /// None: a connection that is outside the room, if any (so most knocks are real ones).
    Knock(Option<ConnId>),
    Cancel(ConnId),
    /// `host` None: a connection that is a host, if any; `knocker` None: every waiting knock.
    Handle {
        host: Option<ConnId>,
        knocker: Option<ConnId>,
        action: KnockAction,
    },
    Lock(ConnId, bool),
    Leave(ConnId),
    /// Its page says it is closing, then its socket goes.
    PageClosed(ConnId),
    /// A page back with a connection's resume token, or (None) with that of the connection that
    /// went last, previews the room (a reload's review).
    PageBack(Option<ConnId>),
    Disconnect(ConnId),
    Chat(ConnId),
    React(ConnId),
    LowerAllHands(ConnId),
    /// A connection (`.0`) asks another's (`.1`) microphone off.
    AskMedia(ConnId, ConnId),
    Kick(ConnId, ConnId),
    /// A host (`.0`) sends a member (`.1`) back to the waiting room.
    SendBack(ConnId, ConnId),
    /// The REST API decides the knock of a connection's client, or (None) every knock.
    Api(Option<ConnId>, KnockAction),
    /// A host's word to one knocker, or (None) to everyone waiting.
    Message(ConnId, Option<ConnId>),
    Relay(ConnId, ConnId),
    /// A connection (`.0`) puts a connection's client (`.1`) alone in the spotlight, or (None)
    /// nobody.
    Spotlight(ConnId, Option<ConnId>),
    /// A connection (`.0`) adds a connection's client (`.1`) to the spotlight, or (`.2` false)
    /// takes them out.
    ChangeSpotlight(ConnId, ConnId, bool),
    /// A connection starts (true) or stops the recording.
    Record(ConnId, bool),
    /// A connection (`.0`) raises or lowers (`.2`) its own hand, or (`.1`) a connection's client's.
    Hand(ConnId, Option<ConnId>, bool),
    Advance(i64),
    /// The room is handed over to another server (or this one, restarted) and carried on there.
    Move,
}

fn conn_id() -> impl Strategy<Value = ConnId> {
    1u64..10
}

fn credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        3 => Just(Credential::None),
        2 => Just(Credential::Host),
        1 => Just(Credential::Viewer),
        // The client a grant names is chosen when the step runs (see `run_steps`).
        1 => Just(Credential::Grant(ClientId::new(""))),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let action = || {
        prop_oneof![
            Just(KnockAction::Accept),
            Just(KnockAction::Hold),
            Just(KnockAction::Reject)
        ]
    };
    prop_oneof![
        4 => (conn_id(), credential(), proptest::option::weighted(0.25, proptest::option::weighted(0.5, conn_id())))
            .prop_map(|(conn, credential, resume_of)| {
                // A page back after its connection dropped presents its token alone.
                let credential = if resume_of == Some(None) { Credential::None } else { credential };
                Step::Join { conn, credential, resume_of }
            }),
        4 => proptest::option::weighted(0.3, conn_id()).prop_map(Step::Knock),
        1 => conn_id().prop_map(Step::Cancel),
        4 => (proptest::option::weighted(0.3, conn_id()), proptest::option::weighted(0.8, conn_id()), action())
            .prop_map(|(host, knocker, action)| Step::Handle { host, knocker, action }),
        1 => (conn_id(), any::<bool>()).prop_map(|(c, l)| Step::Lock(c, l)),
        1 => conn_id().prop_map(Step::Leave),
        1 => conn_id().prop_map(Step::PageClosed),
        1 => proptest::option::weighted(0.3, conn_id()).prop_map(Step::PageBack),
        2 => conn_id().prop_map(Step::Disconnect),
        1 => conn_id().prop_map(Step::Chat),
        1 => conn_id().prop_map(Step::React),
        1 => conn_id().prop_map(Step::LowerAllHands),
        1 => (conn_id(), conn_id()).prop_map(|(a, b)| Step::AskMedia(a, b)),
        1 => (conn_id(), conn_id()).prop_map(|(a, b)| Step::Kick(a, b)),
        1 => (conn_id(), conn_id()).prop_map(|(a, b)| Step::SendBack(a, b)),
        2 => (proptest::option::weighted(0.8, conn_id()), action())
            .prop_map(|(knocker, action)| Step::Api(knocker, action)),
        1 => (conn_id(), proptest::option::weighted(0.5, conn_id()))
            .prop_map(|(host, knocker)| Step::Message(host, knocker)),
        1 => (conn_id(), conn_id()).prop_map(|(a, b)| Step::Relay(a, b)),
        1 => (conn_id(), proptest::option::weighted(0.8, conn_id()))
            .prop_map(|(a, b)| Step::Spotlight(a, b)),
        2 => (conn_id(), conn_id(), any::<bool>())
            .prop_map(|(a, b, lit)| Step::ChangeSpotlight(a, b, lit)),
        2 => (conn_id(), proptest::option::weighted(0.3, conn_id()), any::<bool>())
            .prop_map(|(a, b, up)| Step::Hand(a, b, up)),
        1 => (conn_id(), any::<bool>()).prop_map(|(a, on)| Step::Record(a, on)),
        2 => (1i64..30).prop_map(Step::Advance),
        1 => Just(Step::Move),
    ]
}

fn run_steps(mode: RoomMode, locked: bool, steps: Vec<Step>) {
    let mut h = Harness::new(mode, locked);
    let mut observer = Observer::default();
    let capacity = Capacity::of(mode);
    let mut tokens: BTreeMap<ConnId, String> = BTreeMap::new();
    let mut last_gone: Option<ConnId> = None;
    // Fresh ids are unique, as the random ids of the signalling layer are.
    let mut serial = 0u64;
    for step in steps {
        serial += 1;
        let mut disconnect = None;
        let input = match step {
            Step::Join {
                conn,
                credential,
                resume_of,
            } => Input::Join(JoinRequest {
                // A grant for this connection's own client when it has one (the honest case), or
                // for a member away (its page reloaded: the grant, not the token), or for a client
                // the room never admitted (a valid but unexpected grant).
                credential: match credential {
                    Credential::Grant(_) => Credential::Grant(
                        h.room
                            .conns
                            .get(conn)
                            .map(|c| c.client_id.clone())
                            .or_else(|| {
                                let away = h.room.away_members.values();
                                away.min_by_key(|m| m.client_id.clone())
                                    .map(|m| m.client_id.clone())
                            })
                            .unwrap_or_else(|| ClientId::new(format!("g{serial}"))),
                    ),
                    other => other,
                },
                conn,
                fresh_client_id: ClientId::new(format!("c{conn}-{serial}")),
                peer: ip(conn as u8),
                identity: Identity {
                    display_name: format!("N{conn}"),
                    external_id: Some(format!("x{conn}")),
                    metadata: Some(format!("m{conn}")),
                    avatar_url: None,
                    user_agent: None,
                },
                media: Default::default(),
                device: None,
                resume_token: resume_of
                    .and_then(|of| of.or(last_gone))
                    .and_then(|c| tokens.get(&c).cloned()),
                fresh_resume_token: format!("t{conn}-{serial}"),
            }),
            Step::Knock(conn) => {
                let outside = h
                    .room
                    .conns
                    .iter()
                    .find(|(_, c)| c.place == Place::Outside)
                    .map(|(id, _)| id);
                Input::Knock {
                    conn: conn.or(outside).unwrap_or(1),
                    display_name: None,
                }
            }
            Step::Cancel(conn) => Input::CancelKnock { conn },
            Step::Handle {
                host,
                knocker,
                action,
            } => {
                let host = host
                    .or_else(|| h.room.conns.hosts().first().copied())
                    .unwrap_or(1);
                let target = match knocker.and_then(|k| h.room.conns.get(k)) {
                    Some(c) => KnockTarget::One(c.client_id.clone()),
                    None => KnockTarget::All,
                };
                Input::HandleKnock {
                    by: Decider::Host(host),
                    target,
                    action,
                    message: Some("m".into()),
                }
            }
            Step::Lock(conn, locked) => Input::SetLock { conn, locked },
            Step::Leave(conn) => Input::Leave { conn },
            Step::PageClosed(conn) => {
                let said = h.input(Input::PageClosing { conn });
                assert!(said.is_empty(), "nobody hears of a closing page: {said:?}");
                disconnect = Some(conn);
                last_gone = Some(conn);
                Input::Disconnected { conn }
            }
            Step::PageBack(of) => match of.or(last_gone).and_then(|c| tokens.get(&c)) {
                Some(token) => Input::PageBack {
                    resume_token: token.clone(),
                },
                None => Input::Tick,
            },
            Step::Disconnect(conn) => {
                disconnect = Some(conn);
                last_gone = Some(conn);
                Input::Disconnected { conn }
            }
            Step::Chat(conn) => Input::Chat {
                conn,
                text: "hello".into(),
            },
            Step::SendBack(conn, target) => match h.room.conns.get(target) {
                Some(t) => Input::SendToWaitingRoom {
                    conn,
                    target: t.client_id.clone(),
                    message: Some("one moment".into()),
                },
                None => Input::Tick,
            },
            Step::Api(knocker, action) => Input::HandleKnock {
                by: Decider::Api,
                target: match knocker.and_then(|k| h.room.conns.get(k)) {
                    Some(c) => KnockTarget::One(c.client_id.clone()),
                    None => KnockTarget::All,
                },
                action,
                message: None,
            },
            Step::Message(conn, knocker) => Input::MessageKnockers {
                conn,
                target: match knocker.and_then(|k| h.room.conns.get(k)) {
                    Some(c) => KnockTarget::One(c.client_id.clone()),
                    None => KnockTarget::All,
                },
                message: "soon".into(),
            },
            // A target without a connection: a member away, if any (hosts may remove them too).
            Step::Kick(conn, target) => match h.room.conns.get(target) {
                Some(t) => Input::Kick {
                    conn,
                    target: t.client_id.clone(),
                },
                None => {
                    let mut away: Vec<&ClientId> =
                        h.room.away_members.values().map(|a| &a.client_id).collect();
                    away.sort();
                    match away.get(target as usize % away.len().max(1)) {
                        Some(client) => Input::Kick {
                            conn,
                            target: (*client).clone(),
                        },
                        None => Input::Tick,
                    }
                }
            },
            Step::Relay(conn, target) => match h.room.conns.get(target) {
                Some(t) => Input::Relay {
                    conn,
                    kind: RelayKind::IceCandidate,
                    to: t.client_id.clone(),
                    payload: payload("{}"),
                },
                None => Input::Tick,
            },
            Step::Spotlight(conn, target) => Input::SetSpotlight {
                conn,
                target: target.map(|t| match h.room.conns.get(t) {
                    Some(c) => c.client_id.clone(),
                    None => ClientId::new(format!("nobody-{t}")),
                }),
            },
            Step::ChangeSpotlight(conn, target, lit) => Input::ChangeSpotlight {
                conn,
                target: match h.room.conns.get(target) {
                    Some(c) => c.client_id.clone(),
                    None => ClientId::new(format!("nobody-{target}")),
                },
                lit,
            },
            Step::Record(conn, on) => Input::SetRecording { conn, on },
            Step::Hand(conn, target, raised) => Input::SetHand {
                conn,
                target: target.map(|t| match h.room.conns.get(t) {
                    Some(c) => c.client_id.clone(),
                    None => ClientId::new(format!("nobody-{t}")),
                }),
                raised,
            },
            Step::AskMedia(conn, target) => Input::AskMedia {
                conn,
                targets: vec![match h.room.conns.get(target) {
                    Some(c) => c.client_id.clone(),
                    None => ClientId::new(format!("nobody-{target}")),
                }],
                ask: crate::room::model::MediaAsk::Mute,
            },
            Step::LowerAllHands(conn) => Input::LowerAllHands { conn },
            Step::React(conn) => Input::React {
                conn,
                reaction: crate::room::model::Reaction::Clap,
            },
            Step::Advance(seconds) => {
                h.now += Duration::seconds(seconds);
                Input::Tick
            }
            Step::Move => {
                // Carried on elsewhere, every knocker is away until it reconnects.
                let queue: Vec<_> = h
                    .room
                    .knock_views()
                    .into_iter()
                    .map(|k| KnockView { away: true, ..k })
                    .collect();
                let mut inside: std::collections::BTreeSet<ClientId> = h
                    .room
                    .room_view(true)
                    .clients
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                inside.extend(h.room.away_members.values().map(|m| m.client_id.clone()));
                for (conn, event) in h.move_room() {
                    observer.receive(conn, &event);
                }
                for conn in std::mem::take(&mut h.closed) {
                    observer.disconnected(conn);
                }
                // Carried on: the same knocks in the same order with the same holds and messages
                // (for the hosts to find when they come back), the same people inside, away.
                assert_eq!(h.room.knock_views(), queue, "the queue moves whole");
                let away: std::collections::BTreeSet<ClientId> = h
                    .room
                    .away_members
                    .values()
                    .map(|m| m.client_id.clone())
                    .collect();
                assert_eq!(away, inside, "everyone inside may come back");
                Input::Tick
            }
        };
        let facts_before = h.facts.len();
        let closed_before = h.closed.len();
        // Invariant: what is said to change nothing kept (so a cluster does not keep the room
        // after it) changes nothing a snapshot holds.
        let unchanged = (!input.may_change_state()).then(|| h.room.snapshot());
        let said = h.input(input);
        if let Some(before) = unchanged {
            assert_eq!(
                h.room.snapshot(),
                before,
                "a step said to change nothing kept did"
            );
        }
        for (conn, event) in said {
            if let Event::AtDoor(door) = &event {
                tokens.insert(conn, door.resume_token.clone());
            }
            if let Event::Joined(joined) = &event {
                tokens.insert(conn, joined.resume_token.clone());
            }
            observer.receive(conn, &event);
        }
        for fact in &h.facts[facts_before..] {
            observer.fact(fact);
        }
        for conn in h.closed.split_off(closed_before) {
            // A closed connection is gone: the actor reports the disconnect.
            observer.disconnected(conn);
            h.input(Input::Disconnected { conn });
            last_gone = Some(conn);
        }
        if let Some(conn) = disconnect {
            observer.disconnected(conn);
        }
        // Invariant: every host's list is the room's queue.
        let truth: Vec<Listed> = h
            .room
            .knock_views()
            .into_iter()
            .map(|k| (k.client_id, k.state, k.away))
            .collect();
        for (host, queue) in &observer.host_queues {
            assert_eq!(queue, &truth, "host {host}'s list differs from the queue");
        }
        // Invariant: capacity is never exceeded, counting the seats held for admitted knockers.
        let held = h.room.seats.held_count();
        assert!(h.room.participant_count() + held <= capacity.participants);
        assert!(h.room.member_count() + held <= capacity.total);
        // The observer's idea of membership is the room's.
        let members: std::collections::BTreeSet<ConnId> =
            h.room.conns.member_conns().into_iter().collect();
        assert_eq!(members, observer.members);
        let clients = h.room.room_view(true).clients;
        // Invariant: every member knows who is in, and who of them is away, as the room does.
        let truth: BTreeMap<ClientId, bool> =
            clients.iter().map(|c| (c.id.clone(), c.away)).collect();
        for (member, roster) in &observer.rosters {
            assert_eq!(
                roster, &truth,
                "member {member}'s roster differs from the room"
            );
        }
        // Who is in the room (present or away), with their roles.
        let in_room: BTreeMap<ClientId, Role> =
            clients.into_iter().map(|c| (c.id, c.role)).collect();
        // Invariant: everyone outside the room knows what it may of it: whether a host is in
        // (present or away), whether the call is being recorded, and whether it is locked.
        let door = DoorView {
            host_present: in_room.values().any(|role| *role == Role::Host),
            recording: h.room.recording().is_some(),
            locked: h.room.locked,
        };
        for conn in h.room.conns.outsiders() {
            assert_eq!(observer.doors.get(&conn), Some(&door), "outsider {conn}");
        }
        // Invariant: the spotlight is on at most four people in the room who send a picture, each
        // once, and every member was told who, in order.
        let spotlights = h.room.spotlights().to_vec();
        assert!(
            spotlights.len() <= crate::room::state::spotlight::SPOTLIGHT_MAX,
            "{spotlights:?}"
        );
        let distinct: std::collections::BTreeSet<&ClientId> = spotlights.iter().collect();
        assert_eq!(
            distinct.len(),
            spotlights.len(),
            "once each: {spotlights:?}"
        );
        for client in &spotlights {
            assert!(
                in_room
                    .get(client)
                    .is_some_and(|role| *role != Role::Viewer),
                "the spotlight is on {client}, not a participant in the room"
            );
        }
        every_member_was_told(
            &observer.members,
            &observer.spotlights,
            &spotlights,
            "spotlight",
        );
        // Invariant: the recording is a host's in the room (their connection may be away), and
        // every member was told whose.
        let recording = h.room.recording().map(|r| r.by.clone());
        if let Some(by) = &recording {
            assert_eq!(
                in_room.get(by),
                Some(&Role::Host),
                "{by} records, not a host in the room"
            );
        }
        every_member_was_told(
            &observer.members,
            &observer.recordings,
            &recording,
            "recording",
        );
        assert_eq!(
            observer.recording_fact, recording,
            "the facts say whose recording runs"
        );
        // Invariant: hands are up only for people in the room, once each, and every member knows
        // whose, in the order they went up.
        let hands: Vec<ClientId> = h.room.hands().iter().map(|(c, _)| c.clone()).collect();
        let distinct: std::collections::BTreeSet<&ClientId> = hands.iter().collect();
        assert_eq!(distinct.len(), hands.len(), "a hand is up once: {hands:?}");
        assert!(
            hands.iter().all(|c| in_room.contains_key(c)),
            "hands of people gone: {hands:?}"
        );
        every_member_was_told(&observer.members, &observer.hands, &hands, "hands");
        // The media gate: exactly the members have a media path (not those away), never a knocker.
        let member_clients: std::collections::BTreeSet<ClientId> = truth
            .into_iter()
            .filter(|(_, away)| !away)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            h.media, member_clients,
            "media admitted to exactly the members"
        );
        h.room.check_invariants();
        if h.room.is_ended() {
            assert!(
                observer.inside.is_empty(),
                "an ended room has {:?} inside",
                observer.inside
            );
            break;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn invariants_hold_in_locked_normal_rooms(steps in proptest::collection::vec(step(), 1..80)) {
        run_steps(RoomMode::Normal, true, steps);
    }

    #[test]
    fn invariants_hold_in_unlocked_group_rooms(steps in proptest::collection::vec(step(), 1..80)) {
        run_steps(RoomMode::Group, false, steps);
    }
}
