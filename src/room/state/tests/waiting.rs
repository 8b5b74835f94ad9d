//! Scenarios of the waiting room beyond verdicts: words to people who wait, sending a guest back,
//! decisions from the REST API, time-outs, places in line, and who a rejection holds back.

use super::*;
use crate::room::model::KnockerKey;

/// A locked room with a host on connection 1 and knockers (knocked, in order) on the others.
fn waiting_room(knockers: &[ConnId]) -> Harness {
    let mut h = Harness::new(RoomMode::Group, true);
    h.join(1, Credential::Host, "Dr Host");
    for &conn in knockers {
        h.join(conn, Credential::None, &format!("K{conn}"));
        h.input(Input::Knock {
            conn,
            display_name: None,
        });
    }
    h
}

fn positions(received: &[(ConnId, Event)]) -> Vec<(ConnId, usize)> {
    received
        .iter()
        .filter_map(|(conn, e)| match e {
            Event::QueuePosition { position } => Some((*conn, *position)),
            _ => None,
        })
        .collect()
}

#[test]
fn host_messages_reach_knockers_who_keep_their_place() {
    let mut h = waiting_room(&[2, 3]);
    let one = h.input(Input::MessageKnockers {
        conn: 1,
        target: KnockTarget::One(ClientId::new("c3")),
        message: "Two minutes".into(),
    });
    assert_eq!(
        to(3, &one),
        vec![Event::HostMessage {
            message: "Two minutes".into(),
            host_display_name: "Dr Host".into()
        }]
    );
    assert!(to(2, &one).is_empty());
    // A knocker whose connection dropped finds the message when it comes back.
    h.input(Input::Disconnected { conn: 2 });
    h.input(Input::MessageKnockers {
        conn: 1,
        target: KnockTarget::All,
        message: "Starting soon".into(),
    });
    let back = h.input(Input::Join(JoinRequest {
        conn: 9,
        fresh_client_id: ClientId::new("c9"),
        peer: ip(2),
        credential: Credential::None,
        identity: Identity {
            display_name: "K2".into(),
            external_id: None,
            metadata: None,
            avatar_url: None,
            user_agent: None,
        },
        media: Default::default(),
        device: None,
        resume_token: Some("resume-2".into()),
        fresh_resume_token: "resume-9".into(),
    }));
    assert!(to(9, &back).contains(&Event::HostMessage {
        message: "Starting soon".into(),
        host_display_name: "Dr Host".into()
    }));
    let names: Vec<String> = h
        .room
        .knock_views()
        .into_iter()
        .map(|k| k.display_name)
        .collect();
    assert_eq!(names, ["K2", "K3"], "nobody lost a place");
    // Only hosts may speak to the door.
    let from_knocker = h.input(Input::MessageKnockers {
        conn: 3,
        target: KnockTarget::All,
        message: "hi".into(),
    });
    assert_eq!(
        error_code(&to(3, &from_knocker)),
        Some(RefusalCode::Forbidden)
    );
}

#[test]
fn a_guest_sent_back_stands_first_in_line_and_needs_a_new_yes() {
    let mut h = waiting_room(&[2, 3]);
    h.handle(1, "c2", KnockAction::Accept, None);
    h.join(2, Credential::Grant(ClientId::new("c2")), "K2");
    assert!(h.media.contains(&ClientId::new("c2")));
    let back = h.input(Input::SendToWaitingRoom {
        conn: 1,
        target: ClientId::new("c2"),
        message: Some("Please wait outside".into()),
    });
    assert_eq!(
        to(2, &back)[0],
        Event::SentBack {
            message: Some("Please wait outside".into()),
            host_display_name: "Dr Host".into()
        }
    );
    assert!(!h.media.contains(&ClientId::new("c2")), "its media stops");
    assert!(to(1, &back).iter().any(|e| matches!(
        e,
        Event::ClientLeft {
            reason: LeaveReason::SentToWaitingRoom,
            ..
        }
    )));
    assert!(to(1, &back).iter().any(|e| matches!(e,
        Event::Knocked(k) if k.client_id.as_str() == "c2" && k.position == 1)));
    let queue = h.room.knock_views();
    assert_eq!(queue[0].client_id.as_str(), "c2", "first in line");
    assert_eq!(
        queue[0].hold_message.as_deref(),
        Some("Please wait outside")
    );
    assert_eq!(
        positions(&back),
        vec![(2, 1), (3, 2)],
        "each hears its own place"
    );
    // Its old grant does not bring it back in; a host's new yes does.
    let sneak = h.join(9, Credential::Grant(ClientId::new("c2")), "K2");
    assert_eq!(error_code(&to(9, &sneak)), Some(RefusalCode::Forbidden));
    h.input(Input::Disconnected { conn: 9 });
    h.handle(1, "c2", KnockAction::Accept, None);
    let again = h.join(2, Credential::Grant(ClientId::new("c2")), "K2");
    assert!(matches!(&to(2, &again)[0], Event::Joined(_)));
    // Hosts are not sent back.
    h.join(5, Credential::Host, "Co-host");
    let host = h.input(Input::SendToWaitingRoom {
        conn: 1,
        target: ClientId::new("c5"),
        message: None,
    });
    assert_eq!(error_code(&to(1, &host)), Some(RefusalCode::Forbidden));
}

