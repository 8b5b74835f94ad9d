//! What a test observer of the room knows, built only from the events each connection received,
//! and the invariants it checks as it hears them: who may learn what, that no change is told twice.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// A knock in a host's list: client id, state, and whether its knocker is away.
pub(super) type Listed = (ClientId, KnockState, bool);

/// What a test observer knows, built only from the events each connection received.
#[derive(Default)]
pub(super) struct Observer {
    /// Connections that received `room_joined` with the room and have not left since.
    pub(super) members: BTreeSet<ConnId>,
    /// Each host's own copy of the queue.
    pub(super) host_queues: BTreeMap<ConnId, Vec<Listed>>,
    /// Knocks (by client id) open in the fact stream, and how many final verdicts each knocker got.
    pub(super) open_knocks: BTreeSet<ClientId>,
    /// Clients inside by the fact stream: joined and not left since.
    pub(super) inside: BTreeSet<ClientId>,
    /// Each member's idea of who is in the room, and who of them is away.
    pub(super) rosters: BTreeMap<ConnId, BTreeMap<ClientId, bool>>,
    /// Each member's role, as its `room_joined` said.
    pub(super) roles: BTreeMap<ConnId, Role>,
    /// Whom each member was last told is in the spotlight.
    pub(super) spotlights: BTreeMap<ConnId, Vec<ClientId>>,
    /// Whose recording the facts say runs.
    pub(super) recording_fact: Option<ClientId>,
    /// Who each member was last told is recording the call.
    pub(super) recordings: BTreeMap<ConnId, Option<ClientId>>,
    /// The hands up, oldest first, as each member was told.
    pub(super) hands: BTreeMap<ConnId, Vec<ClientId>>,
    /// What each connection outside the room was last told of it.
    pub(super) doors: BTreeMap<ConnId, DoorView>,
}

