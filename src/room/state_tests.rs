//! The state machine, driven directly: scenarios for each rule, then property tests of the invariants
//! over random command sequences.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::room::facts::FactKind;

fn config(mode: RoomMode, locked: bool) -> RoomConfig {
    RoomConfig {
        meeting_id: MeetingId(1),
        room_name: RoomName::parse("/room").unwrap(),
        mode,
        locked,
        expires_at: start() + Duration::hours(2),
        reject_cooldown: Duration::seconds(60),
        resume_grace: Duration::seconds(15),
        grant_validity: Duration::minutes(5),
        session_end_grace: Duration::seconds(30),
        max_knocks: 50,
        theme: RoomTheme::default(),
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn grant(id: &ClientId) -> String {
    format!("grant-for-{id}")
}

struct Harness {
    room: Room,
    now: DateTime<Utc>,
    facts: Vec<RoomFact>,
    closed: Vec<ConnId>,
}

impl Harness {
    fn new(mode: RoomMode, locked: bool) -> Self {
        Harness {
            room: Room::new(config(mode, locked)),
            now: start(),
            facts: Vec::new(),
            closed: Vec::new(),
        }
    }

    /// Feeds one input; returns what each connection received, in order.
    fn input(&mut self, input: Input) -> Vec<(ConnId, ServerEvent)> {
        let mut received = Vec::new();
        for output in self.room.handle(self.now, input, &grant) {
            match output {
                Output::Send { to, event } => {
                    for conn in to {
                        received.push((conn, event.clone()));
                    }
                }
                Output::Close { conn } => self.closed.push(conn),
                Output::Fact(fact) => self.facts.push(fact),
            }
        }
        received
    }

    fn join(
        &mut self,
        conn: ConnId,
        credential: Credential,
        name: &str,
    ) -> Vec<(ConnId, ServerEvent)> {
        self.input(Input::Join(JoinRequest {
            conn,
            fresh_client_id: ClientId::new(format!("c{conn}")),
            peer: ip(conn as u8),
            credential,
            identity: Identity {
                display_name: name.into(),
                external_id: None,
                metadata: None,
                user_agent: None,
            },
            resume_token: None,
            fresh_resume_token: format!("resume-{conn}"),
        }))
    }

    fn advance(&mut self, seconds: i64) -> Vec<(ConnId, ServerEvent)> {
        self.now += Duration::seconds(seconds);
        self.input(Input::Tick)
    }

    fn handle(
        &mut self,
        host: ConnId,
        knocker: &str,
        action: KnockAction,
        message: Option<&str>,
    ) -> Vec<(ConnId, ServerEvent)> {
        self.input(Input::HandleKnock {
            conn: host,
            target: KnockTarget::One(ClientId::new(knocker)),
            action,
            message: message.map(str::to_owned),
        })
    }

    fn fact_kinds(&self) -> Vec<FactKind> {
        self.facts.iter().map(|f| f.kind).collect()
    }
}

fn to(conn: ConnId, received: &[(ConnId, ServerEvent)]) -> Vec<ServerEvent> {
    received
        .iter()
        .filter(|(c, _)| *c == conn)
        .map(|(_, e)| e.clone())
        .collect()
}

fn error_code(events: &[ServerEvent]) -> Option<ErrorCode> {
    events.iter().find_map(|e| match e {
        ServerEvent::Error { code, .. } => Some(*code),
        _ => None,
    })
}

#[test]
fn unlocked_room_admits_visitors_and_tells_everyone() {
    let mut h = Harness::new(RoomMode::Normal, false);
    let first = h.join(1, Credential::None, "Ann");
    assert!(matches!(
        &to(1, &first)[0],
        ServerEvent::RoomJoined(RoomJoined::Joined {
            role: Role::Visitor,
            knockers: None,
            ..
        })
    ));
    let second = h.join(2, Credential::None, "Bob");
    assert!(
        matches!(&to(1, &second)[0], ServerEvent::NewClient { client } if client.display_name == "Bob")
    );
    match &to(2, &second)[0] {
        ServerEvent::RoomJoined(RoomJoined::Joined { room, .. }) => {
            assert_eq!(room.clients.len(), 2)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.fact_kinds(),
        vec![FactKind::Joined, FactKind::SessionStarted, FactKind::Joined]
    );
}

#[test]
fn locked_room_shows_a_knocker_only_the_door() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    let received = h.join(2, Credential::None, "Guest");
    assert_eq!(
        received.len(),
        1,
        "the host hears nothing of a mere visit: {received:?}"
    );
    match &received[0] {
        (
            2,
            ServerEvent::RoomJoined(RoomJoined::Locked {
                error,
                is_locked,
                resume_token,
                ..
            }),
        ) => {
            assert_eq!(*error, "room_locked");
            assert!(*is_locked);
            assert_eq!(resume_token, "resume-2");
        }
        other => panic!("{other:?}"),
    }
    let json = received[0].1.to_json();
    assert!(
        !json.contains("Host") && !json.contains("clients"),
        "no roster for a knocker: {json}"
    );
}

#[test]
fn knock_hold_accept_enter() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Dr Who");
    h.join(2, Credential::None, "Pat");
    let knocked = h.input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    assert!(matches!(&to(2, &knocked)[0], ServerEvent::KnockSent { .. }));
    assert!(
        matches!(&to(1, &knocked)[0], ServerEvent::RoomKnocked(k) if k.display_name == "Pat" && k.state == KnockState::Waiting)
    );

    let held = h.handle(1, "c2", KnockAction::Hold, Some("5 minutes"));
    match &to(2, &held)[0] {
        ServerEvent::KnockHandled(KnockHandled::Verdict {
            resolution: Resolution::Held,
            message,
            host_display_name,
            room_key: None,
            ..
        }) => {
            assert_eq!(message.as_deref(), Some("5 minutes"));
            assert_eq!(host_display_name.as_deref(), Some("Dr Who"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.room.knock_views()[0].state,
        KnockState::Held,
        "held knocks stay queued"
    );
    // Hold again with a new message, then accept.
    h.handle(1, "c2", KnockAction::Hold, Some("2 more minutes"));
    assert_eq!(
        h.room.knock_views()[0].hold_message.as_deref(),
        Some("2 more minutes")
    );
    let accepted = h.handle(1, "c2", KnockAction::Accept, None);
    let key = match &to(2, &accepted)[0] {
        ServerEvent::KnockHandled(KnockHandled::Verdict {
            resolution: Resolution::Accepted,
            room_key: Some(key),
            ..
        }) => key.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(key, "grant-for-c2");
    assert!(h.room.knock_views().is_empty());

    let entered = h.join(2, Credential::Grant(ClientId::new("c2")), "Pat");
    match &to(2, &entered)[0] {
        ServerEvent::RoomJoined(RoomJoined::Joined { role, self_id, .. }) => {
            assert_eq!(*role, Role::GrantedVisitor);
            assert_eq!(self_id.as_str(), "c2", "an admitted knocker keeps its id");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&to(1, &entered)[0], ServerEvent::NewClient { client } if client.role == Role::GrantedVisitor)
    );
    assert_eq!(
        h.fact_kinds(),
        vec![
            FactKind::Joined,
            FactKind::Knocked,
            FactKind::KnockHeld,
            FactKind::KnockHeld,
            FactKind::KnockAccepted,
            FactKind::SessionStarted,
            FactKind::Joined
        ]
    );
}

#[test]
fn a_knock_is_decided_once_and_every_host_hears_it() {
    let mut h = Harness::new(RoomMode::Group, true);
    h.join(1, Credential::Host, "H1");
    h.join(2, Credential::Host, "H2");
    h.join(3, Credential::None, "K");
    h.input(Input::Knock {
        conn: 3,
        display_name: None,
    });
    let rejected = h.handle(1, "c3", KnockAction::Reject, Some("not today"));
    for host in [1, 2] {
        assert!(matches!(
            &to(host, &rejected)[0],
            ServerEvent::KnockHandled(KnockHandled::Resolution {
                resolution: Resolution::Rejected,
                ..
            })
        ));
    }
    match &to(3, &rejected)[0] {
        ServerEvent::KnockHandled(KnockHandled::Verdict {
            resolution: Resolution::Rejected,
            message,
            retry_after_seconds,
            ..
        }) => {
            assert_eq!(message.as_deref(), Some("not today"));
            assert_eq!(*retry_after_seconds, Some(60));
        }
        other => panic!("{other:?}"),
    }
    let second = h.handle(2, "c3", KnockAction::Accept, None);
    assert_eq!(error_code(&to(2, &second)), Some(ErrorCode::KnockNotFound));
    assert!(
        to(3, &second).is_empty(),
        "the second decision is not applied"
    );

    // The rejected knocker may not knock again during the cooldown, even from a new connection.
    let again = h.input(Input::Knock {
        conn: 3,
        display_name: None,
    });
    assert_eq!(error_code(&to(3, &again)), Some(ErrorCode::KnockCooldown));
    h.advance(61);
    let later = h.input(Input::Knock {
        conn: 3,
        display_name: None,
    });
    assert!(matches!(&to(3, &later)[0], ServerEvent::KnockSent { .. }));
}

#[test]
fn knocks_wait_for_the_first_host_oldest_first() {
    let mut h = Harness::new(RoomMode::Normal, true);
    for conn in [5, 3, 4] {
        h.join(conn, Credential::None, &format!("K{conn}"));
        h.input(Input::Knock {
            conn,
            display_name: None,
        });
        h.advance(1);
    }
    let joined = h.join(1, Credential::Host, "Host");
    match &to(1, &joined)[0] {
        ServerEvent::RoomJoined(RoomJoined::Joined {
            knockers: Some(list),
            ..
        }) => {
            let names: Vec<&str> = list.iter().map(|k| k.display_name.as_str()).collect();
            assert_eq!(names, vec!["K5", "K3", "K4"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_and_disconnect_with_grace_and_resume() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "A");
    h.input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    let cancelled = h.input(Input::CancelKnock { conn: 2 });
    assert!(matches!(
        &to(1, &cancelled)[0],
        ServerEvent::KnockerLeft {
            reason: LeaveReason::Cancelled,
            ..
        }
    ));

    // Disconnect: the knock keeps its place; a resume within the grace gets it back, hold and all.
    h.join(3, Credential::None, "B");
    h.input(Input::Knock {
        conn: 3,
        display_name: None,
    });
    h.handle(1, "c3", KnockAction::Hold, Some("soon"));
    let dropped = h.input(Input::Disconnected { conn: 3 });
    assert!(
        dropped.is_empty(),
        "hosts are not told of a blip: {dropped:?}"
    );
    h.advance(10);
    let resumed = h.input(Input::Join(JoinRequest {
        conn: 9,
        fresh_client_id: ClientId::new("c9"),
        peer: ip(3),
        credential: Credential::None,
        identity: Identity {
            display_name: "B".into(),
            external_id: None,
            metadata: None,
            user_agent: None,
        },
        resume_token: Some("resume-3".into()),
        fresh_resume_token: "resume-9".into(),
    }));
    match &to(9, &resumed)[0] {
        ServerEvent::RoomJoined(RoomJoined::Locked {
            self_id,
            knock: Some(own),
            ..
        }) => {
            assert_eq!(self_id.as_str(), "c3");
            assert_eq!(own.state, KnockState::Held);
            assert_eq!(own.message.as_deref(), Some("soon"));
        }
        other => panic!("{other:?}"),
    }
    let accepted = h.handle(1, "c3", KnockAction::Accept, None);
    assert!(matches!(
        &to(9, &accepted)[0],
        ServerEvent::KnockHandled(KnockHandled::Verdict {
            resolution: Resolution::Accepted,
            ..
        })
    ));

    // Without a resume, the grace ends in a cancel.
    h.join(4, Credential::None, "C");
    h.input(Input::Knock {
        conn: 4,
        display_name: None,
    });
    h.input(Input::Disconnected { conn: 4 });
    assert!(h.advance(14).is_empty());
    let expired = h.advance(1);
    assert!(matches!(
        &to(1, &expired)[0],
        ServerEvent::KnockerLeft {
            reason: LeaveReason::Disconnected,
            ..
        }
    ));
    assert!(h.room.knock_views().is_empty());
}

#[test]
fn a_verdict_reached_while_away_is_delivered_on_resume() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "A");
    h.input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    h.input(Input::Disconnected { conn: 2 });
    h.handle(1, "c2", KnockAction::Accept, None);
    let resumed = h.input(Input::Join(JoinRequest {
        conn: 7,
        fresh_client_id: ClientId::new("c7"),
        peer: ip(2),
        credential: Credential::None,
        identity: Identity {
            display_name: "A".into(),
            external_id: None,
            metadata: None,
            user_agent: None,
        },
        resume_token: Some("resume-2".into()),
        fresh_resume_token: "resume-7".into(),
    }));
    let events = to(7, &resumed);
    assert!(matches!(
        &events[1],
        ServerEvent::KnockHandled(KnockHandled::Verdict {
            resolution: Resolution::Accepted,
            room_key: Some(_),
            ..
        })
    ));
}

#[test]
fn only_hosts_decide_lock_kick_and_end() {
    let mut h = Harness::new(RoomMode::Normal, false);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "Visitor");
    for input in [
        Input::SetLock {
            conn: 2,
            locked: true,
        },
        Input::Kick {
            conn: 2,
            target: ClientId::new("c1"),
        },
        Input::EndMeeting { conn: 2 },
        Input::HandleKnock {
            conn: 2,
            target: KnockTarget::All,
            action: KnockAction::Accept,
            message: None,
        },
    ] {
        let received = h.input(input);
        assert_eq!(error_code(&to(2, &received)), Some(ErrorCode::Forbidden));
        assert!(to(1, &received).is_empty());
    }
    assert!(!h.room.is_locked());

    let locked = h.input(Input::SetLock {
        conn: 1,
        locked: true,
    });
    for conn in [1, 2] {
        assert!(matches!(
            &to(conn, &locked)[0],
            ServerEvent::RoomLocked {
                is_locked: true,
                ..
            }
        ));
    }
    let kicked = h.input(Input::Kick {
        conn: 1,
        target: ClientId::new("c2"),
    });
    assert!(matches!(
        &to(2, &kicked)[0],
        ServerEvent::ClientKicked { .. }
    ));
    assert!(h.closed.contains(&2));
    assert!(matches!(
        &to(1, &kicked)[0],
        ServerEvent::ClientLeft {
            reason: LeaveReason::Kicked,
            ..
        }
    ));
}

#[test]
fn unlocking_does_not_admit_waiting_knockers() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "K");
    h.input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    let unlocked = h.input(Input::SetLock {
        conn: 1,
        locked: false,
    });
    assert!(
        to(2, &unlocked).is_empty(),
        "knockers are not told, nor let in"
    );
    assert_eq!(h.room.knock_views().len(), 1);
    // A new arrival follows the new state.
    let arrival = h.join(3, Credential::None, "New");
    assert!(matches!(
        &to(3, &arrival)[0],
        ServerEvent::RoomJoined(RoomJoined::Joined { .. })
    ));
}

fn verdicts(received: &[(ConnId, ServerEvent)], wanted: Resolution) -> Vec<ConnId> {
    received
        .iter()
        .filter(|(_, e)| {
            matches!(e, ServerEvent::KnockHandled(KnockHandled::Verdict { resolution, .. })
                if *resolution == wanted)
        })
        .map(|(conn, _)| *conn)
        .collect()
}

fn grant_of(conn: ConnId) -> Credential {
    Credential::Grant(ClientId::new(format!("c{conn}")))
}

/// A normal room (4 seats) with a host on connection 1 and knockers on the given connections.
fn host_with_knockers(knockers: std::ops::RangeInclusive<ConnId>) -> Harness {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    for conn in knockers {
        h.join(conn, Credential::None, "K");
        h.input(Input::Knock {
            conn,
            display_name: None,
        });
    }
    h
}

fn admit_all(h: &mut Harness) -> Vec<(ConnId, ServerEvent)> {
    h.input(Input::HandleKnock {
        conn: 1,
        target: KnockTarget::All,
        action: KnockAction::Accept,
        message: None,
    })
}

#[test]
fn admit_all_stops_at_capacity() {
    let mut h = host_with_knockers(2..=6);
    let all = admit_all(&mut h);
    assert_eq!(
        verdicts(&all, Resolution::Accepted),
        vec![2, 3, 4],
        "three seats are free and the oldest knocks get them"
    );
    assert_eq!(error_code(&to(1, &all)), Some(ErrorCode::RoomFull));
    assert_eq!(h.room.knock_views().len(), 2, "the others stay waiting");
    // The seats are held for the admitted: nobody else takes them meanwhile.
    let second_host = h.join(7, Credential::Host, "Late host");
    assert!(matches!(
        &to(7, &second_host)[0],
        ServerEvent::RoomJoined(RoomJoined::Full { .. })
    ));
    for conn in 2..=4 {
        let entered = h.join(conn, grant_of(conn), "K");
        assert!(
            matches!(
                &to(conn, &entered)[0],
                ServerEvent::RoomJoined(RoomJoined::Joined { .. })
            ),
            "an admitted knocker always finds its seat"
        );
    }
    assert_eq!(h.room.participant_count(), 4);
    assert!(h.room.held_seats.is_empty());
}

#[test]
fn a_seat_held_for_an_admitted_knocker_frees_after_the_grace() {
    let mut h = host_with_knockers(2..=5);
    admit_all(&mut h);
    assert_eq!(h.room.knock_views().len(), 1, "c5 waits");
    // Nobody admitted came in within the grace: their seats go back to the room.
    h.advance(16);
    assert!(h.room.held_seats.is_empty());
    let fifth = h.handle(1, "c5", KnockAction::Accept, None);
    assert_eq!(verdicts(&fifth, Resolution::Accepted), vec![5]);
    // Late arrivals still enter while seats remain (host + c5's held seat + c2 + c3 = 4).
    for conn in [2, 3] {
        let entered = h.join(conn, grant_of(conn), "K");
        assert!(matches!(
            &to(conn, &entered)[0],
            ServerEvent::RoomJoined(RoomJoined::Joined { .. })
        ));
    }
    let late = h.join(4, grant_of(4), "K");
    assert!(matches!(
        &to(4, &late)[0],
        ServerEvent::RoomJoined(RoomJoined::Full { .. })
    ));
    let fifth_enters = h.join(5, grant_of(5), "K");
    assert!(matches!(
        &to(5, &fifth_enters)[0],
        ServerEvent::RoomJoined(RoomJoined::Joined { .. })
    ));
}

#[test]
fn a_removed_guest_cannot_walk_back_in_with_its_grant() {
    let mut h = host_with_knockers(2..=2);
    h.handle(1, "c2", KnockAction::Accept, None);
    h.join(2, grant_of(2), "Pat");
    h.input(Input::Kick {
        conn: 1,
        target: ClientId::new("c2"),
    });
    h.input(Input::Disconnected { conn: 2 });
    let again = h.join(9, grant_of(2), "Pat");
    assert_eq!(error_code(&to(9, &again)), Some(ErrorCode::Forbidden));
    assert_eq!(h.room.participant_count(), 1);
    // It may knock again (a host decides anew); the room forgets the removal once grants expire.
    h.join(9, Credential::None, "Pat");
    let knocked = h.input(Input::Knock {
        conn: 9,
        display_name: None,
    });
    assert!(matches!(&to(1, &knocked)[0], ServerEvent::RoomKnocked(_)));
    h.advance(5 * 60 + 1);
    assert!(h.room.removed.is_empty());
}

#[test]
fn a_grant_enters_only_as_the_client_it_was_given_to() {
    let mut h = host_with_knockers(2..=2);
    h.handle(1, "c2", KnockAction::Accept, None);
    // A connection at the door as another client cannot use c2's grant.
    h.join(3, Credential::None, "Other");
    let stolen = h.join(3, grant_of(2), "Other");
    assert_eq!(
        error_code(&to(3, &stolen)),
        Some(ErrorCode::RoomKeyMismatch)
    );
    let entered = h.join(2, grant_of(2), "Pat");
    assert!(matches!(
        &to(2, &entered)[0],
        ServerEvent::RoomJoined(RoomJoined::Joined { self_id, .. }) if self_id.as_str() == "c2"
    ));
    assert_eq!(h.room.participant_count(), 2);

    // After a blip the server has not noticed yet, c2 comes back on a new connection: it is still
    // c2, and its old connection is replaced rather than left in the room as a ghost.
    let back = h.join(9, grant_of(2), "Pat");
    assert_eq!(
        error_code(&to(2, &back)),
        Some(ErrorCode::Replaced),
        "the old connection hears why"
    );
    assert!(h.closed.contains(&2));
    assert!(matches!(
        &to(1, &back)[..],
        [
            ServerEvent::ClientLeft { client_id, reason: LeaveReason::Replaced },
            ServerEvent::NewClient { client },
        ] if client_id.as_str() == "c2" && client.id.as_str() == "c2"
    ));
    assert!(matches!(
        &to(9, &back)[0],
        ServerEvent::RoomJoined(RoomJoined::Joined { self_id, role: Role::GrantedVisitor, .. })
            if self_id.as_str() == "c2"
    ));
    assert_eq!(h.room.participant_count(), 2, "one client, one seat");
}

#[test]
fn knockers_cannot_chat_or_signal_and_relays_are_addressed() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "K");
    h.join(3, Credential::Viewer, "V");
    let chat = h.input(Input::Chat {
        conn: 2,
        text: "hi".into(),
    });
    assert_eq!(error_code(&to(2, &chat)), Some(ErrorCode::NotInRoom));
    assert!(to(1, &chat).is_empty());
    let offer = h.input(Input::Relay {
        conn: 2,
        kind: RelayKind::SdpOffer,
        to: ClientId::new("c1"),
        message: json!({"sdp": "x"}),
    });
    assert_eq!(error_code(&to(2, &offer)), Some(ErrorCode::NotInRoom));
    assert!(to(1, &offer).is_empty());
    // A member cannot signal to a knocker either.
    let to_knocker = h.input(Input::Relay {
        conn: 1,
        kind: RelayKind::SdpOffer,
        to: ClientId::new("c2"),
        message: json!({}),
    });
    assert_eq!(
        error_code(&to(1, &to_knocker)),
        Some(ErrorCode::ClientNotFound)
    );
    assert!(to(2, &to_knocker).is_empty());
    let viewer_offer = h.input(Input::Relay {
        conn: 3,
        kind: RelayKind::SdpOffer,
        to: ClientId::new("c1"),
        message: json!({}),
    });
    assert_eq!(
        error_code(&to(3, &viewer_offer)),
        Some(ErrorCode::Forbidden)
    );
    let ok = h.input(Input::Relay {
        conn: 1,
        kind: RelayKind::SdpOffer,
        to: ClientId::new("c3"),
        message: json!({"sdp": "v=0"}),
    });
    assert_eq!(
        to(3, &ok),
        vec![ServerEvent::SdpOffer {
            client_id: ClientId::new("c1"),
            message: json!({"sdp": "v=0"})
        }]
    );
}

#[test]
fn ending_the_room_reaches_knockers_too() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "K");
    h.input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    let ended = h.input(Input::End(EndReason::MeetingDeleted));
    for conn in [1, 2] {
        assert_eq!(
            to(conn, &ended),
            vec![ServerEvent::RoomEnded {
                reason: EndReason::MeetingDeleted
            }]
        );
    }
    assert!(h.room.is_ended() && h.room.is_idle());
    let late = h.join(3, Credential::Host, "Late");
    assert_eq!(error_code(&to(3, &late)), Some(ErrorCode::RoomNotFound));
}

