//! The spotlight: hosts only, on people in the room who send a picture (up to four at once, in the
//! order put there), told to every member; it stays while its person's connection is away and
//! across a move, and goes out for whoever leaves.

use super::*;
use crate::room::state::spotlight::SPOTLIGHT_MAX;

/// Whom this connection was told is in the spotlight, if it was told.
fn told(conn: ConnId, said: &[(ConnId, Event)]) -> Option<Vec<ClientId>> {
    to(conn, said).into_iter().find_map(|e| match e {
        Event::SpotlightChanged { client_ids, .. } => Some(client_ids),
        _ => None,
    })
}

fn ids(names: &[&str]) -> Vec<ClientId> {
    names.iter().map(|name| ClientId::new(*name)).collect()
}

fn spotlight(h: &mut Harness, conn: ConnId, target: Option<&str>) -> Vec<(ConnId, Event)> {
    h.input(Input::SetSpotlight {
        conn,
        target: target.map(ClientId::new),
    })
}

fn change(h: &mut Harness, conn: ConnId, target: &str, lit: bool) -> Vec<(ConnId, Event)> {
    h.input(Input::ChangeSpotlight {
        conn,
        target: ClientId::new(target),
        lit,
    })
}

#[test]
fn a_host_puts_a_guest_in_the_spotlight_for_everyone() {
    let mut h = room_of_three();
    let said = spotlight(&mut h, 1, Some("c2"));
    for conn in 1..=3 {
        assert_eq!(
            told(conn, &said),
            Some(ids(&["c2"])),
            "member {conn} is told"
        );
    }
    assert!(said.iter().any(|(_, e)| matches!(e,
        Event::SpotlightChanged { by: Some(by), .. } if by.as_str() == "c1")));
    // Whoever comes in later sees it in the room as it joins.
    let said = h.join(4, Credential::None, "Sam");
    let joined = joined_room(4, &said);
    assert_eq!(joined.map(|room| room.spotlights), Some(ids(&["c2"])));
    // The same again changes nothing and says nothing; off, everyone hears it.
    assert!(spotlight(&mut h, 1, Some("c2")).is_empty());
    let said = spotlight(&mut h, 1, None);
    assert_eq!(told(2, &said), Some(vec![]));
}

#[test]
fn several_share_it_in_the_order_put_there_up_to_four() {
    let mut h = room_of_three();
    for (conn, name) in [(4, "Sam"), (5, "Kim"), (6, "Lee")] {
        h.join(conn, Credential::None, name);
    }
    change(&mut h, 1, "c2", true);
    let said = change(&mut h, 1, "c1", true);
    assert_eq!(
        told(2, &said),
        Some(ids(&["c2", "c1"])),
        "beside, not instead"
    );
    assert!(
        change(&mut h, 1, "c2", true).is_empty(),
        "already there: nothing"
    );
    change(&mut h, 1, "c4", true);
    change(&mut h, 1, "c5", true);
    assert_eq!(h.room.spotlights().len(), SPOTLIGHT_MAX);
    let said = change(&mut h, 1, "c6", true);
    assert_eq!(error_code(&to(1, &said)), Some(RefusalCode::SpotlightFull));
    assert_eq!(told(2, &said), None, "nobody else hears of it");
    let said = change(&mut h, 1, "c1", false);
    assert_eq!(
        told(4, &said),
        Some(ids(&["c2", "c4", "c5"])),
        "out, the order kept"
    );
    assert!(
        change(&mut h, 1, "c1", false).is_empty(),
        "not there: nothing"
    );
    // Putting one alone there takes the others out.
    let said = spotlight(&mut h, 1, Some("c6"));
    assert_eq!(told(2, &said), Some(ids(&["c6"])));
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
    let said = change(&mut h, 2, "c2", true);
    assert_eq!(error_code(&to(2, &said)), Some(RefusalCode::Forbidden));
    let said = spotlight(&mut h, 1, Some("c3"));
    assert_eq!(
        error_code(&to(1, &said)),
        Some(RefusalCode::Forbidden),
        "a viewer sends no picture"
    );
    let said = change(&mut h, 1, "c3", true);
    assert_eq!(error_code(&to(1, &said)), Some(RefusalCode::Forbidden));
    let said = spotlight(&mut h, 1, Some("nobody"));
    assert_eq!(error_code(&to(1, &said)), Some(RefusalCode::ClientNotFound));
    let said = change(&mut h, 1, "nobody", true);
    assert_eq!(error_code(&to(1, &said)), Some(RefusalCode::ClientNotFound));
    assert!(h.room.spotlights().is_empty(), "nothing was put in it");
    // A host may put themself in it.
    spotlight(&mut h, 1, Some("c1"));
    assert_eq!(h.room.spotlights(), ids(&["c1"]));
}

#[test]
fn it_waits_while_its_person_is_away_and_goes_out_when_they_leave() {
    let mut h = room_of_three();
    spotlight(&mut h, 1, Some("c2"));
    change(&mut h, 1, "c1", true);
    let said = h.input(Input::Disconnected { conn: 2 });
    assert_eq!(
        told(1, &said),
        None,
        "away keeps their place, and the spotlight"
    );
    h.resume(5, 2, "Pat");
    assert_eq!(h.room.spotlights(), ids(&["c2", "c1"]));
    let said = h.input(Input::Leave { conn: 5 });
    assert_eq!(
        told(1, &said),
        Some(ids(&["c1"])),
        "gone: out of the spotlight"
    );
    assert!(
        said.iter()
            .any(|(_, e)| matches!(e, Event::SpotlightChanged { by: None, .. }))
    );
    // Away and never back: out when the grace runs out.
    h.join(6, Credential::None, "Sam");
    spotlight(&mut h, 1, Some("c6"));
    h.input(Input::Disconnected { conn: 6 });
    let said = h.advance(3600);
    assert_eq!(told(1, &said), Some(vec![]));
}

#[test]
fn it_is_kept_when_the_room_moves() {
    let mut h = room_of_three();
    spotlight(&mut h, 1, Some("c2"));
    change(&mut h, 1, "c1", true);
    h.move_room();
    let said = h.resume(7, 1, "Host");
    let joined = joined_room(7, &said);
    assert_eq!(joined.map(|room| room.spotlights), Some(ids(&["c2", "c1"])));
}

#[test]
fn a_snapshot_kept_before_several_could_be_is_read_and_one_kept_now_reads_on_such_a_server() {
    let mut h = room_of_three();
    spotlight(&mut h, 1, Some("c2"));
    change(&mut h, 1, "c1", true);
    let mut kept = serde_json::to_value(h.room.snapshot()).expect("a snapshot serialises");
    // A server of before several could be reads `spotlight`: the first.
    assert_eq!(kept["spotlight"], "c2");
    kept.as_object_mut()
        .expect("a snapshot is an object")
        .remove("spotlights");
    let old: Snapshot = serde_json::from_value(kept).expect("the older form reads");
    let room = Room::restore(h.room.config().clone(), old, h.now).expect("same version");
    assert_eq!(room.spotlights(), ids(&["c2"]));
}