impl Observer {
    pub(super) fn receive(&mut self, conn: ConnId, event: &Event) {
        let member = self.members.contains(&conn);
        // Invariant: a connection outside the room learns nothing of the room (but the door: whether a host is in, and recording).
        if !member {
            let allowed = matches!(
                event,
                Event::Joined(_)
                    | Event::AtDoor(_)
                    | Event::RoomFull
                    | Event::KnockSent { .. }
                    | Event::Verdict(_)
                    | Event::KnockPageChanged(_)
                    | Event::Ended { .. }
                    | Event::YouLeft
                    | Event::Refused(_)
                    | Event::QueuePosition { .. }
                    | Event::DoorChanged(_)
                    | Event::HostMessage { .. }
                    | Event::KnockExpired { .. }
                    // A member removed while away, back by its token.
                    | Event::Kicked { .. }
            );
            assert!(
                allowed,
                "connection {conn}, outside the room, received {event:?}"
            );
        }
        match event {
            Event::AtDoor(door) => {
                self.doors.insert(conn, door.view);
            }
            Event::DoorChanged(view) => {
                assert!(!member, "member {conn} told of the door");
                // (A guest sent back is told the door at once; others, of each change.)
                let before = self.doors.insert(conn, *view);
                assert_ne!(before, Some(*view), "told of no change at the door");
            }
            Event::Joined(joined) => {
                self.doors.remove(&conn);
                self.members.insert(conn);
                self.roles.insert(conn, joined.role);
                self.spotlights.insert(conn, joined.room.spotlights.clone());
                let recording = joined.room.recording.as_ref().map(|r| r.by.clone());
                self.recordings.insert(conn, recording);
                let hands = joined.room.hands.iter().map(|(client, _)| client.clone());
                self.hands.insert(conn, hands.collect());
                for client in &joined.room.clients {
                    self.sees_identifiers_if_host(conn, client);
                }
                let roster = joined.room.clients.iter();
                self.rosters
                    .insert(conn, roster.map(|c| (c.id.clone(), c.away)).collect());
                if joined.role == Role::Host {
                    let queue = joined.knockers.as_ref().expect("hosts get the queue");
                    self.host_queues.insert(
                        conn,
                        queue
                            .iter()
                            .map(|k| (k.client_id.clone(), k.state, k.away))
                            .collect(),
                    );
                } else {
                    assert!(joined.knockers.is_none(), "only hosts see knockers");
                }
            }
            Event::YouLeft
            | Event::Kicked { .. }
            | Event::Ended { .. }
            | Event::SentBack { .. } => {
                self.forget(conn);
            }
            Event::ClientJoined(view) => {
                self.sees_identifiers_if_host(conn, view);
                let roster = self.roster(conn);
                roster.insert(view.id.clone(), view.away);
            }
            Event::ClientAway { client_id } => {
                let roster = self.roster(conn);
                let was_away = roster.insert(client_id.clone(), true);
                assert_eq!(was_away, Some(false), "{client_id} goes away from the room");
            }
            Event::ClientLeft { client_id, .. } => {
                let roster = self.roster(conn);
                assert!(
                    roster.remove(client_id).is_some(),
                    "{client_id} leaves, unknown"
                );
                // Their hand goes with them.
                self.hands_of(conn).retain(|c| c != client_id);
            }
            // Invariant: only a member who sends media is asked about it, by someone in the room.
            Event::MediaAsked { by, .. } => {
                assert_ne!(
                    self.roles.get(&conn),
                    Some(&Role::Viewer),
                    "a viewer was asked"
                );
                assert!(self.roster(conn).contains_key(by), "asked by {by}, unknown");
            }
            // Invariant: a reaction is from someone in the room.
            Event::Reacted { client_id, .. } => {
                let roster = self.roster(conn);
                assert!(
                    roster.contains_key(client_id),
                    "{client_id} reacts, unknown"
                );
            }
            Event::HandChanged {
                client_id,
                raised_at,
                ..
            } => {
                let hands = self.hands_of(conn);
                assert_eq!(
                    hands.contains(client_id),
                    raised_at.is_none(),
                    "{client_id}'s hand changes"
                );
                match raised_at {
                    Some(_) => hands.push(client_id.clone()),
                    None => hands.retain(|c| c != client_id),
                }
            }
            Event::Knocked(view) => {
                let queue = self.host_queue(conn);
                assert!(
                    !queue.iter().any(|(id, ..)| id == &view.client_id),
                    "knock listed twice"
                );
                // A knock goes where it stands: last, or first for a guest sent back.
                assert!(view.position >= 1 && view.position <= queue.len() + 1);
                let knock = (view.client_id.clone(), view.state, view.away);
                queue.insert(view.position - 1, knock);
            }
            Event::Resolved(ResolvedKnock {
                client_id,
                resolution,
                ..
            }) => {
                let queue = self.host_queue(conn);
                let index = listed(queue, client_id);
                match resolution {
                    Resolution::Held => queue[index].1 = KnockState::Held,
                    _ => {
                        queue.remove(index);
                    }
                }
            }
            Event::KnockerLeft { client_id, .. } => {
                let queue = self.host_queue(conn);
                queue.remove(listed(queue, client_id));
            }
            Event::SpotlightChanged { client_ids, .. } => {
                self.spotlights.insert(conn, client_ids.clone());
            }
            Event::RecordingChanged { recording, .. } => {
                let by = recording.as_ref().map(|r| r.by.clone());
                let before = self.recordings.insert(conn, by.clone());
                assert_ne!(before, Some(by), "told of no change in the recording");
            }
            Event::KnockerAway { client_id } | Event::KnockerBack { client_id } => {
                let away = matches!(event, Event::KnockerAway { .. });
                let queue = self.host_queue(conn);
                let index = listed(queue, client_id);
                assert_ne!(queue[index].2, away, "{client_id} away or back twice");
                queue[index].2 = away;
            }
            _ => {}
        }
    }

    pub(super) fn disconnected(&mut self, conn: ConnId) {
        self.forget(conn);
    }

