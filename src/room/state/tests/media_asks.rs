//! A host asks members to turn their microphone or camera off or on: each of them is told, nobody
//! else; viewers, the host themself and non-hosts are refused; members gone meanwhile are passed
//! over.

use super::*;
use crate::room::model::MediaAsk;

fn ask(h: &mut Harness, conn: ConnId, targets: &[&str], ask: MediaAsk) -> Vec<(ConnId, Event)> {
    h.input(Input::AskMedia {
        conn,
        targets: targets.iter().map(|t| ClientId::new(*t)).collect(),
        ask,
    })
}

/// What this connection was asked, and by whom.
fn asked(conn: ConnId, said: &[(ConnId, Event)]) -> Option<(MediaAsk, String)> {
    to(conn, said).into_iter().find_map(|e| match e {
        Event::MediaAsked { ask, by } => Some((ask, by.to_string())),
        _ => None,
    })
}

#[test]
fn the_members_named_are_asked_and_nobody_else_is() {
    let mut h = room_of_three();
    h.join(4, Credential::None, "Sam");
    let said = ask(&mut h, 1, &["c2", "c4"], MediaAsk::Mute);
    for conn in [2, 4] {
        assert_eq!(
            asked(conn, &said),
            Some((MediaAsk::Mute, "c1".into())),
            "member {conn}"
        );
    }
    assert_eq!(asked(3, &said), None, "the viewer is not");
    assert_eq!(asked(1, &said), None, "nor the host");
    let said = ask(&mut h, 1, &["c2", "c2"], MediaAsk::TurnOnCamera);
    let told: Vec<_> = to(2, &said).into_iter().collect();
    assert_eq!(told.len(), 1, "asked once: {told:?}");
}

#[test]
fn only_hosts_ask_and_not_of_viewers_or_themselves() {
    let mut h = room_of_three();
    let said = ask(&mut h, 2, &["c1"], MediaAsk::Mute);
    assert_eq!(
        error_code(&to(2, &said)),
        Some(RefusalCode::Forbidden),
        "a guest may not"
    );
    assert_eq!(asked(1, &said), None);
    for targets in [&["c2", "c3"][..], &["c1"][..]] {
        let said = ask(&mut h, 1, targets, MediaAsk::TurnOffCamera);
        assert_eq!(
            error_code(&to(1, &said)),
            Some(RefusalCode::Forbidden),
            "{targets:?}"
        );
        assert_eq!(
            asked(2, &said),
            None,
            "nothing is asked when one of them may not be"
        );
    }
    let said = ask(&mut h, 1, &["nobody"], MediaAsk::Unmute);
    assert_eq!(error_code(&to(1, &said)), Some(RefusalCode::ClientNotFound));
}

#[test]
fn members_gone_or_away_meanwhile_are_passed_over() {
    let mut h = room_of_three();
    h.join(4, Credential::None, "Sam");
    h.input(Input::Disconnected { conn: 4 });
    let said = ask(&mut h, 1, &["c2", "c4", "gone"], MediaAsk::Mute);
    assert_eq!(asked(2, &said), Some((MediaAsk::Mute, "c1".into())));
    assert_eq!(error_code(&to(1, &said)), None, "no refusal for them");
    let said = ask(&mut h, 1, &["c4"], MediaAsk::Mute);
    assert_eq!(
        error_code(&to(1, &said)),
        Some(RefusalCode::ClientNotFound),
        "only someone away: nobody to ask"
    );
}

#[test]
fn a_request_of_media_does_not_keep_the_room() {
    // It changes nothing kept (the property tests check that): a cluster writes nothing for it.
    let input = Input::AskMedia {
        conn: 1,
        targets: vec![ClientId::new("c2")],
        ask: MediaAsk::Mute,
    };
    assert!(!input.may_change_state());
}
