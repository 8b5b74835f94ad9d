//! Reactions: everyone in the room (viewers too) sends them, every member is told who sent which,
//! nobody outside is; one connection's come at most one per `REACTION_GAP`, and a room sends
//! `ROOM_REACTIONS_PER_SECOND` at most.

use super::*;
use crate::room::model::Reaction;
use crate::room::state::reactions::{REACTION_GAP, ROOM_REACTIONS_PER_SECOND};

fn react(h: &mut Harness, conn: ConnId, reaction: Reaction) -> Vec<(ConnId, Event)> {
    h.input(Input::React { conn, reaction })
}

/// The reaction this connection was told `client` sent, if it was.
fn told(conn: ConnId, said: &[(ConnId, Event)], client: &str) -> Option<Reaction> {
    to(conn, said).into_iter().find_map(|e| match e {
        Event::Reacted {
            client_id,
            reaction,
        } if client_id.as_str() == client => Some(reaction),
        _ => None,
    })
}

#[test]
fn every_member_sees_a_reaction_the_sender_too() {
    let mut h = room_of_three();
    let said = react(&mut h, 3, Reaction::Clap);
    for conn in 1..=3 {
        assert_eq!(
            told(conn, &said, "c3"),
            Some(Reaction::Clap),
            "member {conn}"
        );
    }
    let said = react(&mut h, 2, Reaction::Heart);
    assert_eq!(told(1, &said, "c2"), Some(Reaction::Heart));
}

#[test]
fn nobody_outside_the_room_reacts_or_sees_reactions() {
    let mut h = Harness::new(RoomMode::Normal, true);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "Kim");
    h.input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    let said = react(&mut h, 2, Reaction::ThumbsUp);
    assert_eq!(error_code(&to(2, &said)), Some(RefusalCode::NotInRoom));
    assert_eq!(told(1, &said, "c2"), None, "the host is not told of it");
    let said = react(&mut h, 1, Reaction::ThumbsUp);
    assert_eq!(told(1, &said, "c1"), Some(Reaction::ThumbsUp));
    assert!(to(2, &said).is_empty(), "the knocker hears nothing of it");
}

#[test]
fn reactions_of_one_connection_are_spaced_out() {
    let mut h = room_of_three();
    assert!(told(1, &react(&mut h, 2, Reaction::Clap), "c2").is_some());
    h.now += REACTION_GAP - Duration::milliseconds(1);
    let said = react(&mut h, 2, Reaction::Clap);
    assert_eq!(error_code(&to(2, &said)), Some(RefusalCode::TooSoon));
    assert_eq!(told(1, &said, "c2"), None, "the one too soon is not sent");
    let said = react(&mut h, 3, Reaction::Laugh);
    assert!(told(1, &said, "c3").is_some(), "others are not held back");
    h.now += Duration::milliseconds(1);
    assert!(told(1, &react(&mut h, 2, Reaction::Clap), "c2").is_some());
}

#[test]
fn a_room_sends_a_few_dozen_reactions_a_second_however_many_react() {
    let mut h = Harness::new(RoomMode::Group, false);
    let audience = ROOM_REACTIONS_PER_SECOND as u64 + 5;
    h.join(1, Credential::Host, "Host");
    for conn in 2..=audience + 1 {
        h.join(conn, Credential::Viewer, &format!("Viewer {conn}"));
    }
    let mut sent = 0;
    let mut refused = 0;
    for conn in 2..=audience + 1 {
        let said = react(&mut h, conn, Reaction::Clap);
        if told(1, &said, &format!("c{conn}")).is_some() {
            sent += 1;
        } else if error_code(&to(conn, &said)) == Some(RefusalCode::TooSoon) {
            refused += 1;
        }
        h.now += Duration::milliseconds(10);
    }
    assert_eq!(
        (sent, refused),
        (ROOM_REACTIONS_PER_SECOND, 5),
        "within one second"
    );
    // The next second, the room sends again.
    h.now += Duration::seconds(1);
    assert!(told(1, &react(&mut h, 2, Reaction::Heart), "c2").is_some());
}

#[test]
fn a_reaction_does_not_keep_the_room() {
    // In a cluster every step that may change kept state writes the room's snapshot: a reaction
    // changes nothing kept (the property tests check that), so it writes nothing.
    let input = Input::React {
        conn: 1,
        reaction: Reaction::Clap,
    };
    assert!(!input.may_change_state());
}
