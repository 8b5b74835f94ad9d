//! After a crash of a server alone on its store: when it was last known alive, and the facts that
//! close what it left open (recordings, waiting knocks, members in rooms, running sessions), so that webhook
//! receivers and insights hear the end of everything that began. The queries are plain SQL both
//! engines read alike; `facts.rs` runs them and hands the rows here.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::meeting::facts::{ClientCounts, Departure, FactClient, FactKind, RoomFact};
use crate::meeting::{MeetingId, Role, RoomName};

/// The later of the last heartbeat and the last room event (milliseconds).
pub const LAST_ALIVE: &str = "SELECT MAX(at) AS at FROM (SELECT at_ms AS at FROM server_alive \
    UNION ALL SELECT MAX(at_ms) AS at FROM room_events) AS alive";

/// Knocks still open: the last knock fact (or join) of their client says knocked or held.
const OPEN_KNOCKS: &str = "SELECT e.meeting_id, e.room_name, e.client_id, e.display_name, \
    e.external_id, e.metadata FROM room_events e \
    WHERE e.kind IN ('room.client.knocked', 'room.client.knockHeld') {room} \
    AND e.id = (SELECT MAX(x.id) FROM room_events x WHERE x.room_name = e.room_name \
                AND x.client_id = e.client_id \
                AND x.kind IN ('room.client.knocked', 'room.client.knockHeld', \
                    'room.client.knockAccepted', 'room.client.knockRejected', \
                    'room.client.knockCancelled', 'room.client.knockExpired', \
                    'room.client.joined')) \
    ORDER BY e.id";

/// Members still in a room: their stays have not ended.
const OPEN_STAYS: &str = "SELECT p.room_name, p.session_id, p.client_id, p.role, \
    p.display_name, p.external_id, p.user_agent, \
    (SELECT e.meeting_id FROM room_events e WHERE e.room_name = p.room_name \
     ORDER BY e.id DESC LIMIT 1) AS meeting_id, \
    (SELECT e.metadata FROM room_events e WHERE e.room_name = p.room_name \
     AND e.client_id = p.client_id AND e.kind = 'room.client.joined' \
     ORDER BY e.id DESC LIMIT 1) AS metadata \
    FROM participations p WHERE p.left_ms IS NULL {room} ORDER BY p.id";

/// Recordings still running: the last recording fact of their room says started.
const OPEN_RECORDINGS: &str = "SELECT e.meeting_id, e.room_name, e.client_id, e.display_name, \
    e.external_id, e.metadata FROM room_events e \
    WHERE e.kind = 'room.recording.started' {room} \
    AND e.id = (SELECT MAX(x.id) FROM room_events x WHERE x.room_name = e.room_name \
                AND x.kind IN ('room.recording.started', 'room.recording.stopped')) \
    ORDER BY e.id";

const OPEN_SESSIONS: &str =
    "SELECT s.id, s.meeting_id, s.room_name FROM room_sessions s WHERE s.ended_ms IS NULL {room}";

/// What is still open (recordings, knocks, stays, sessions) in every room, or in the one room
/// bound as `$1`.
pub struct OpenQueries {
    pub recordings: String,
    pub knocks: String,
    pub stays: String,
    pub sessions: String,
}

impl OpenQueries {
    pub fn new(one_room: bool) -> OpenQueries {
        let of = |query: &str, alias: &str| {
            let filter = if one_room {
                format!("AND {alias}.room_name = $1")
            } else {
                String::new()
            };
            query.replace("{room}", &filter)
        };
        OpenQueries {
            recordings: of(OPEN_RECORDINGS, "e"),
            knocks: of(OPEN_KNOCKS, "e"),
            stays: of(OPEN_STAYS, "p"),
            sessions: of(OPEN_SESSIONS, "s"),
        }
    }
}

/// What each room had open when the server stopped, gathered from the rows of the queries above.
#[derive(Default)]
pub struct OpenRooms(BTreeMap<RoomName, OpenRoom>);

struct OpenRoom {
    meeting: MeetingId,
    /// The host whose recording was running.
    recording: Option<FactClient>,
    knocks: Vec<FactClient>,
    members: Vec<FactClient>,
    session: Option<String>,
}

impl OpenRooms {
    fn room(&mut self, room: RoomName, meeting: MeetingId) -> &mut OpenRoom {
        let open = self.0.entry(room).or_insert_with(|| OpenRoom {
            meeting,
            recording: None,
            knocks: Vec::new(),
            members: Vec::new(),
            session: None,
        });
        open.meeting = meeting;
        open
    }

    pub fn recording(&mut self, room: RoomName, meeting: MeetingId, host: FactClient) {
        self.room(room, meeting).recording = Some(host);
    }

    pub fn knock(&mut self, room: RoomName, meeting: MeetingId, knocker: FactClient) {
        self.room(room, meeting).knocks.push(knocker);
    }

    pub fn stay(&mut self, room: RoomName, meeting: MeetingId, member: FactClient) {
        self.room(room, meeting).members.push(member);
    }

    pub fn session(&mut self, room: RoomName, meeting: MeetingId, id: String) {
        self.room(room, meeting).session = Some(id);
    }

    /// The facts that close it all, timed `at`, oldest room first.
    pub fn closing_facts(self, at: DateTime<Utc>) -> Vec<RoomFact> {
        self.0
            .into_iter()
            .flat_map(|(room, open)| open.closing_facts(room, at))
            .collect()
    }
}

impl OpenRoom {
    /// In the order a room's end would say them: the recording's end, knocks cancelled, members
    /// gone (the count going down), then the session's end.
    fn closing_facts(self, room: RoomName, at: DateTime<Utc>) -> Vec<RoomFact> {
        let fact = |kind, client: Option<FactClient>, counts: ClientCounts| RoomFact {
            kind,
            at,
            meeting_id: self.meeting,
            room_name: room.clone(),
            room_session_id: self.session.clone(),
            client,
            message: None,
            decided_by: None,
            counts,
            why: (kind != FactKind::RecordingStopped).then_some(Departure::ServerStopped),
        };
        let mut remaining: HashMap<Role, u32> = HashMap::new();
        for member in &self.members {
            if let Some(role) = member.role {
                *remaining.entry(role).or_default() += 1;
            }
        }
        let counts = |remaining: &HashMap<Role, u32>| ClientCounts {
            total: remaining.values().sum(),
            by_role: remaining
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(role, n)| (*role, *n))
                .collect(),
        };
        let mut facts = Vec::new();
        if let Some(host) = &self.recording {
            facts.push(fact(
                FactKind::RecordingStopped,
                Some(host.clone()),
                counts(&remaining),
            ));
        }
        for knock in &self.knocks {
            facts.push(fact(
                FactKind::KnockCancelled,
                Some(knock.clone()),
                counts(&remaining),
            ));
        }
        for member in &self.members {
            if let Some(role) = member.role
                && let Some(n) = remaining.get_mut(&role)
            {
                *n = n.saturating_sub(1);
            }
            facts.push(fact(
                FactKind::Left,
                Some(member.clone()),
                counts(&remaining),
            ));
        }
        if self.session.is_some() {
            facts.push(fact(FactKind::SessionEnded, None, counts(&remaining)));
        }
        facts
    }
}