#[test]
fn the_api_decides_like_a_host_and_says_so() {
    let mut h = waiting_room(&[2, 3]);
    let listed = h.input(Input::ListKnocks);
    assert!(listed.is_empty());
    assert!(matches!(&h.answers[..], [Answer::Queue(q)] if q.len() == 2 && q[1].position == 2));
    let decided = h.input(Input::HandleKnock {
        by: Decider::Api,
        target: KnockTarget::One(ClientId::new("c2")),
        action: KnockAction::Accept,
        message: None,
    });
    assert_eq!(
        h.answers[1],
        Answer::Decided(vec![(ClientId::new("c2"), Resolution::Accepted)])
    );
    assert!(matches!(&to(2, &decided)[0],
        Event::Verdict(v) if v.room_key.is_some() && v.host_display_name.is_none()));
    assert!(matches!(&to(1, &decided)[0],
        Event::Resolved(r) if r.handled_by.is_none()));
    let fact = h
        .facts
        .iter()
        .find(|f| f.kind == FactKind::KnockAccepted)
        .unwrap();
    assert_eq!(fact.decided_by, Some(crate::meeting::facts::DecidedBy::Api));
    // One decision per knock: the API's second word, like a host's, finds nothing to decide.
    h.input(Input::HandleKnock {
        by: Decider::Api,
        target: KnockTarget::One(ClientId::new("c2")),
        action: KnockAction::Reject,
        message: None,
    });
    assert!(matches!(&h.answers[2], Answer::Refused(r) if r.code == RefusalCode::KnockNotFound));
    let by_host = h.handle(1, "c3", KnockAction::Reject, None);
    assert!(matches!(&to(1, &by_host)[0], Event::Resolved(r) if r.handled_by.is_some()));
    let fact = h
        .facts
        .iter()
        .find(|f| f.kind == FactKind::KnockRejected)
        .unwrap();
    assert_eq!(
        fact.decided_by,
        Some(crate::meeting::facts::DecidedBy::Host)
    );
}

#[test]
fn unanswered_knocks_expire_and_a_hold_restarts_the_clock() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.room.config.knock_timeout = Some(Duration::seconds(60));
    h.join(1, Credential::Host, "Host");
    for conn in [2, 3] {
        h.join(conn, Credential::None, "K");
        h.input(Input::Knock {
            conn,
            display_name: None,
        });
    }
    h.advance(40);
    h.handle(1, "c3", KnockAction::Hold, Some("soon"));
    let expired = h.advance(20);
    assert_eq!(
        to(2, &expired),
        vec![Event::KnockExpired {
            message: "nobody could let you in this time; please try again later".into()
        }]
    );
    assert!(to(1, &expired).contains(&Event::KnockerLeft {
        client_id: ClientId::new("c2"),
        reason: LeaveReason::Expired
    }));
    assert_eq!(positions(&expired), vec![(3, 1)], "the next one moves up");
    assert_eq!(
        h.fact_kinds()
            .iter()
            .filter(|k| **k == FactKind::KnockExpired)
            .count(),
        1
    );
    assert_eq!(h.room.knock_views().len(), 1, "the held knock waits on");
    h.advance(40);
    assert!(h.room.knock_views().is_empty(), "until its own time is up");
}

