//! The actor with a port of the test's own: cut-offs, and what it keeps.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Duration;

use super::*;
use crate::meeting::facts::RoomFact;
use crate::meeting::{ClientId, RoomMode, RoomName};
use crate::room::event::MediaChange;
use crate::room::model::{Credential, Decider, KnockAction, KnockTarget, Theme};
use crate::room::port::PortError;
use crate::room::state::RoomConfig;
use crate::room::state::tests as state_tests;

/// A port for the actor alone; with `kept`, one that keeps every change (as a cluster's does) and
/// counts the keeps.
#[derive(Default)]
struct TestPort {
    kept: Option<Arc<AtomicUsize>>,
    faults: Arc<AtomicUsize>,
}

impl RoomPort for TestPort {
    fn encode(&self, event: &Event) -> Bytes {
        Bytes::from(format!("{event:?}"))
    }
    async fn load_theme(&self) -> Result<Theme, PortError> {
        Ok(Theme::default())
    }
    fn mint_grant(
        &self,
        client: &crate::room::model::ClientId,
        _: chrono::DateTime<Utc>,
    ) -> String {
        format!("grant-{client}")
    }
    fn record(&self, _: RoomFact) {}
    async fn record_durably(&self, _: Vec<RoomFact>) -> bool {
        true
    }
    fn media(&self, _: MediaChange) {}
    fn measured(&self, _: ClientId, _: crate::meeting::network::NetworkSample) {}
    fn keeps_every_change(&self) -> bool {
        self.kept.is_some()
    }
    async fn keep(
        &self,
        _: &crate::room::state::Snapshot,
        _: Vec<RoomFact>,
    ) -> Result<(), PortError> {
        if let Some(kept) = &self.kept {
            kept.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
    async fn facts_written(&self) {}
    async fn hand_over(&self, _: &crate::room::state::Snapshot) -> bool {
        false
    }
    fn release_if_idle(&self, _: &dyn Fn() -> bool) -> bool {
        true
    }
    fn release(&self, _: bool) {}
    fn release_after_fault(&self) {
        self.faults.fetch_add(1, Ordering::SeqCst);
    }
}

/// Log lines, as a test subscriber writes them.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A room for the actor, which runs on the wall clock (the state's tests' `config` is on a fixed
/// one, long past).
fn config(name: &str, locked: bool, reject_cooldown: Duration) -> RoomConfig {
    RoomConfig {
        room_name: RoomName::parse(name).unwrap(),
        expires_at: Utc::now() + Duration::hours(1),
        reject_cooldown,
        ..state_tests::config(RoomMode::Group, locked)
    }
}

/// A connection joining, with an outbox of `capacity` steps: the command, the connection's
/// outbox and its cut-off switch.
fn attach(
    conn: ConnId,
    capacity: usize,
    credential: Credential,
) -> (RoomCommand, mpsc::Receiver<Outbound>, CancellationToken) {
    let (outbox, inbox) = mpsc::channel(capacity);
    let cut_off = CancellationToken::new();
    let command = RoomCommand::Attach {
        conn,
        handle: ConnHandle {
            outbox,
            cut_off: cut_off.clone(),
        },
        input: Input::Join(state_tests::join_request(
            conn,
            credential,
            &format!("N{conn}"),
        )),
    };
    (command, inbox, cut_off)
}

/// The frames of one outbox item, as text (the test port writes events as `Debug`).
fn texts(frames: &[bytes::Bytes]) -> impl Iterator<Item = String> {
    frames
        .iter()
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
}

/// The next frame of an outbox that starts with `kind` (the rest of its item is dropped).
async fn frame_of(inbox: &mut mpsc::Receiver<Outbound>, kind: &str) -> String {
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), inbox.recv()).await;
        match next {
            Ok(Some(Outbound::Frames(frames))) => {
                if let Some(text) = texts(&frames).find(|text| text.starts_with(kind)) {
                    return text;
                }
            }
            Ok(Some(Outbound::Close) | None) => panic!("the connection closed before {kind}"),
            Err(_) => panic!("no {kind} within 5 s"),
        }
    }
}

