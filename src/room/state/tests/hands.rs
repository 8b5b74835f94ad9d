//! Raised hands: anyone in the room raises and lowers their own, a host lowers anyone's, every
//! member knows whose are up (oldest first, also on joining), and a hand goes down with its person.

use super::*;

fn hand(h: &mut Harness, conn: ConnId, target: Option<&str>, raised: bool) -> Vec<(ConnId, Event)> {
    h.input(Input::SetHand {
        conn,
        target: target.map(ClientId::new),
        raised,
    })
}

/// Whose hand this connection was told went up (`Some(true)`) or down.
fn told(conn: ConnId, said: &[(ConnId, Event)], client: &str) -> Option<bool> {
    to(conn, said).into_iter().find_map(|e| match e {
        Event::HandChanged {
            client_id,
            raised_at,
            ..
        } if client_id.as_str() == client => Some(raised_at.is_some()),
        _ => None,
    })
}

fn hands_up(h: &Harness) -> Vec<&str> {
    h.room.hands().iter().map(|(c, _)| c.as_str()).collect()
}

#[test]
fn hands_go_up_in_order_and_everyone_knows() {
    let mut h = room_of_three();
    let said = hand(&mut h, 3, None, true);
    for conn in 1..=3 {
        assert_eq!(told(conn, &said, "c3"), Some(true), "member {conn} is told");
    }
    h.now += Duration::seconds(5);
    hand(&mut h, 2, None, true);
    assert_eq!(hands_up(&h), ["c3", "c2"], "oldest first");
    assert!(
        hand(&mut h, 2, None, true).is_empty(),
        "up already: nothing to say"
    );
    let said = h.join(4, Credential::None, "Sam");
    let joined = joined_room(4, &said);
    let hands: Vec<String> = joined
        .map(|room| room.hands.iter().map(|(c, _)| c.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(hands, ["c3", "c2"], "a newcomer finds them");
    let said = hand(&mut h, 3, None, false);
    assert_eq!(told(4, &said, "c3"), Some(false));
    assert_eq!(hands_up(&h), ["c2"]);
}

#[test]
fn a_host_lowers_anyone_s_hand_and_nobody_raises_another_s() {
    let mut h = room_of_three();
    hand(&mut h, 2, None, true);
    let said = hand(&mut h, 3, Some("c2"), false);
    assert_eq!(
        error_code(&to(3, &said)),
        Some(RefusalCode::Forbidden),
        "a viewer may not"
    );
    let said = hand(&mut h, 1, Some("c3"), true);
    assert_eq!(
        error_code(&to(1, &said)),
        Some(RefusalCode::Forbidden),
        "not even a host raises it"
    );
    let said = hand(&mut h, 1, Some("nobody"), false);
    assert_eq!(error_code(&to(1, &said)), Some(RefusalCode::ClientNotFound));
    let said = hand(&mut h, 1, Some("c2"), false);
    assert_eq!(told(2, &said, "c2"), Some(false), "the host lowered it");
    assert!(hands_up(&h).is_empty());
    // Someone at the door (a locked room's) may not: only people in the room.
    let mut locked = Harness::new(RoomMode::Normal, true);
    locked.join(1, Credential::None, "Kim");
    let said = hand(&mut locked, 1, None, true);
    assert_eq!(error_code(&to(1, &said)), Some(RefusalCode::NotInRoom));
}

#[test]
fn a_hand_stays_up_while_away_and_goes_down_when_its_person_leaves() {
    let mut h = room_of_three();
    hand(&mut h, 2, None, true);
    // Joining again from another window replaces the connection: the others hear them leave
    // (which takes the hand down on their screens) and come back, so it is down.
    let said = h.resume(12, 2, "Pat");
    assert_replaced(&h, &said, 2, 1, "c2");
    assert!(hands_up(&h).is_empty(), "down, as the others were told");
    hand(&mut h, 12, None, true);
    h.input(Input::Disconnected { conn: 12 });
    assert_eq!(hands_up(&h), ["c2"], "away keeps it");
    h.resume(5, 2, "Pat");
    assert_eq!(hands_up(&h), ["c2"], "back with it");
    h.input(Input::Leave { conn: 5 });
    assert!(hands_up(&h).is_empty(), "gone with them");
    // Away and never back.
    hand(&mut h, 3, None, true);
    h.input(Input::Disconnected { conn: 3 });
    h.advance(3600);
    assert!(hands_up(&h).is_empty());
}

#[test]
fn hands_are_kept_when_the_room_moves() {
    let mut h = room_of_three();
    hand(&mut h, 2, None, true);
    h.move_room();
    let said = h.resume(7, 1, "Host");
    let joined = joined_room(7, &said);
    assert_eq!(joined.map(|room| room.hands.len()), Some(1));
}

#[test]
fn a_host_lowers_every_hand_at_once_and_nobody_else_may() {
    let mut h = room_of_three();
    hand(&mut h, 2, None, true);
    hand(&mut h, 3, None, true);
    let said = h.input(Input::LowerAllHands { conn: 2 });
    assert_eq!(error_code(&to(2, &said)), Some(RefusalCode::Forbidden));
    assert_eq!(hands_up(&h), ["c2", "c3"]);
    let said = h.input(Input::LowerAllHands { conn: 1 });
    for conn in 1..=3 {
        assert_eq!(
            told(conn, &said, "c2"),
            Some(false),
            "member {conn} hears c2's"
        );
        assert_eq!(told(conn, &said, "c3"), Some(false), "and c3's");
    }
    assert!(hands_up(&h).is_empty());
    assert!(
        h.input(Input::LowerAllHands { conn: 1 }).is_empty(),
        "none up: nothing to say"
    );
}