#[test]
fn a_session_starts_with_the_second_member_and_ends_after_the_grace() {
    let mut h = Harness::new(RoomMode::Normal, false);
    h.join(1, Credential::None, "A");
    assert!(h.facts.iter().all(|f| f.room_session_id.is_none()));
    h.join(2, Credential::None, "B");
    let session = h
        .facts
        .last()
        .unwrap()
        .room_session_id
        .clone()
        .expect("the second join is in the session");
    assert_eq!(h.facts[1].kind, FactKind::SessionStarted);
    h.input(Input::Leave { conn: 2 });
    assert!(!h.room.is_idle(), "the session is still open");
    h.advance(20);
    // Back to two within the grace: the same session goes on.
    h.join(3, Credential::None, "C");
    assert_eq!(
        h.facts.last().unwrap().room_session_id.as_deref(),
        Some(session.as_str())
    );
    h.input(Input::Leave { conn: 3 });
    h.input(Input::Leave { conn: 1 });
    h.advance(29);
    assert!(!h.fact_kinds().contains(&FactKind::SessionEnded));
    h.advance(1);
    let ended = h.facts.last().unwrap();
    assert_eq!(ended.kind, FactKind::SessionEnded);
    assert_eq!(ended.room_session_id.as_deref(), Some(session.as_str()));
    assert!(h.room.is_idle());
}