/// Where every change is kept (a cluster), a rejection's cooldown running out tells nobody
/// anything and records nothing: the tick that ends it is not kept (whoever carries the room on
/// from the state before it ends the cooldown on its own first tick). The cooldown still ends.
#[tokio::test]
async fn a_tick_that_says_nothing_is_not_kept() {
    let room = Room::new(config("/door", true, Duration::seconds(1)));
    let (commands, mailbox) = mpsc::channel(64);
    let kept = Arc::new(AtomicUsize::new(0));
    let port = TestPort {
        kept: Some(kept.clone()),
        ..TestPort::default()
    };
    let actor = tokio::spawn(RoomActor::new(room, mailbox, port, CancellationToken::new()).run());
    let (command, mut host, _) = attach(1, 64, Credential::Host);
    commands.send(command).await.unwrap();
    let (command, mut guest, _) = attach(2, 64, Credential::None);
    commands.send(command).await.unwrap();
    let knock = RoomCommand::Input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    commands.send(knock).await.unwrap();
    frame_of(&mut host, "Knocked").await;
    let reject = RoomCommand::Input(Input::HandleKnock {
        by: Decider::Host(1),
        target: KnockTarget::One(ClientId::new("c2")),
        action: KnockAction::Reject,
        message: None,
    });
    commands.send(reject).await.unwrap();
    let verdict = frame_of(&mut guest, "Verdict").await;
    assert!(verdict.contains("Rejected"), "{verdict}");
    let after_the_verdict = kept.load(Ordering::SeqCst);
    assert!(after_the_verdict >= 3, "joins, knock and verdict kept");
    // The cooldown (1 s) runs out.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(kept.load(Ordering::SeqCst), after_the_verdict);
    // And the guest may knock again.
    let knock = RoomCommand::Input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    commands.send(knock).await.unwrap();
    frame_of(&mut host, "Knocked").await;
    assert_eq!(kept.load(Ordering::SeqCst), after_the_verdict + 1);
    drop(commands);
    actor.abort();
}

