//! Scenarios at the door: knocking, holds, verdicts, cancels, resumes, and who may decide.

use super::*;

#[test]
fn unlocked_room_admits_visitors_and_tells_everyone() {
    let mut h = Harness::new(RoomMode::Normal, false);
    let first = h.join(1, Credential::None, "Ann");
    assert!(matches!(
        &to(1, &first)[0],
        Event::Joined(j) if j.role == Role::Visitor && j.knockers.is_none()
    ));
    let second = h.join(2, Credential::None, "Bob");
    assert!(
        matches!(&to(1, &second)[0], Event::ClientJoined(client) if client.display_name == "Bob")
    );
    match &to(2, &second)[0] {
        Event::Joined(j) => assert_eq!(j.room.clients.len(), 2),
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
        (2, Event::AtDoor(door)) => assert_eq!(door.resume_token, "resume-2"),
        other => panic!("{other:?}"),
    }
    let shown = format!("{:?}", received[0].1);
    assert!(!shown.contains("Host"), "no roster for a knocker: {shown}");
}

#[test]
fn knock_hold_accept_enter() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Dr Who");
    h.join(2, Credential::None, "Pat");
    let knocked = h.knock(2);
    assert!(matches!(&to(2, &knocked)[0], Event::KnockSent { .. }));
    assert!(
        matches!(&to(1, &knocked)[0], Event::Knocked(k) if k.display_name == "Pat" && k.state == KnockState::Waiting)
    );

    let held = h.handle(1, "c2", KnockAction::Hold, Some("5 minutes"));
    match &to(2, &held)[0] {
        Event::Verdict(Verdict {
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
        Event::Verdict(Verdict {
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
        Event::Joined(j) => {
            assert_eq!(j.role, Role::GrantedVisitor);
            assert_eq!(j.self_id.as_str(), "c2", "an admitted knocker keeps its id");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&to(1, &entered)[0], Event::ClientJoined(client) if client.role == Role::GrantedVisitor)
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
    h.knock(3);
    let rejected = h.handle(1, "c3", KnockAction::Reject, Some("not today"));
    for host in [1, 2] {
        assert!(matches!(
            &to(host, &rejected)[0],
            Event::Resolved(ResolvedKnock {
                resolution: Resolution::Rejected,
                ..
            })
        ));
    }
    match &to(3, &rejected)[0] {
        Event::Verdict(Verdict {
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
    assert_eq!(
        error_code(&to(2, &second)),
        Some(RefusalCode::KnockNotFound)
    );
    assert!(
        to(3, &second).is_empty(),
        "the second decision is not applied"
    );

    // The rejected knocker may not knock again during the cooldown, even from a new connection.
    let again = h.knock(3);
    assert_eq!(error_code(&to(3, &again)), Some(RefusalCode::KnockCooldown));
    h.advance(61);
    let later = h.knock(3);
    assert!(matches!(&to(3, &later)[0], Event::KnockSent { .. }));
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
        Event::Joined(j) => {
            let list = j.knockers.as_ref().expect("a host sees the queue");
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
    h.knock(2);
    let cancelled = h.input(Input::CancelKnock { conn: 2 });
    assert!(matches!(
        &to(1, &cancelled)[0],
        Event::KnockerLeft {
            reason: LeaveReason::Cancelled,
            ..
        }
    ));

    // Disconnect: the knock keeps its place; a resume within the grace gets it back, hold and all.
    h.join(3, Credential::None, "B");
    h.knock(3);
    h.handle(1, "c3", KnockAction::Hold, Some("soon"));
    let dropped = h.input(Input::Disconnected { conn: 3 });
    assert!(
        matches!(&dropped[..], [(1, Event::KnockerAway { client_id })] if client_id.as_str() == "c3"),
        "hosts see the knock away, in its place: {dropped:?}"
    );
    assert!(h.room.knock_views()[0].away);
    h.advance(10);
    let resumed = h.resume(9, 3, "B");
    assert!(
        matches!(&to(1, &resumed)[..], [Event::KnockerBack { client_id }] if client_id.as_str() == "c3"),
        "and back: {resumed:?}"
    );
    assert!(!h.room.knock_views()[0].away);
    match &to(9, &resumed)[0] {
        Event::AtDoor(door) => {
            let own = door.knock.as_ref().expect("the resumed knock");
            assert_eq!(door.self_id.as_str(), "c3");
            assert_eq!(own.state, KnockState::Held);
            assert_eq!(own.message.as_deref(), Some("soon"));
        }
        other => panic!("{other:?}"),
    }
    let accepted = h.handle(1, "c3", KnockAction::Accept, None);
    assert!(matches!(
        &to(9, &accepted)[0],
        Event::Verdict(Verdict {
            resolution: Resolution::Accepted,
            ..
        })
    ));

    // Without a resume, the knock's grace ends in a cancel: two minutes, longer than a member's
    // (a phone waiting a while locks its screen, and its page's connection goes).
    h.join(4, Credential::None, "C");
    h.knock(4);
    h.input(Input::Disconnected { conn: 4 });
    assert!(h.advance(119).is_empty());
    let expired = h.advance(1);
    assert!(matches!(
        &to(1, &expired)[0],
        Event::KnockerLeft {
            reason: LeaveReason::Disconnected,
            ..
        }
    ));
    assert!(h.room.knock_views().is_empty());
}

/// A knocker whose page said it was closing (a closed tab, or a reload) keeps its place only for
/// the resume grace: enough for a reload to take it back, not the two minutes of a phone that
/// locked its screen. Its next page starts afresh.
#[test]
fn a_knock_whose_page_closed_keeps_its_place_only_for_a_reload() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "A");
    h.knock(2);
    h.join(3, Credential::Host, "Sam");
    // From a member (who leaves instead) or a stranger, it means nothing.
    assert!(h.input(Input::PageClosing { conn: 3 }).is_empty());
    assert!(h.input(Input::PageClosing { conn: 9 }).is_empty());
    assert!(
        h.input(Input::PageClosing { conn: 2 }).is_empty(),
        "nobody hears of it before the socket goes"
    );
    let dropped = h.input(Input::Disconnected { conn: 2 });
    assert!(matches!(&to(1, &dropped)[..], [Event::KnockerAway { .. }]));
    // A reload takes it back, as itself.
    h.advance(2);
    let back = h.resume(12, 2, "A");
    assert!(matches!(&to(1, &back)[..], [Event::KnockerBack { .. }]));
    // The reloaded page has said nothing of closing: a drop now keeps the two minutes.
    h.input(Input::Disconnected { conn: 12 });
    assert!(h.advance(119).is_empty());
    h.resume(13, 2, "A");
    // Closed for good: gone once the resume grace (15 s) is over.
    h.input(Input::PageClosing { conn: 13 });
    h.input(Input::Disconnected { conn: 13 });
    assert!(h.advance(14).is_empty());
    let gone = h.advance(1);
    assert!(
        matches!(
            &to(1, &gone)[..],
            [Event::KnockerLeft {
                reason: LeaveReason::Disconnected,
                ..
            }]
        ),
        "{gone:?}"
    );
    assert!(h.room.knock_views().is_empty());
}

/// A reloaded page shows its review before it joins, which may take a while (a camera to choose):
/// its preview, with the knock's resume token, keeps the knock's place for the away grace again,
/// and a verdict reached meanwhile too.
#[test]
fn a_reloaded_page_at_its_review_keeps_its_knocks_place() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "A");
    h.knock(2);
    h.input(Input::PageClosing { conn: 2 });
    h.input(Input::Disconnected { conn: 2 });
    h.advance(5);
    let back = |h: &mut Harness| {
        h.input(Input::PageBack {
            resume_token: "resume-2".into(),
        })
    };
    assert!(back(&mut h).is_empty(), "nobody hears of it");
    // Past the resume grace, still in line; the away grace, from the preview, ends it.
    assert!(h.advance(119).is_empty());
    assert!(matches!(
        &to(1, &h.advance(1))[..],
        [Event::KnockerLeft { .. }]
    ));
    // Let in while its page was closing: the verdict waits for the review too.
    h.join(3, Credential::None, "B");
    h.knock(3);
    h.input(Input::PageClosing { conn: 3 });
    h.input(Input::Disconnected { conn: 3 });
    h.handle(1, "c3", KnockAction::Accept, None);
    h.input(Input::PageBack {
        resume_token: "resume-3".into(),
    });
    h.advance(60);
    let resumed = h.resume(13, 3, "B");
    assert!(
        matches!(
            &to(13, &resumed)[..],
            [
                Event::AtDoor(_),
                Event::Verdict(Verdict {
                    resolution: Resolution::Accepted,
                    ..
                })
            ]
        ),
        "let in, after a minute at its review: {resumed:?}"
    );
    // A token nobody left anything with changes nothing.
    assert!(
        h.input(Input::PageBack {
            resume_token: "nobody".into()
        })
        .is_empty()
    );
}

#[test]
fn a_verdict_reached_while_away_is_delivered_on_resume() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "A");
    h.knock(2);
    h.input(Input::Disconnected { conn: 2 });
    h.handle(1, "c2", KnockAction::Accept, None);
    let resumed = h.resume(7, 2, "A");
    let events = to(7, &resumed);
    assert!(matches!(
        &events[1],
        Event::Verdict(Verdict {
            resolution: Resolution::Accepted,
            room_key: Some(_),
            ..
        })
    ));
}

#[test]
fn a_resume_replaces_a_knocks_connection_the_server_has_not_seen_die() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "A");
    h.knock(2);
    h.join(3, Credential::None, "B");
    h.knock(3);
    h.handle(1, "c2", KnockAction::Hold, Some("soon"));
    // A's new connection comes before the server hears that its old one closed.
    let resumed = h.resume(9, 2, "A");
    assert_eq!(
        error_code(&to(2, &resumed)),
        Some(RefusalCode::Replaced),
        "the old connection hears why"
    );
    assert!(h.closed.contains(&2));
    match &to(9, &resumed)[0] {
        Event::AtDoor(door) => {
            let own = door.knock.as_ref().expect("the knock, taken back");
            assert_eq!(door.self_id.as_str(), "c2");
            assert_eq!(own.state, KnockState::Held);
            assert_eq!(own.message.as_deref(), Some("soon"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        to(1, &resumed).is_empty(),
        "hosts see no change: {resumed:?}"
    );
    let queue: Vec<_> = h
        .room
        .knock_views()
        .into_iter()
        .map(|k| k.client_id)
        .collect();
    assert_eq!(
        queue,
        [ClientId::new("c2"), ClientId::new("c3")],
        "same place"
    );
    // The old connection's close, heard late, changes nothing.
    assert!(h.input(Input::Disconnected { conn: 2 }).is_empty());
    let accepted = h.handle(1, "c2", KnockAction::Accept, None);
    assert!(matches!(
        &to(9, &accepted)[0],
        Event::Verdict(Verdict {
            resolution: Resolution::Accepted,
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
            by: Decider::Host(2),
            target: KnockTarget::All,
            action: KnockAction::Accept,
            message: None,
        },
    ] {
        let received = h.input(input);
        assert_eq!(error_code(&to(2, &received)), Some(RefusalCode::Forbidden));
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
            Event::LockChanged { locked: true, .. }
        ));
    }
    let kicked = h.input(Input::Kick {
        conn: 1,
        target: ClientId::new("c2"),
    });
    assert!(matches!(&to(2, &kicked)[0], Event::Kicked { .. }));
    assert!(h.closed.contains(&2));
    assert!(matches!(
        &to(1, &kicked)[0],
        Event::ClientLeft {
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
    h.knock(2);
    // Someone at the door who has not knocked.
    h.join(4, Credential::None, "Door");
    let unlocked = h.input(Input::SetLock {
        conn: 1,
        locked: false,
    });
    // Everyone outside is told the door is open; knockers (their page goes on waiting) are not
    // let in.
    let open = Event::DoorChanged(DoorView {
        host_present: true,
        recording: false,
        locked: false,
    });
    for outside in [2, 4] {
        assert_eq!(
            to(outside, &unlocked),
            std::slice::from_ref(&open),
            "{outside}"
        );
    }
    assert_eq!(h.room.knock_views().len(), 1);
    // A new arrival follows the new state, and so does the one at the door joining again.
    let arrival = h.join(3, Credential::None, "New");
    assert!(matches!(&to(3, &arrival)[0], Event::Joined(_)));
    let again = h.join(4, Credential::None, "Door");
    assert!(matches!(&to(4, &again)[0], Event::Joined(_)), "{again:?}");
}

#[test]
fn entering_with_an_earlier_grant_takes_the_waiting_knock_out_of_the_queue() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "Pat");
    h.knock(2);
    h.handle(1, "c2", KnockAction::Accept, None);
    // Pat does not enter at once but knocks again on the same connection, which then drops.
    h.knock(2);
    h.input(Input::Disconnected { conn: 2 });
    assert_eq!(
        h.room.knock_views().len(),
        1,
        "the knock waits for its grace"
    );
    // A new connection presents the grant of the first accept (still valid): Pat is in, and hosts
    // no longer see a knock for someone who is inside.
    let entered = h.join(9, Credential::Grant(ClientId::new("c2")), "Pat");
    assert!(matches!(&to(9, &entered)[0], Event::Joined(_)));
    assert!(h.room.knock_views().is_empty());
    assert!(to(1, &entered).iter().any(|e| matches!(
        e,
        Event::KnockerLeft {
            reason: LeaveReason::Entered,
            ..
        }
    )));
}

/// Who waits at the door knows whether a host is in to see a knock: told with the door, then of
/// each change, and a host whose page reloads is still in.
#[test]
fn people_at_the_door_know_whether_a_host_is_in() {
    let mut h = Harness::new(RoomMode::Normal, true);
    let at_door = h.join(2, Credential::None, "Pat");
    assert!(matches!(&to(2, &at_door)[0], Event::AtDoor(door) if !door.view.host_present));
    h.knock(2);
    h.join(3, Credential::None, "Sam");
    let host_in = h.join(1, Credential::Host, "Dr Lee");
    for outsider in [2, 3] {
        assert_eq!(to(outsider, &host_in), [door_with_host(true)], "{outsider}");
    }
    let later = h.join(4, Credential::None, "Kim");
    assert!(matches!(&to(4, &later)[0], Event::AtDoor(door) if door.view.host_present));

    // The host's page reloads: they are away, expected back, and still in.
    let away = h.input(Input::Disconnected { conn: 1 });
    assert!(to(2, &away).is_empty(), "{away:?}");
    let gone = h.advance(20);
    assert!(to(2, &gone).contains(&door_with_host(false)), "{gone:?}");
    h.join(5, Credential::Host, "Dr Lee");
    let left = h.input(Input::Leave { conn: 5 });
    for outsider in [2, 3, 4] {
        assert_eq!(to(outsider, &left), [door_with_host(false)], "{outsider}");
    }
}

/// The door as outsiders hear of it: whether a host is in, and no recording.
fn door_with_host(present: bool) -> Event {
    Event::DoorChanged(DoorView {
        host_present: present,
        recording: false,
        locked: true,
    })
}