#[test]
fn the_room_expires() {
    let mut h = Harness::new(RoomMode::Normal, false);
    h.join(1, Credential::None, "A");
    assert_eq!(h.room.next_deadline(), Some(start() + Duration::hours(2)));
    let ended = h.advance(2 * 3600);
    assert_eq!(
        to(1, &ended),
        vec![ServerEvent::RoomEnded {
            reason: EndReason::MeetingExpired
        }]
    );
}

// ---------------------------------------------------------------------------------------------------
// Properties

#[derive(Debug, Clone)]
enum Step {
    Join {
        conn: ConnId,
        credential: Credential,
        resume_of: Option<ConnId>,
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
    Disconnect(ConnId),
    Chat(ConnId),
    Kick(ConnId, ConnId),
    Relay(ConnId, ConnId),
    Advance(i64),
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
    let action = prop_oneof![
        Just(KnockAction::Accept),
        Just(KnockAction::Hold),
        Just(KnockAction::Reject)
    ];
    prop_oneof![
        4 => (conn_id(), credential(), proptest::option::weighted(0.2, conn_id()))
            .prop_map(|(conn, credential, resume_of)| Step::Join { conn, credential, resume_of }),
        4 => proptest::option::weighted(0.3, conn_id()).prop_map(Step::Knock),
        1 => conn_id().prop_map(Step::Cancel),
        4 => (proptest::option::weighted(0.3, conn_id()), proptest::option::weighted(0.8, conn_id()), action)
            .prop_map(|(host, knocker, action)| Step::Handle { host, knocker, action }),
        1 => (conn_id(), any::<bool>()).prop_map(|(c, l)| Step::Lock(c, l)),
        1 => conn_id().prop_map(Step::Leave),
        2 => conn_id().prop_map(Step::Disconnect),
        1 => conn_id().prop_map(Step::Chat),
        1 => (conn_id(), conn_id()).prop_map(|(a, b)| Step::Kick(a, b)),
        1 => (conn_id(), conn_id()).prop_map(|(a, b)| Step::Relay(a, b)),
        2 => (1i64..30).prop_map(Step::Advance),
    ]
}

/// What a test observer knows, built only from the events each connection received.
#[derive(Default)]
struct Observer {
    /// Connections that received `room_joined` with the room and have not left since.
    members: std::collections::BTreeSet<ConnId>,
    /// Each host's own copy of the queue: client id and state.
    host_queues: BTreeMap<ConnId, Vec<(ClientId, KnockState)>>,
    /// Knocks (by client id) open in the fact stream, and how many final verdicts each knocker got.
    open_knocks: std::collections::BTreeSet<ClientId>,
}

impl Observer {
    fn receive(&mut self, conn: ConnId, event: &ServerEvent) {
        let member = self.members.contains(&conn);
        // Invariant: a connection outside the room learns nothing of the room.
        if !member {
            let allowed = matches!(
                event,
                ServerEvent::RoomJoined(_)
                    | ServerEvent::KnockSent { .. }
                    | ServerEvent::KnockHandled(KnockHandled::Verdict { .. })
                    | ServerEvent::KnockPageUpdated(_)
                    | ServerEvent::RoomEnded { .. }
                    | ServerEvent::RoomLeft {}
                    | ServerEvent::Error { .. }
            );
            assert!(
                allowed,
                "connection {conn}, outside the room, received {event:?}"
            );
        }
        match event {
            ServerEvent::RoomJoined(RoomJoined::Joined { knockers, role, .. }) => {
                self.members.insert(conn);
                if *role == Role::Host {
                    let queue = knockers.as_ref().expect("hosts get the queue");
                    self.host_queues.insert(
                        conn,
                        queue
                            .iter()
                            .map(|k| (k.client_id.clone(), k.state))
                            .collect(),
                    );
                } else {
                    assert!(knockers.is_none(), "only hosts see knockers");
                }
            }
            ServerEvent::RoomLeft {}
            | ServerEvent::ClientKicked { .. }
            | ServerEvent::RoomEnded { .. } => {
                self.members.remove(&conn);
                self.host_queues.remove(&conn);
            }
            ServerEvent::RoomKnocked(view) => {
                let queue = self
                    .host_queues
                    .get_mut(&conn)
                    .expect("only hosts hear knocks");
                assert!(
                    !queue.iter().any(|(id, _)| id == &view.client_id),
                    "knock listed twice"
                );
                queue.push((view.client_id.clone(), view.state));
            }
            ServerEvent::KnockHandled(KnockHandled::Resolution {
                client_id,
                resolution,
                ..
            }) => {
                let queue = self
                    .host_queues
                    .get_mut(&conn)
                    .expect("only hosts hear resolutions");
                let index = queue
                    .iter()
                    .position(|(id, _)| id == client_id)
                    .expect("resolution of a listed knock");
                match resolution {
                    Resolution::Held => queue[index].1 = KnockState::Held,
                    _ => {
                        queue.remove(index);
                    }
                }
            }
            ServerEvent::KnockerLeft { client_id, .. } => {
                let queue = self
                    .host_queues
                    .get_mut(&conn)
                    .expect("only hosts hear knockers leave");
                let index = queue
                    .iter()
                    .position(|(id, _)| id == client_id)
                    .expect("a listed knock leaves");
                queue.remove(index);
            }
            _ => {}
        }
    }