/// Thirty viewers stop reading at once: they are cut off in one batch, logged once, not once
/// for every event each of the others then missed (which grew with the square of their number).
#[tokio::test]
async fn slow_connections_are_cut_off_together_and_logged_once() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _logs = tracing::subscriber::set_default(subscriber);

    let room = Room::new(config("/slow", false, Duration::seconds(60)));
    let (commands, mailbox) = mpsc::channel(1024);
    let port = TestPort::default();
    let actor = tokio::spawn(RoomActor::new(room, mailbox, port, CancellationToken::new()).run());
    let (command, mut host_inbox, _) = attach(1, 10_000, Credential::Host);
    commands.send(command).await.unwrap();
    let mut viewers = Vec::new();
    for conn in 2..32 {
        // Room for every join's frames; read below, so every viewer starts with an empty outbox.
        let (command, inbox, cut_off) = attach(conn, 40, Credential::Viewer);
        commands.send(command).await.unwrap();
        viewers.push((inbox, cut_off));
    }
    let mut joined = 0;
    while joined < 30 {
        if let Some(Outbound::Frames(frames)) = host_inbox.recv().await {
            joined += texts(&frames)
                .filter(|text| text.starts_with("ClientJoined"))
                .count();
        }
    }
    for (inbox, _) in &mut viewers {
        while inbox.try_recv().is_ok() {}
    }
    // Forty chats fill every viewer's outbox at the same one.
    for _ in 0..41 {
        commands
            .send(RoomCommand::Input(Input::Chat {
                conn: 1,
                text: "hello".into(),
            }))
            .await
            .unwrap();
    }
    for _ in 0..200 {
        if viewers.iter().all(|(_, cut_off)| cut_off.is_cancelled()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(viewers.iter().all(|(_, cut_off)| cut_off.is_cancelled()));
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines = log.matches("cannot keep up").count();
    assert!(
        (1..=2).contains(&lines),
        "{lines} log lines for one batch of cut-offs:\n{log}"
    );
    // The host heard each viewer go (away: a viewer cut off may come back as itself).
    let mut away = 0;
    while let Ok(frame) = host_inbox.try_recv() {
        if let Outbound::Frames(frames) = frame {
            away += texts(&frames)
                .filter(|text| text.starts_with("ClientAway"))
                .count();
        }
    }
    assert_eq!(away, 30);
    drop(commands);
    actor.await.unwrap();
}

/// What one step has for a connection is one item of its outbox, so that it leaves in one write: a
/// knocker's `KnockSent` and `QueuePosition`.
#[tokio::test]
async fn a_steps_frames_for_a_connection_are_one_item() {
    let room = Room::new(config("/door", true, Duration::seconds(1)));
    let (commands, mailbox) = mpsc::channel(64);
    let actor = tokio::spawn(
        RoomActor::new(room, mailbox, TestPort::default(), CancellationToken::new()).run(),
    );
    let (command, mut host, _) = attach(1, 64, Credential::Host);
    commands.send(command).await.unwrap();
    let (command, mut guest, _) = attach(2, 64, Credential::None);
    commands.send(command).await.unwrap();
    frame_of(&mut host, "Joined").await;
    // The guest's refusal at the locked door.
    let Some(Outbound::Frames(door)) = guest.recv().await else {
        panic!("the guest's join had no answer")
    };
    assert_eq!(door.len(), 1, "{:?}", texts(&door).collect::<Vec<_>>());
    let knock = RoomCommand::Input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    commands.send(knock).await.unwrap();
    let Some(Outbound::Frames(frames)) = guest.recv().await else {
        panic!("the knock had no answer")
    };
    let kinds: Vec<String> = texts(&frames)
        .map(|text| text.chars().take_while(|c| c.is_alphanumeric()).collect())
        .collect();
    assert_eq!(kinds, ["KnockSent", "QueuePosition"]);
    drop(commands);
    actor.abort();
}

/// A bug that panics the room's state machine does not leave its connections open and silent:
/// each is told to reconnect (`server_shutting_down`, as when a room moves) and closed, and the actor
/// stops, so the next join opens the room again. The faulted step's half-changed state is not kept:
/// what was kept before it stays for whoever carries on.
#[tokio::test]
async fn a_fault_in_the_room_sends_its_connections_to_reconnect() {
    let room = Room::new(config("/faulty", true, Duration::seconds(1)));
    let (commands, mailbox) = mpsc::channel(64);
    let kept = Arc::new(AtomicUsize::new(0));
    let faults = Arc::new(AtomicUsize::new(0));
    let port = TestPort {
        kept: Some(kept.clone()),
        faults: faults.clone(),
    };
    let actor = RoomActor::new(room, mailbox, port, CancellationToken::new());
    let fault = actor.fault_next_step.clone();
    let actor = tokio::spawn(actor.run());
    let (command, mut host, _) = attach(1, 64, Credential::Host);
    commands.send(command).await.unwrap();
    let (command, mut guest, _) = attach(2, 64, Credential::None);
    commands.send(command).await.unwrap();
    frame_of(&mut host, "Joined").await;
    frame_of(&mut guest, "AtDoor").await;
    let kept_before = kept.load(Ordering::SeqCst);
    assert!(kept_before > 0, "the joins were kept");

    fault.store(true, Ordering::SeqCst);
    let knock = RoomCommand::Input(Input::Knock {
        conn: 2,
        display_name: None,
    });
    commands.send(knock).await.unwrap();
    for inbox in [&mut host, &mut guest] {
        let told = frame_of(inbox, "Refused").await;
        assert!(told.contains("Restarting"), "{told}");
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), inbox.recv()).await;
        assert!(matches!(closed, Ok(Some(Outbound::Close))), "{closed:?}");
    }
    tokio::time::timeout(std::time::Duration::from_secs(5), actor)
        .await
        .expect("the actor stops after a fault")
        .expect("the actor's task did not itself panic");
    assert!(commands.is_closed(), "the next join opens the room anew");
    assert_eq!(
        kept.load(Ordering::SeqCst),
        kept_before,
        "the faulted step is not kept"
    );
    assert_eq!(
        faults.load(Ordering::SeqCst),
        1,
        "the room is let go as a faulted one"
    );
}