    /// A member's idea of who is in the room; only members hear of others.
    /// Invariant: the integrator's identifiers of a member (every client here has both) reach
    /// hosts, and no one else.
    fn sees_identifiers_if_host(&self, conn: ConnId, view: &ClientView) {
        let host = self.roles.get(&conn) == Some(&Role::Host);
        let shown = (view.external_id.is_some(), view.metadata.is_some());
        assert_eq!(
            shown,
            (host, host),
            "connection {conn} (host: {host}) saw {view:?}"
        );
    }

    fn roster(&mut self, conn: ConnId) -> &mut BTreeMap<ClientId, bool> {
        let roster = self.rosters.get_mut(&conn);
        roster.unwrap_or_else(|| panic!("connection {conn}, not a member, heard of others"))
    }

    /// A host's own list; only hosts hear of knocks.
    fn host_queue(&mut self, conn: ConnId) -> &mut Vec<Listed> {
        let queue = self.host_queues.get_mut(&conn);
        queue.unwrap_or_else(|| panic!("connection {conn}, not a host, heard of a knock"))
    }

    fn forget(&mut self, conn: ConnId) {
        self.members.remove(&conn);
        self.host_queues.remove(&conn);
        self.rosters.remove(&conn);
        self.roles.remove(&conn);
        self.spotlights.remove(&conn);
        self.recordings.remove(&conn);
        self.hands.remove(&conn);
        self.doors.remove(&conn);
    }

    fn hands_of(&mut self, conn: ConnId) -> &mut Vec<ClientId> {
        self.hands
            .get_mut(&conn)
            .expect("only members hear of hands")
    }

    pub(super) fn fact(&mut self, fact: &RoomFact) {
        // Invariant: each going says why (the log's only word on it); no other client's fact does.
        if fact.kind != FactKind::SessionEnded {
            let goes = matches!(fact.kind, FactKind::Left | FactKind::KnockCancelled);
            assert_eq!(
                fact.why.is_some(),
                goes,
                "{:?} with {:?}",
                fact.kind,
                fact.why
            );
        }
        let Some(client) = &fact.client else { return };
        match fact.kind {
            FactKind::Knocked => {
                assert!(
                    self.open_knocks.insert(client.client_id.clone()),
                    "a second open knock for one client"
                );
            }
            FactKind::KnockAccepted | FactKind::KnockRejected | FactKind::KnockCancelled => {
                // Invariant: each knock is resolved at most once.
                assert!(
                    self.open_knocks.remove(&client.client_id),
                    "{:?} for a knock that is not open",
                    fact.kind
                );
            }
            FactKind::KnockHeld => assert!(self.open_knocks.contains(&client.client_id)),
            // Invariant: every join has its leave (what webhooks and insights are made of).
            FactKind::Joined => assert!(
                self.inside.insert(client.client_id.clone()),
                "{} joined again without having left",
                client.client_id
            ),
            FactKind::Left => assert!(
                self.inside.remove(&client.client_id),
                "{} left without being in",
                client.client_id
            ),
            // Invariant: a recording's end follows its start, of the same host's.
            FactKind::RecordingStarted => {
                let before = self.recording_fact.replace(client.client_id.clone());
                assert_eq!(before, None, "a recording started while one runs");
            }
            FactKind::RecordingStopped => {
                let before = self.recording_fact.take();
                assert_eq!(
                    before.as_ref(),
                    Some(&client.client_id),
                    "a recording's end"
                );
            }
            _ => {}
        }
    }
}

/// Where a knock stands in a host's list; it must be there.
fn listed(queue: &[Listed], client_id: &ClientId) -> usize {
    let index = queue.iter().position(|(id, ..)| id == client_id);
    index.unwrap_or_else(|| panic!("{client_id} is not in the host's list"))
}

/// Invariant: what each member was told of something (`what`) is the room's `truth`.
pub(super) fn every_member_was_told<T: PartialEq + std::fmt::Debug>(
    members: &BTreeSet<ConnId>,
    told: &BTreeMap<ConnId, T>,
    truth: &T,
    what: &str,
) {
    for member in members {
        assert_eq!(
            told.get(member),
            Some(truth),
            "member {member} was told other {what}"
        );
    }
}
