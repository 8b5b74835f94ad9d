//! A member whose connection drops is away, not gone: the others see it go, but within the resume
//! grace its resume token takes its place back as the same client, and nothing is recorded. Only a
//! member that does not come back in time has left.

use super::*;

fn joined_as(events: &[Event]) -> Option<(&str, Role)> {
    match events.first() {
        Some(Event::Joined(j)) => Some((j.self_id.as_str(), j.role)),
        _ => None,
    }
}

#[test]
fn a_member_whose_connection_drops_comes_back_as_itself() {
    let mut h = Harness::new(RoomMode::Group, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::Host, "Sam");
    let facts_before = h.facts.len();

    let dropped = h.input(Input::Disconnected { conn: 2 });
    assert!(
        matches!(
            &to(1, &dropped)[..],
            [Event::ClientAway { client_id }] if client_id.as_str() == "c2"
        ),
        "the others see it away: {dropped:?}"
    );
    assert!(
        !h.media.contains(&ClientId::new("c2")),
        "its media path closes"
    );
    assert!(h.advance(10).is_empty(), "nobody hears more of it");
    assert_eq!(
        h.facts.len(),
        facts_before,
        "no leave, and the session goes on"
    );
    // Someone who comes in meanwhile sees it away, after those present.
    let newcomer = h.join(3, Credential::Host, "Ann");
    let Some(Event::Joined(joined)) = to(3, &newcomer).into_iter().next() else {
        panic!("Ann is let in: {newcomer:?}");
    };
    let listed: Vec<(&str, bool)> = joined
        .room
        .clients
        .iter()
        .map(|c| (c.id.as_str(), c.away))
        .collect();
    assert_eq!(listed, [("c1", false), ("c3", false), ("c2", true)]);
    let facts_before = h.facts.len();

    let back = h.resume(12, 2, "Whoever");
    assert_eq!(
        joined_as(&to(12, &back)),
        Some(("c2", Role::Host)),
        "same client, same role, no key"
    );
    for other in [1, 3] {
        assert!(matches!(
            &to(other, &back)[..],
            [Event::ClientJoined(client)] if client.id.as_str() == "c2" && !client.away
        ));
    }
    assert!(h.media.contains(&ClientId::new("c2")));
    assert_eq!(
        h.facts.len(),
        facts_before,
        "it never left, so it never joined again"
    );
    // Its grace no longer runs: much later it is still there.
    h.advance(60);
    assert_eq!(h.room.member_count(), 3);
    assert!(!h.fact_kinds().contains(&FactKind::Left));
}

#[test]
fn a_member_not_back_within_the_grace_has_left() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::Viewer, "Vic");
    h.join(3, Credential::Host, "Sam");
    h.input(Input::Disconnected { conn: 3 });
    // Its seat is kept meanwhile: a normal room seats 4 participants (viewers aside), 2 more.
    for (conn, name) in [(4, "Ann"), (5, "Bo")] {
        let joined = h.join(conn, Credential::Host, name);
        assert!(matches!(&to(conn, &joined)[0], Event::Joined(_)));
    }
    assert!(matches!(
        &to(6, &h.join(6, Credential::Host, "Cy"))[0],
        Event::RoomFull
    ));
    h.advance(14);
    assert!(!h.fact_kinds().contains(&FactKind::Left));
    let grace_over = h.advance(2);
    for other in [1, 2, 4, 5] {
        assert!(
            matches!(
                &to(other, &grace_over)[..],
                [Event::ClientLeft { client_id, reason: LeaveReason::Disconnected }]
                    if client_id.as_str() == "c3"
            ),
            "{other} hears it has left: {grace_over:?}"
        );
    }
    let left: Vec<ClientId> = h
        .facts
        .iter()
        .filter(|f| f.kind == FactKind::Left)
        .filter_map(|f| f.client.as_ref().map(|c| c.client_id.clone()))
        .collect();
    assert_eq!(
        left,
        [ClientId::new("c3")],
        "it left when its grace ran out"
    );
    // Its token no longer takes a place: the locked room shows it the door, as a new client.
    let late = h.resume(13, 3, "Whoever");
    assert!(matches!(&to(13, &late)[0], Event::AtDoor(door) if door.self_id.as_str() == "c13"));
}

#[test]
fn a_reconnection_that_races_the_old_sockets_close_replaces_it() {
    let mut h = Harness::new(RoomMode::Group, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::Host, "Sam");
    let facts_before = h.facts.len();
    // The server has not seen connection 2 die when its client is back on 12.
    let back = h.resume(12, 2, "Whoever");
    assert_replaced(&h, &back, 2, 1, "c2");
    assert_eq!(joined_as(&to(12, &back)), Some(("c2", Role::Host)));
    assert_eq!(h.room.member_count(), 2, "one client, one connection");
    assert_eq!(h.facts.len(), facts_before);
    // The old connection's close, when the server sees it, changes nothing.
    let late_close = h.input(Input::Disconnected { conn: 2 });
    assert!(late_close.is_empty());
    assert_eq!(h.room.member_count(), 2);
}