#[test]
fn knockers_hear_only_their_own_place_as_the_line_moves() {
    let mut h = Harness::new(RoomMode::Group, true);
    h.join(1, Credential::Host, "Host");
    let mut heard = Vec::new();
    for conn in [2, 3, 4] {
        h.join(conn, Credential::None, "K");
        heard.extend(positions(&h.input(Input::Knock {
            conn,
            display_name: None,
        })));
    }
    assert_eq!(heard, vec![(2, 1), (3, 2), (4, 3)]);
    let cancelled = h.input(Input::CancelKnock { conn: 2 });
    assert_eq!(positions(&cancelled), vec![(3, 1), (4, 2)]);
    let decided = h.handle(1, "c4", KnockAction::Hold, None);
    assert!(positions(&decided).is_empty(), "nobody moved");
}

#[test]
fn a_rejection_holds_back_the_device_not_the_address() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    // Eve and Frank knock from the same clinic address, each from a device of their own.
    for (conn, device) in [(2, "eve-device-1"), (3, "frank-device")] {
        h.input(Input::Join(JoinRequest {
            conn,
            fresh_client_id: ClientId::new(format!("c{conn}")),
            peer: ip(7),
            credential: Credential::None,
            identity: Identity {
                display_name: format!("P{conn}"),
                external_id: None,
                metadata: None,
                avatar_url: None,
                user_agent: None,
            },
            media: Default::default(),
            device: Some(device.into()),
            resume_token: None,
            fresh_resume_token: format!("resume-{conn}"),
        }));
    }
    h.knock(2);
    h.handle(1, "c2", KnockAction::Reject, None);
    let frank = h.knock(3);
    assert!(
        matches!(&to(3, &frank)[0], Event::KnockSent { .. }),
        "Frank is not held back"
    );
    let eve = h.knock(2);
    assert_eq!(error_code(&to(2, &eve)), Some(RefusalCode::KnockCooldown));
    assert!(
        h.room
            .deadlines
            .contains(&Timer::Cooldown(KnockerKey::Device("eve-device-1".into())))
    );
    // Eve's door says how long she waits, for the Knock button to count down.
    let door = h.input(Input::Join(JoinRequest {
        conn: 8,
        fresh_client_id: ClientId::new("c8"),
        peer: ip(9),
        credential: Credential::None,
        identity: Identity {
            display_name: "Eve".into(),
            external_id: None,
            metadata: None,
            avatar_url: None,
            user_agent: None,
        },
        media: Default::default(),
        device: Some("eve-device-1".into()),
        resume_token: None,
        fresh_resume_token: "resume-8".into(),
    }));
    assert!(matches!(&to(8, &door)[0], Event::AtDoor(d) if d.knock_cooldown_seconds == Some(60)));
}

#[test]
fn one_address_may_not_fill_the_queue() {
    let mut h = Harness::new(RoomMode::Group, true);
    h.room.config.max_knocks_per_address = 2;
    for conn in [2, 3, 4] {
        // All from one address (ip(1)), each a different connection.
        h.input(Input::Join(JoinRequest {
            peer: ip(1),
            ..join_request(conn, Credential::None, "Flood")
        }));
    }
    h.knock(2);
    h.knock(3);
    let third = h.knock(4);
    assert_eq!(error_code(&to(4, &third)), Some(RefusalCode::AddressLimit));
    // A real guest from elsewhere still gets in line.
    h.join(5, Credential::None, "Real guest");
    let real = h.knock(5);
    assert!(matches!(&to(5, &real)[0], Event::KnockSent { .. }));
}

#[test]
fn nobody_may_knock_or_join_under_a_hosts_name() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Dr  Smith");
    h.join(2, Credential::None, "Guest");
    let knock = h.input(Input::Knock {
        conn: 2,
        display_name: Some("dr smith".into()),
    });
    assert_eq!(error_code(&to(2, &knock)), Some(RefusalCode::NameTaken));
    h.input(Input::SetLock {
        conn: 1,
        locked: false,
    });
    let join = h.join(3, Credential::None, "DR SMITH");
    assert_eq!(error_code(&to(3, &join)), Some(RefusalCode::NameTaken));
    let co_host = h.join(4, Credential::Host, "Dr Smith");
    assert!(
        matches!(&to(4, &co_host)[0], Event::Joined(_)),
        "a host may share a name"
    );
}
