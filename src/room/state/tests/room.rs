//! Scenarios behind the door: seats and grants, removal, relays, the end of the room, sessions.

use super::*;
use crate::meeting::network::NetworkSample;

fn verdicts(received: &[(ConnId, Event)], wanted: Resolution) -> Vec<ConnId> {
    received
        .iter()
        .filter(|(_, e)| {
            matches!(e, Event::Verdict(Verdict { resolution, .. })
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

fn admit_all(h: &mut Harness) -> Vec<(ConnId, Event)> {
    h.input(Input::HandleKnock {
        by: Decider::Host(1),
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
    assert_eq!(error_code(&to(1, &all)), Some(RefusalCode::RoomFull));
    assert_eq!(h.room.knock_views().len(), 2, "the others stay waiting");
    // The seats are held for the admitted: nobody else takes them meanwhile.
    let second_host = h.join(7, Credential::Host, "Late host");
    assert!(matches!(&to(7, &second_host)[0], Event::RoomFull));
    for conn in 2..=4 {
        let entered = h.join(conn, grant_of(conn), "K");
        assert!(
            matches!(&to(conn, &entered)[0], Event::Joined(_)),
            "an admitted knocker always finds its seat"
        );
    }
    assert_eq!(h.room.participant_count(), 4);
    assert!(h.room.seats.held_count() == 0);
}

#[test]
fn a_seat_held_for_an_admitted_knocker_frees_after_the_grace() {
    let mut h = host_with_knockers(2..=5);
    admit_all(&mut h);
    assert_eq!(h.room.knock_views().len(), 1, "c5 waits");
    // Nobody admitted came in within the grace: their seats go back to the room.
    h.advance(16);
    assert!(h.room.seats.held_count() == 0);
    let fifth = h.handle(1, "c5", KnockAction::Accept, None);
    assert_eq!(verdicts(&fifth, Resolution::Accepted), vec![5]);
    // Late arrivals still enter while seats remain (host + c5's held seat + c2 + c3 = 4).
    for conn in [2, 3] {
        let entered = h.join(conn, grant_of(conn), "K");
        assert!(matches!(&to(conn, &entered)[0], Event::Joined(_)));
    }
    let late = h.join(4, grant_of(4), "K");
    assert!(matches!(&to(4, &late)[0], Event::RoomFull));
    let fifth_enters = h.join(5, grant_of(5), "K");
    assert!(matches!(&to(5, &fifth_enters)[0], Event::Joined(_)));
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
    assert_eq!(error_code(&to(9, &again)), Some(RefusalCode::Forbidden));
    assert_eq!(h.room.participant_count(), 1);
    // It may knock again (a host decides anew); the room forgets the removal once grants expire.
    h.join(9, Credential::None, "Pat");
    let knocked = h.knock(9);
    assert!(matches!(&to(1, &knocked)[0], Event::Knocked(_)));
    h.advance(5 * 60 + 1);
    assert!(
        !h.room
            .deadlines
            .iter()
            .any(|(t, _)| matches!(t, Timer::Removed(_)))
    );
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
        Some(RefusalCode::RoomKeyMismatch)
    );
    let entered = h.join(2, grant_of(2), "Pat");
    assert!(matches!(
        &to(2, &entered)[0],
        Event::Joined(j) if j.self_id.as_str() == "c2"
    ));
    assert_eq!(h.room.participant_count(), 2);

    // After a blip the server has not noticed yet, c2 comes back on a new connection: it is still
    // c2, and its old connection is replaced rather than left in the room as a ghost.
    let back = h.join(9, grant_of(2), "Pat");
    assert_replaced(&h, &back, 2, 1, "c2");
    assert!(matches!(
        &to(9, &back)[0],
        Event::Joined(j) if j.self_id.as_str() == "c2" && j.role == Role::GrantedVisitor
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
    assert_eq!(error_code(&to(2, &chat)), Some(RefusalCode::NotInRoom));
    assert!(to(1, &chat).is_empty());
    let offer = h.input(Input::Relay {
        conn: 2,
        kind: RelayKind::SdpOffer,
        to: ClientId::new("c1"),
        payload: payload(r#"{"sdp":"x"}"#),
    });
    assert_eq!(error_code(&to(2, &offer)), Some(RefusalCode::NotInRoom));
    assert!(to(1, &offer).is_empty());
    // A member cannot signal to a knocker either.
    let to_knocker = h.input(Input::Relay {
        conn: 1,
        kind: RelayKind::SdpOffer,
        to: ClientId::new("c2"),
        payload: payload("{}"),
    });
    assert_eq!(
        error_code(&to(1, &to_knocker)),
        Some(RefusalCode::ClientNotFound)
    );
    assert!(to(2, &to_knocker).is_empty());
    let viewer_offer = h.input(Input::Relay {
        conn: 3,
        kind: RelayKind::SdpOffer,
        to: ClientId::new("c1"),
        payload: payload("{}"),
    });
    assert_eq!(
        error_code(&to(3, &viewer_offer)),
        Some(RefusalCode::Forbidden)
    );
    let ok = h.input(Input::Relay {
        conn: 1,
        kind: RelayKind::SdpOffer,
        to: ClientId::new("c3"),
        payload: payload(r#"{"sdp":"v=0"}"#),
    });
    assert_eq!(
        to(3, &ok),
        vec![Event::Relay {
            kind: RelayKind::SdpOffer,
            from: ClientId::new("c1"),
            payload: payload(r#"{"sdp":"v=0"}"#),
        }]
    );
}

#[test]
fn ending_the_room_reaches_knockers_too() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "K");
    h.knock(2);
    let ended = h.input(Input::End(EndReason::MeetingDeleted));
    for conn in [1, 2] {
        assert_eq!(
            to(conn, &ended),
            vec![Event::Ended {
                reason: EndReason::MeetingDeleted,
                rejoin_key: None
            }]
        );
    }
    assert!(h.room.is_ended() && h.room.is_idle());
    let late = h.join(3, Credential::Host, "Late");
    assert_eq!(error_code(&to(3, &late)), Some(RefusalCode::RoomEnded));
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
        vec![Event::Ended {
            reason: EndReason::MeetingExpired,
            rejoin_key: None
        }]
    );
}

#[test]
fn members_see_each_others_microphone_camera_and_screen() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "Knocker");
    let media = MediaState {
        audio: false,
        video: true,
        screen: true,
    };
    let changed = h.input(Input::SetMedia { conn: 1, media });
    assert!(
        to(2, &changed).is_empty(),
        "a knocker hears nothing of the room"
    );
    h.join(3, Credential::Viewer, "Viewer");
    let joined = h.join(4, Credential::Host, "Co-host");
    match &to(4, &joined)[0] {
        Event::Joined(j) => assert_eq!(j.room.clients[0].media, media, "a newcomer sees it"),
        other => panic!("{other:?}"),
    }
    let muted = MediaState {
        audio: false,
        ..Default::default()
    };
    let changed = h.input(Input::SetMedia {
        conn: 4,
        media: muted,
    });
    for conn in [1, 3] {
        assert_eq!(
            to(conn, &changed),
            vec![Event::MediaChanged {
                client_id: ClientId::new("c4"),
                media: muted
            }]
        );
    }
    assert!(to(4, &changed).is_empty(), "not echoed to the sender");
    let outside = h.input(Input::SetMedia { conn: 2, media });
    assert_eq!(error_code(&to(2, &outside)), Some(RefusalCode::NotInRoom));
}

/// A normal room's media goes browser to browser: what a member's browser measured is passed on
/// for insights, silently and to nobody in the room. A knocker's (it has no stay) and a group
/// room's (its media server measures) are not.
#[test]
fn members_network_samples_are_passed_on_in_a_normal_room_only() {
    let sample = NetworkSample {
        bitrate_send: 500_000,
        ..NetworkSample::default()
    };
    for mode in [RoomMode::Normal, RoomMode::Group] {
        let mut h = Harness::new(mode, true);
        h.join(1, Credential::Host, "Host");
        h.join(2, Credential::None, "Knocker");
        for conn in [1, 2] {
            let heard = h.input(Input::Measured { conn, sample });
            assert!(heard.is_empty(), "nobody is told: {heard:?}");
        }
        let expected = match mode {
            RoomMode::Normal => vec![ClientId::new("c1")],
            RoomMode::Group => vec![],
        };
        assert_eq!(h.measured, expected, "{mode:?}");
    }
}

#[test]
fn a_restart_gives_each_guest_a_key_to_come_back_with() {
    let mut h = Harness::new(RoomMode::Normal, false);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "Guest");
    h.join(3, Credential::Viewer, "Viewer");
    let ended = h.input(Input::End(EndReason::ServerShutdown));
    assert_eq!(
        to(2, &ended),
        vec![Event::Ended {
            reason: EndReason::ServerShutdown,
            rejoin_key: Some("grant-for-c2".into())
        }]
    );
    for conn in [1, 3] {
        assert_eq!(
            to(conn, &ended),
            vec![Event::Ended {
                reason: EndReason::ServerShutdown,
                rejoin_key: None
            }],
            "hosts and viewers have keys of their own"
        );
    }
}
