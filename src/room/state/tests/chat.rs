//! Chat: every member hears a message, with an id; its sender or a host removes it for everyone,
//! nobody else does, and removing it twice says nothing.

use super::*;

fn chat(h: &mut Harness, conn: ConnId, text: &str) -> String {
    let said = h.input(Input::Chat {
        conn,
        text: text.into(),
    });
    let lines: Vec<_> = to(1, &said)
        .into_iter()
        .filter_map(|e| match e {
            Event::Chat(line) => Some(line.id),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 1, "the host hears it once");
    lines[0].clone()
}

fn remove(h: &mut Harness, conn: ConnId, id: &str) -> Vec<(ConnId, Event)> {
    h.input(Input::RemoveChat {
        conn,
        id: id.into(),
    })
}

/// Whether this connection heard `id` removed.
fn removed(conn: ConnId, said: &[(ConnId, Event)], id: &str) -> bool {
    to(conn, said)
        .into_iter()
        .any(|e| matches!(e, Event::ChatRemoved { id: removed, .. } if removed == id))
}

#[test]
fn each_message_has_an_id_of_its_own() {
    let mut h = room_of_three();
    let first = chat(&mut h, 2, "hello");
    let second = chat(&mut h, 2, "hello again");
    assert_ne!(first, second);
}

#[test]
fn its_sender_or_a_host_removes_a_message_for_everyone_nobody_else() {
    let mut h = room_of_three();
    let pats = chat(&mut h, 2, "hello");
    let said = remove(&mut h, 3, &pats);
    assert_eq!(
        error_code(&to(3, &said)),
        Some(RefusalCode::Forbidden),
        "a viewer may not remove a guest's"
    );
    let said = remove(&mut h, 2, &pats);
    for conn in 1..=3 {
        assert!(removed(conn, &said, &pats), "member {conn} is told");
    }
    assert!(
        remove(&mut h, 1, &pats).is_empty(),
        "removed already: nothing to say"
    );
    let vics = chat(&mut h, 3, "a question");
    let said = remove(&mut h, 1, &vics);
    assert!(removed(3, &said, &vics), "a host removes anyone's");
    let hosts = chat(&mut h, 1, "welcome");
    let said = remove(&mut h, 2, &hosts);
    assert_eq!(
        error_code(&to(2, &said)),
        Some(RefusalCode::Forbidden),
        "a guest may not remove a host's"
    );
    // One the room does not know (older than it remembers, or from before a restart): a host's
    // removal goes out, a guest's is refused.
    assert!(removed(2, &remove(&mut h, 1, "123-4"), "123-4"));
    let said = remove(&mut h, 2, "123-5");
    assert_eq!(error_code(&to(2, &said)), Some(RefusalCode::Forbidden));
}