    fn disconnected(&mut self, conn: ConnId) {
        self.members.remove(&conn);
        self.host_queues.remove(&conn);
    }

    fn fact(&mut self, fact: &RoomFact) {
        let Some(client) = &fact.client else { return };
        match fact.kind {
            FactKind::Knocked => {
                assert!(
                    self.open_knocks.insert(client.client_id.clone()),
                    "a second open knock for one client"
                );
            }
            FactKind::KnockAccepted | FactKind::KnockRejected | FactKind::KnockCancelled => {
                // Invariant: each knock is resolved at most once.
                assert!(
                    self.open_knocks.remove(&client.client_id),
                    "{:?} for a knock that is not open",
                    fact.kind
                );
            }
            FactKind::KnockHeld => assert!(self.open_knocks.contains(&client.client_id)),
            _ => {}
        }
    }
}

fn run_steps(mode: RoomMode, locked: bool, steps: Vec<Step>) {
    let mut h = Harness::new(mode, locked);
    let mut observer = Observer::default();
    let capacity = Capacity::of(mode);
    let mut tokens: BTreeMap<ConnId, String> = BTreeMap::new();
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
                // for a client the room never admitted (a valid but unexpected grant).
                credential: match credential {
                    Credential::Grant(_) => Credential::Grant(
                        h.room
                            .conns
                            .get(&conn)
                            .map(|c| c.client_id.clone())
                            .unwrap_or_else(|| ClientId::new(format!("g{serial}"))),
                    ),
                    other => other,
                },
                conn,
                fresh_client_id: ClientId::new(format!("c{conn}-{serial}")),
                peer: ip(conn as u8),
                identity: Identity {
                    display_name: format!("N{conn}"),
                    external_id: None,
                    metadata: None,
                    user_agent: None,
                },
                resume_token: resume_of.and_then(|c| tokens.get(&c).cloned()),
                fresh_resume_token: format!("t{conn}-{serial}"),
            }),
            Step::Knock(conn) => {
                let outside = h
                    .room
                    .conns
                    .iter()
                    .find(|(_, c)| c.place == Place::Outside)
                    .map(|(id, _)| *id);
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
                    .or_else(|| h.room.hosts().first().copied())
                    .unwrap_or(1);
                let target = match knocker.and_then(|k| h.room.conns.get(&k)) {
                    Some(c) => KnockTarget::One(c.client_id.clone()),
                    None => KnockTarget::All,
                };
                Input::HandleKnock {
                    conn: host,
                    target,
                    action,
                    message: Some("m".into()),
                }
            }
            Step::Lock(conn, locked) => Input::SetLock { conn, locked },
            Step::Leave(conn) => Input::Leave { conn },
            Step::Disconnect(conn) => {
                disconnect = Some(conn);
                Input::Disconnected { conn }
            }
            Step::Chat(conn) => Input::Chat {
                conn,
                text: "hello".into(),
            },
            Step::Kick(conn, target) => match h.room.conns.get(&target) {
                Some(t) => Input::Kick {
                    conn,
                    target: t.client_id.clone(),
                },
                None => Input::Tick,
            },
            Step::Relay(conn, target) => match h.room.conns.get(&target) {
                Some(t) => Input::Relay {
                    conn,
                    kind: RelayKind::IceCandidate,
                    to: t.client_id.clone(),
                    message: json!({}),
                },
                None => Input::Tick,
            },
            Step::Advance(seconds) => {
                h.now += Duration::seconds(seconds);
                Input::Tick
            }
        };
        let facts_before = h.facts.len();
        let closed_before = h.closed.len();
        for (conn, event) in h.input(input) {
            if let ServerEvent::RoomJoined(RoomJoined::Locked { resume_token, .. }) = &event {
                tokens.insert(conn, resume_token.clone());
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
        }
        if let Some(conn) = disconnect {
            observer.disconnected(conn);
        }
        // Invariant: every host's list is the room's queue.
        let truth: Vec<(ClientId, KnockState)> = h
            .room
            .knock_views()
            .into_iter()
            .map(|k| (k.client_id, k.state))
            .collect();
        for (host, queue) in &observer.host_queues {
            assert_eq!(queue, &truth, "host {host}'s list differs from the queue");
        }
        // Invariant: capacity is never exceeded, counting the seats held for admitted knockers.
        let held = h.room.held_seats.len();
        assert!(h.room.participant_count() + held <= capacity.participants);
        assert!(h.room.member_count() + held <= capacity.total);
        // The observer's idea of membership is the room's.
        let members: std::collections::BTreeSet<ConnId> =
            h.room.members().map(|(c, _, _)| c).collect();
        assert_eq!(members, observer.members);
        if h.room.is_ended() {
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
