//! Local recording: hosts only, in meetings that allow it, one at a time; every member is told
//! (knockers only that it is recorded), newcomers see it as they enter, and it stops when its host leaves.

use super::*;
use crate::meeting::RecordingKind;

/// Who this connection was told records the call, if it was told.
fn told(conn: ConnId, said: &[(ConnId, Event)]) -> Option<Option<ClientId>> {
    to(conn, said).into_iter().find_map(|e| match e {
        Event::RecordingChanged { recording, .. } => Some(recording.map(|r| r.by)),
        _ => None,
    })
}

fn record(h: &mut Harness, conn: ConnId, on: bool) -> Vec<(ConnId, Event)> {
    h.input(Input::SetRecording { conn, on })
}

#[test]
fn a_host_records_and_everyone_in_the_room_is_told() {
    let mut h = room_of_three();
    // Someone at the door of the room, locked now, and knocking.
    h.input(Input::SetLock {
        conn: 1,
        locked: true,
    });
    h.join(9, Credential::None, "Kim");
    h.knock(9);
    assert_eq!(h.room.knock_views().len(), 1, "Kim knocks");
    let said = record(&mut h, 1, true);
    for conn in 1..=3 {
        assert_eq!(
            told(conn, &said),
            Some(Some(ClientId::new("c1"))),
            "member {conn}"
        );
    }
    // A knocker is told only that the call is being recorded, not by whom.
    let recording_now = DoorView {
        host_present: true,
        recording: true,
        locked: true,
    };
    assert_eq!(to(9, &said), [Event::DoorChanged(recording_now)]);
    let recording = h.room.recording().expect("recording");
    assert_eq!(
        (&recording.by, recording.started_at),
        (&ClientId::new("c1"), h.now)
    );
    assert_eq!(h.fact_kinds().last(), Some(&FactKind::RecordingStarted));
    // Again: nothing new.
    assert!(record(&mut h, 1, true).is_empty());
    // A newcomer (the room open again) sees it as it enters.
    h.input(Input::SetLock {
        conn: 1,
        locked: false,
    });
    let said = h.join(4, Credential::None, "Sam");
    let joined = joined_room(4, &said).expect("joined");
    assert_eq!(joined.recording.map(|r| r.by), Some(ClientId::new("c1")));
    assert_eq!(joined.recording_kind, RecordingKind::Local);
    let said = record(&mut h, 1, false);
    assert_eq!(told(4, &said), Some(None));
    // (The room was unlocked meanwhile: the knocker was told so then.)
    let not_recording = DoorView {
        recording: false,
        locked: false,
        ..recording_now
    };
    assert_eq!(to(9, &said), [Event::DoorChanged(not_recording)]);
    let stopped = h.facts.last().expect("a fact");
    assert_eq!(stopped.kind, FactKind::RecordingStopped);
    let host = stopped.client.as_ref().expect("whose recording");
    assert_eq!(
        (host.client_id.as_str(), host.display_name.as_str()),
        ("c1", "Host")
    );
    assert!(said.iter().any(|(_, e)| matches!(e,
        Event::RecordingChanged { by: Some(by), .. } if by.as_str() == "c1")));
    assert!(record(&mut h, 1, false).is_empty(), "stopped already");
}

#[test]
fn only_hosts_one_at_a_time_and_any_host_stops_it() {
    let mut h = room_of_three();
    let said = record(&mut h, 2, true);
    assert_eq!(error_code(&to(2, &said)), Some(RefusalCode::Forbidden));
    h.join(4, Credential::Host, "Second host");
    record(&mut h, 1, true);
    let said = record(&mut h, 4, true);
    assert_eq!(
        error_code(&to(4, &said)),
        Some(RefusalCode::RecordingUnavailable),
        "another host records already"
    );
    assert_eq!(told(2, &said), None);
    let said = record(&mut h, 2, false);
    assert_eq!(error_code(&to(2, &said)), Some(RefusalCode::Forbidden));
    let said = record(&mut h, 4, false);
    assert_eq!(
        told(1, &said),
        Some(None),
        "the recording host's page is told to stop"
    );
}

#[test]
fn a_meeting_that_is_not_local_may_not_be_recorded() {
    for kind in [RecordingKind::None, RecordingKind::Cloud] {
        let mut config = config(RoomMode::Group, false);
        config.recording = kind;
        let mut h = Harness::new(RoomMode::Group, false);
        h.room = Room::new(config);
        h.join(1, Credential::Host, "Host");
        let said = record(&mut h, 1, true);
        assert_eq!(
            error_code(&to(1, &said)),
            Some(RefusalCode::RecordingUnavailable),
            "{kind:?}"
        );
        assert!(h.room.recording().is_none());
    }
}

#[test]
fn it_goes_on_while_its_host_is_away_and_stops_when_they_leave() {
    let mut h = room_of_three();
    record(&mut h, 1, true);
    let said = h.input(Input::Disconnected { conn: 1 });
    assert_eq!(told(2, &said), None, "away: their browser may still record");
    let said = h.resume(5, 1, "Host");
    let joined = joined_room(5, &said).expect("back");
    assert_eq!(joined.recording.map(|r| r.by), Some(ClientId::new("c1")));
    let said = h.input(Input::Leave { conn: 5 });
    assert_eq!(told(2, &said), Some(None));
    // Its end is a fact too, naming the host who left.
    let stopped = h
        .facts
        .iter()
        .rfind(|f| f.kind == FactKind::RecordingStopped);
    let host = stopped
        .and_then(|f| f.client.as_ref())
        .expect("whose recording stopped");
    assert_eq!(host.display_name, "Host");
    assert!(
        said.iter()
            .any(|(_, e)| matches!(e, Event::RecordingChanged { by: None, .. }))
    );
    // Away and never back: stopped when the grace runs out.
    h.join(6, Credential::Host, "Other host");
    record(&mut h, 6, true);
    h.input(Input::Disconnected { conn: 6 });
    let said = h.advance(3600);
    assert_eq!(told(2, &said), Some(None));
}

#[test]
fn it_is_kept_when_the_room_moves() {
    let mut h = room_of_three();
    record(&mut h, 1, true);
    h.move_room();
    let said = h.resume(7, 1, "Host");
    let joined = joined_room(7, &said).expect("back");
    assert_eq!(joined.recording.map(|r| r.by), Some(ClientId::new("c1")));
}

#[test]
fn its_end_is_a_fact_when_the_meeting_ends_but_not_when_the_room_moves() {
    let mut h = room_of_three();
    record(&mut h, 1, true);
    h.move_room();
    assert_eq!(
        h.fact_kinds().last(),
        Some(&FactKind::RecordingStarted),
        "carried on, not ended"
    );
    h.resume(7, 1, "Host");
    h.input(Input::EndMeeting { conn: 7 });
    let kinds = h.fact_kinds();
    let stopped = kinds.iter().position(|k| *k == FactKind::RecordingStopped);
    let left = kinds.iter().rposition(|k| *k == FactKind::Left);
    assert!(
        stopped.is_some() && stopped < left,
        "the recording's end, before the members leave: {kinds:?}"
    );
}
