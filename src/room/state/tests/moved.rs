//! A room carried on elsewhere (its server restarted, or another node took it): who was inside comes
//! back without a key or a knock, knockers keep their place and their host's words, and whoever
//! does not come back leaves when the grace runs out.

use super::*;

/// A join from a new connection with a resume token (as a client does after the room moved).
fn come_back(h: &mut Harness, conn: ConnId, credential: Credential, token: &str) -> Vec<Event> {
    let said = h.input(Input::Join(JoinRequest {
        conn,
        fresh_client_id: ClientId::new(format!("fresh{conn}")),
        peer: ip(conn as u8),
        credential,
        identity: Identity {
            display_name: "Whoever".into(),
            external_id: None,
            metadata: None,
            avatar_url: None,
            user_agent: None,
        },
        media: Default::default(),
        device: None,
        resume_token: Some(token.into()),
        fresh_resume_token: format!("fresh-token-{conn}"),
    }));
    to(conn, &said)
}

#[test]
fn everyone_comes_back_where_they_were() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::Host, "Second host");
    h.join(3, Credential::None, "Pat");
    h.knock(3);
    h.handle(1, "c3", KnockAction::Hold, Some("two minutes"));
    h.join(4, Credential::None, "Sam");
    h.knock(4);
    let facts_before = h.facts.len();

    let said = h.move_room();
    for conn in 1..=4 {
        assert!(
            to(conn, &said).iter().any(|e| matches!(
                e,
                Event::Refused(Refusal {
                    code: RefusalCode::Restarting,
                    ..
                })
            )),
            "connection {conn} is told to come back"
        );
        assert!(h.closed.contains(&conn));
    }
    assert_eq!(
        h.facts.len(),
        facts_before,
        "nothing ended, nothing is recorded"
    );

    // The host comes back with its token alone: the same client, the queue as it was.
    let host = come_back(&mut h, 11, Credential::None, "resume-1");
    let Event::Joined(joined) = &host[0] else {
        panic!("the host is back in: {host:?}");
    };
    assert_eq!(joined.self_id, ClientId::new("c1"));
    assert_eq!(joined.role, Role::Host);
    let queue: Vec<(String, KnockState, Option<String>)> = joined
        .knockers
        .as_ref()
        .expect("a host sees the queue")
        .iter()
        .map(|k| (k.client_id.to_string(), k.state, k.hold_message.clone()))
        .collect();
    assert_eq!(
        queue,
        vec![
            ("c3".into(), KnockState::Held, Some("two minutes".into())),
            ("c4".into(), KnockState::Waiting, None)
        ]
    );
    // The held knocker comes back: its place, its host's words.
    let pat = come_back(&mut h, 13, Credential::None, "resume-3");
    let Event::AtDoor(door) = &pat[0] else {
        panic!("the knocker is at the door: {pat:?}");
    };
    let own = door.knock.as_ref().expect("its knock is still there");
    assert_eq!(own.state, KnockState::Held);
    assert_eq!(own.message.as_deref(), Some("two minutes"));
    assert!(pat.contains(&Event::QueuePosition { position: 1 }));
    // The second host comes back and the first sees it come in again; nobody "joined" anew.
    let second = h.input(Input::Join(JoinRequest {
        conn: 12,
        fresh_client_id: ClientId::new("fresh12"),
        peer: ip(12),
        credential: Credential::Host,
        identity: Identity {
            display_name: "Second host".into(),
            external_id: None,
            metadata: None,
            avatar_url: None,
            user_agent: None,
        },
        media: Default::default(),
        device: None,
        resume_token: Some("resume-2".into()),
        fresh_resume_token: "fresh-token-12".into(),
    }));
    assert!(
        to(11, &second)
            .iter()
            .any(|e| matches!(e, Event::ClientJoined(c) if c.id == ClientId::new("c2")))
    );
    assert_eq!(
        h.facts.len(),
        facts_before,
        "coming back records nothing: {:?}",
        &h.facts[facts_before..]
    );
    // A decision after the move is still the only one: Sam is let in once.
    h.handle(11, "c4", KnockAction::Accept, None);
    let decided: Vec<FactKind> = h.facts[facts_before..].iter().map(|f| f.kind).collect();
    assert_eq!(decided, vec![FactKind::KnockAccepted]);
    assert_eq!(
        h.media,
        ["c1", "c2"].into_iter().map(ClientId::new).collect()
    );
}

#[test]
fn whoever_does_not_come_back_leaves_when_the_grace_ends() {
    let mut h = Harness::new(RoomMode::Normal, false);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "Guest");
    assert!(h.fact_kinds().contains(&FactKind::SessionStarted));
    h.move_room();
    come_back(&mut h, 11, Credential::Host, "resume-1");
    // Within the grace the guest still holds its seat and the session goes on.
    h.advance(10);
    assert!(!h.fact_kinds().contains(&FactKind::Left));
    h.advance(6);
    let left: Vec<&RoomFact> = h
        .facts
        .iter()
        .filter(|f| f.kind == FactKind::Left)
        .collect();
    assert_eq!(left.len(), 1, "the guest left once its grace ran out");
    assert_eq!(
        left[0].client.as_ref().map(|c| c.client_id.clone()),
        Some(ClientId::new("c2"))
    );
    // A token whose grace ran out no longer takes a place: a plain join, a new client.
    let late = come_back(&mut h, 12, Credential::None, "resume-2");
    let Event::Joined(joined) = &late[0] else {
        panic!("an open room lets it in: {late:?}");
    };
    assert_eq!(joined.self_id, ClientId::new("fresh12"));
}
