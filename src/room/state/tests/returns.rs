//! A member whose page went (it sent `leave_room` as it closed or reloaded) comes back by its
//! resume token within the grace as itself, without knocking; later, or never a member, it is at
//! the door as anyone is.

use super::*;

/// A locked room with a host (1) and a guest (2) let in after knocking.
fn guest_let_in() -> Harness {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.let_in(2, "Pat");
    h
}

fn joined_as(events: &[Event]) -> Option<(String, Role)> {
    events.iter().find_map(|e| match e {
        Event::Joined(j) => Some((j.self_id.as_str().to_owned(), j.role)),
        _ => None,
    })
}

#[test]
fn a_reloaded_page_is_back_as_itself_without_knocking() {
    let mut h = guest_let_in();
    let left = h.input(Input::Leave { conn: 2 });
    assert!(to(1, &left).iter().any(|e| matches!(
        e,
        Event::ClientLeft {
            reason: LeaveReason::Left,
            ..
        }
    )));
    h.advance(5);
    let back = h.resume(7, 2, "Pat");
    assert_eq!(
        joined_as(&to(7, &back)),
        Some(("c2".to_owned(), Role::GrantedVisitor)),
        "the same person, in the room, no door: {back:?}"
    );
    assert!(to(1, &back).iter().any(|e| matches!(e,
        Event::ClientJoined(client) if client.id.as_str() == "c2")));
    assert!(
        !to(1, &back).iter().any(|e| matches!(e, Event::Knocked(_))),
        "nobody knocked"
    );
    // Back, it keeps its token: it may go and come back again, but not later than the grace.
    h.input(Input::Leave { conn: 7 });
    h.advance(3600);
    let late = h.resume(8, 2, "Pat");
    assert!(
        to(8, &late).iter().any(|e| matches!(e, Event::AtDoor(_))),
        "past the grace: at the door, {late:?}"
    );
}

#[test]
fn only_a_member_comes_back_so_and_only_within_the_grace() {
    let mut h = guest_let_in();
    h.input(Input::Leave { conn: 2 });
    h.advance(16);
    let late = h.resume(7, 2, "Pat");
    assert!(to(7, &late).iter().any(|e| matches!(e, Event::AtDoor(_))));
    // A knocker that cancels is not let in by its token.
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "Pat");
    h.knock(2);
    h.input(Input::Leave { conn: 2 });
    let again = h.resume(7, 2, "Pat");
    assert!(to(7, &again).iter().any(|e| matches!(e, Event::AtDoor(_))));
}
