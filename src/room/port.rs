//! What a room actor needs from around it, and nothing more: the transport's encoding of events,
//! its theme, grants for admitted knockers, a place to put facts, the media engine's door, and a way
//! to be forgotten when it is done. The rooms service (`services/rooms.rs`) provides it.

use std::future::Future;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::event::{Event, MediaChange};
use super::model::{ClientId, Theme};
use super::state::Snapshot;
use crate::meeting::facts::RoomFact;
use crate::meeting::network::NetworkSample;

pub type PortError = Box<dyn std::error::Error + Send + Sync>;

/// How a transport writes the room's events: once per event, the bytes shared by every recipient.
pub trait Encode: Send + Sync + 'static {
    fn encode(&self, event: &Event) -> Bytes;
}

pub trait RoomPort: Send + Sync + 'static {
    fn encode(&self, event: &Event) -> Bytes;
    /// The room's look as it is stored now.
    fn load_theme(&self) -> impl Future<Output = Result<Theme, PortError>> + Send;
    /// The key an accepted knocker enters with.
    fn mint_grant(&self, client: &ClientId, now: DateTime<Utc>) -> String;
    /// Hands a fact over to be recorded (and delivered as webhooks), without waiting.
    fn record(&self, fact: RoomFact);
    /// Records facts and waits until they are written: false when they could not be.
    fn record_durably(&self, facts: Vec<RoomFact>) -> impl Future<Output = bool> + Send;
    /// Opens or closes a client's media path (where a media server carries the room's media).
    fn media(&self, change: MediaChange);
    /// A member's browser measured its connections (normal rooms), for insights.
    fn measured(&self, client: ClientId, sample: NetworkSample);
    /// Whether the room's state is kept after every change that may matter (a cluster keeps it
    /// where another node can carry the room on if this one dies).
    fn keeps_every_change(&self) -> bool;
    /// Keeps the room's state, and with it `facts` (the step's) until they are written: the facts
    /// are handed over to be recorded, not waited for, since whoever carries the room on records
    /// them again. An error means the room is no longer this actor's to run (another node owns it
    /// now): the actor stops at once.
    fn keep(
        &self,
        snapshot: &Snapshot,
        facts: Vec<RoomFact>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Waits until the facts kept with the room's state are written (or given up on): before the
    /// room is forgotten, which forgets its kept state too.
    fn facts_written(&self) -> impl Future<Output = ()> + Send;
    /// The server is stopping: hands the room's state over to be carried on. True when it was
    /// kept; false and the room ends as before.
    fn hand_over(&self, snapshot: &Snapshot) -> impl Future<Output = bool> + Send;
    /// The room is idle: forget it unless `nothing_waiting` says a command arrived meanwhile.
    /// True when the actor may stop.
    fn release_if_idle(&self, nothing_waiting: &dyn Fn() -> bool) -> bool;
    /// The room ended (or, `handed_over`, moved on): forget it here.
    fn release(&self, handed_over: bool);
    /// The room's state machine failed (a bug): forget it here. Its next opening carries it on
    /// from the state kept before the fault, unless it faulted a little while before too (that
    /// state may be what fails): then it starts afresh.
    fn release_after_fault(&self);
}