#[test]
fn a_member_back_by_its_key_while_away_left_and_joins_anew() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.let_in(2, "Pat");
    h.input(Input::Disconnected { conn: 2 });
    let kinds_before = h.fact_kinds().len();
    // A reloaded page has its grant but not its token.
    let again = h.join(9, Credential::Grant(ClientId::new("c2")), "Pat");
    assert_eq!(
        joined_as(&to(9, &again)),
        Some(("c2", Role::GrantedVisitor))
    );
    assert!(
        matches!(
            &to(1, &again)[..],
            [
                Event::ClientLeft { reason: LeaveReason::Disconnected, .. },
                Event::ClientJoined(client),
            ] if client.id.as_str() == "c2"
        ),
        "the host hears it left, then came in: {again:?}"
    );
    assert_eq!(
        h.fact_kinds()[kinds_before..],
        [FactKind::Left, FactKind::Joined],
        "every join has its leave"
    );
    // Nothing of its time away is left to run out.
    h.advance(20);
    assert_eq!(h.fact_kinds().len(), kinds_before + 2);
    assert_eq!(h.room.participant_count(), 2);
}

#[test]
fn a_host_removes_a_member_while_it_is_away() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(3, Credential::Host, "Sam");
    h.let_in(2, "Pat");
    h.input(Input::Disconnected { conn: 2 });

    // Sending it back needs it connected: the host is told why not.
    let back = h.input(Input::SendToWaitingRoom {
        conn: 1,
        target: ClientId::new("c2"),
        message: None,
    });
    assert_eq!(error_code(&to(1, &back)), Some(RefusalCode::ClientAway));
    // So is media signalling meant for it (it negotiates afresh when back).
    let offer = h.input(Input::Relay {
        conn: 3,
        kind: RelayKind::SdpOffer,
        to: ClientId::new("c2"),
        payload: payload("{}"),
    });
    assert_eq!(error_code(&to(3, &offer)), Some(RefusalCode::ClientAway));

    let kinds_before = h.fact_kinds().len();
    let kicked = h.input(Input::Kick {
        conn: 1,
        target: ClientId::new("c2"),
    });
    for other in [1, 3] {
        assert!(
            matches!(
                &to(other, &kicked)[..],
                [Event::ClientLeft { client_id, reason: LeaveReason::Kicked }]
                    if client_id.as_str() == "c2"
            ),
            "{other} hears it was removed: {kicked:?}"
        );
    }
    assert_eq!(h.fact_kinds()[kinds_before..], [FactKind::Left]);
    assert_eq!(h.room.participant_count(), 2, "its seat is free");
    // Nothing of its grace is left to run out.
    assert!(h.advance(1).is_empty());

    // Back by its token two minutes later (offline well past its grace): told it was removed,
    // not let in.
    h.advance(120);
    let returned = h.resume(12, 2, "Pat");
    assert!(
        matches!(
            &to(12, &returned)[..],
            [Event::Kicked { by }] if by.as_str() == "c1"
        ),
        "{returned:?}"
    );
    assert!(to(1, &returned).is_empty(), "the others hear nothing");
    assert_eq!(h.room.participant_count(), 2);
    // Nor does its grant bring it back.
    let again = h.join(13, Credential::Grant(ClientId::new("c2")), "Pat");
    assert_eq!(error_code(&to(13, &again)), Some(RefusalCode::Forbidden));
    assert_eq!(h.fact_kinds().len(), kinds_before + 1);
}

/// A room where the host removed Sam, a second host, while Sam's connection was down.
fn sam_removed_while_away() -> Harness {
    let mut h = Harness::new(RoomMode::Group, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::Host, "Sam");
    h.input(Input::Disconnected { conn: 2 });
    h.input(Input::Kick {
        conn: 1,
        target: ClientId::new("c2"),
    });
    h
}

/// Sam's page back on `conn`, as pages come back after a drop: its key and its token.
fn sam_back(h: &mut Harness, conn: ConnId) -> Vec<(ConnId, Event)> {
    h.input(Input::Join(JoinRequest {
        resume_token: Some("resume-2".into()),
        ..join_request(conn, Credential::Host, "Sam")
    }))
}

#[test]
fn a_host_removed_while_away_is_told_so_even_with_its_key() {
    let mut h = sam_removed_while_away();
    // Past its grace, while its removal is remembered.
    h.advance(60);
    let returned = sam_back(&mut h, 12);
    assert!(
        matches!(&to(12, &returned)[..], [Event::Kicked { by }] if by.as_str() == "c1"),
        "{returned:?}"
    );
    assert_eq!(h.room.member_count(), 1);
    // Told once: its key then lets it in anew, as after any removal.
    let again = h.join(13, Credential::Host, "Sam");
    assert_eq!(joined_as(&to(13, &again)), Some(("c13", Role::Host)));
}

#[test]
fn a_removal_while_away_is_forgotten_once_its_grant_would_be() {
    let mut h = sam_removed_while_away();
    // Five minutes on (the grant validity), the token means nothing: its key lets it in anew.
    h.advance(5 * 60 + 1);
    let returned = sam_back(&mut h, 12);
    assert_eq!(joined_as(&to(12, &returned)), Some(("c12", Role::Host)));
}
