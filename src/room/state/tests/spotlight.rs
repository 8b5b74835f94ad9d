//! The spotlight: hosts only, on someone in the room who sends a picture, told to every member; it
//! stays while its person's connection is away and across a move, and goes out when they leave.

use super::*;

/// Whom this connection was told is in the spotlight, if it was told.
fn told(conn: ConnId, said: &[(ConnId, Event)]) -> Option<Option<ClientId>> {
    to(conn, said).into_iter().find_map(|e| match e {
        Event::SpotlightChanged { client_id, .. } => Some(client_id),
        _ => None,
    })
}

fn spotlight(h: &mut Harness, conn: ConnId, target: Option<&str>) -> Vec<(ConnId, Event)> {
    h.input(Input::SetSpotlight {
        conn,
        target: target.map(ClientId::new),
    })
}

#[test]
fn a_host_puts_a_guest_in_the_spotlight_for_everyone() {
    let mut h = room_of_three();
    let said = spotlight(&mut h, 1, Some("c2"));
    for conn in 1..=3 {
        assert_eq!(
            told(conn, &said),
            Some(Some(ClientId::new("c2"))),
            "member {conn} is told"
        );
    }
    assert!(said.iter().any(|(_, e)| matches!(e,
        Event::SpotlightChanged { by: Some(by), .. } if by.as_str() == "c1")));
    // Whoever comes in later sees it in the room as it joins.
    let said = h.join(4, Credential::None, "Sam");
    let joined = joined_room(4, &said);
    assert_eq!(
        joined.and_then(|room| room.spotlight),
        Some(ClientId::new("c2"))
    );
    // The same again changes nothing and says nothing; off, everyone hears it.
    assert!(spotlight(&mut h, 1, Some("c2")).is_empty());
    let said = spotlight(&mut h, 1, None);
    assert_eq!(told(2, &said), Some(None));
}

#[test]
fn only_a_host_on_someone_who_sends_a_picture() {
    let mut h = room_of_three();
    let said = spotlight(&mut h, 2, Some("c2"));
    assert_eq!(
        error_code(&to(2, &said)),
        Some(RefusalCode::Forbidden),
        "a guest may not"
    );
    let said = spotlight(&mut h, 1, Some("c3"));
    assert_eq!(
        error_code(&to(1, &said)),
        Some(RefusalCode::Forbidden),
        "a viewer sends no picture"
    );
    let said = spotlight(&mut h, 1, Some("nobody"));
    assert_eq!(error_code(&to(1, &said)), Some(RefusalCode::ClientNotFound));
    assert_eq!(h.room.spotlight(), None, "nothing was put in it");
    // A host may put themself in it.
    spotlight(&mut h, 1, Some("c1"));
    assert_eq!(h.room.spotlight(), Some(&ClientId::new("c1")));
}

#[test]
fn it_waits_while_its_person_is_away_and_goes_out_when_they_leave() {
    let mut h = room_of_three();
    spotlight(&mut h, 1, Some("c2"));
    let said = h.input(Input::Disconnected { conn: 2 });
    assert_eq!(
        told(1, &said),
        None,
        "away keeps their place, and the spotlight"
    );
    h.resume(5, 2, "Pat");
    assert_eq!(h.room.spotlight(), Some(&ClientId::new("c2")));
    let said = h.input(Input::Leave { conn: 5 });
    assert_eq!(told(1, &said), Some(None), "gone: the spotlight goes out");
    assert!(
        said.iter()
            .any(|(_, e)| matches!(e, Event::SpotlightChanged { by: None, .. }))
    );
    // Away and never back: it goes out when the grace runs out.
    spotlight(&mut h, 1, Some("c1"));
    h.join(6, Credential::None, "Sam");
    spotlight(&mut h, 1, Some("c6"));
    h.input(Input::Disconnected { conn: 6 });
    let said = h.advance(3600);
    assert_eq!(told(1, &said), Some(None));
}

#[test]
fn it_is_kept_when_the_room_moves() {
    let mut h = room_of_three();
    spotlight(&mut h, 1, Some("c2"));
    h.move_room();
    let said = h.resume(7, 1, "Host");
    let joined = joined_room(7, &said);
    assert_eq!(
        joined.and_then(|room| room.spotlight),
        Some(ClientId::new("c2"))
    );
}
