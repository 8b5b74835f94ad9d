//! Writes room facts to the store from a task of its own, in batches, so that no room ever waits for
//! the database. Facts queue in memory meanwhile (the store takes 100k+ rows/s batched, far more than
//! rooms produce). A cluster's room keeps its facts with its state until they are written (a node
//! that dies must not take an event with it): such a fact comes with an id, so that the room's next
//! owner can record it again and the store still writes it once, and with an acknowledgement, sent
//! once its batch is written.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::meeting::facts::{FactId, RoomFact};
use crate::store::{DynStore, RecordedFact};
use crate::webhooks::event::envelope;

/// What the recorder needs besides the facts.
pub struct Recorder {
    pub store: DynStore,
    /// Put in every webhook event, as Whereby's `subdomain`.
    pub subdomain: String,
    /// Poked after each write, so webhook deliveries start at once.
    pub written: Arc<Notify>,
    /// The least time from one write's start to the next's (`write_gap`).
    pub gap: Duration,
}

const BATCH: usize = 512;

/// The least time from one write's start to the next's: what arrives meanwhile joins the batch,
/// which costs the store about as much as one fact does. Rooms do not wait for it, so this costs
/// only webhooks and insights a moment. A cluster's rooms keep their facts in Redis until they are
/// written, so its nodes' writes can be further apart: PostgreSQL's CPU goes mostly to statements,
/// not rows. At 10 ms it spent half as much per knock as at 2 ms, and at 50 ms a further third
/// less (docs/performance.md, "Knocks spread out" and "Stolen time, and a cluster's writes 50 ms
/// apart"); webhooks and insights follow their events up to that much later. A server alone keeps
/// its facts only in this queue meanwhile: a crash loses at most this long's.
pub fn write_gap(facts_kept_until_written: bool) -> Duration {
    Duration::from_millis(if facts_kept_until_written { 50 } else { 2 })
}

/// A fact to write, its id when it may be recorded more than once (written once all the same),
/// and, when its room waits for it, where to say it was written (or not).
#[derive(Debug)]
pub struct Recording {
    pub fact: RoomFact,
    pub id: Option<FactId>,
    pub written: Option<oneshot::Sender<bool>>,
}

pub fn channel() -> (
    mpsc::UnboundedSender<Recording>,
    mpsc::UnboundedReceiver<Recording>,
) {
    mpsc::unbounded_channel()
}

/// Hands facts to the recorder and waits until they are written: true once all are (false when
/// one was not, or the recorder is gone: the server is stopping).
pub async fn record_durably(
    queue: &mpsc::UnboundedSender<Recording>,
    facts: Vec<RoomFact>,
) -> bool {
    let mut waits = Vec::with_capacity(facts.len());
    for fact in facts {
        let (written, wait) = oneshot::channel();
        let recording = Recording {
            fact,
            id: None,
            written: Some(written),
        };
        if queue.send(recording).is_err() {
            return false;
        }
        waits.push(wait);
    }
    for wait in waits {
        if wait.await != Ok(true) {
            return false;
        }
    }
    true
}

/// Runs until `stop` is cancelled, then writes whatever is still queued and returns.
pub async fn run(
    recorder: Recorder,
    mut facts: mpsc::UnboundedReceiver<Recording>,
    stop: CancellationToken,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_write = tokio::time::Instant::now();
    let waiting = metrics::gauge!("anteroom_facts_waiting");
    let waiting = |facts: usize| waiting.set(facts as f64);
    waiting(0);
    loop {
        tokio::select! {
            received = facts.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    break;
                }
            }
            () = stop.cancelled() => {
                while let Ok(fact) = facts.try_recv() {
                    batch.push(fact);
                }
                recorder.write(&mut batch, &stop).await;
                break;
            }
        }
        // Writes are spaced (`write_gap`).
        let next = last_write + recorder.gap;
        if next > tokio::time::Instant::now() && batch.len() < BATCH {
            tokio::time::sleep_until(next).await;
            while batch.len() < BATCH
                && let Ok(fact) = facts.try_recv()
            {
                batch.push(fact);
            }
        }
        last_write = tokio::time::Instant::now();
        waiting(batch.len() + facts.len());
        recorder.write(&mut batch, &stop).await;
        waiting(facts.len());
    }
}

impl Recorder {
    async fn write(&self, batch: &mut Vec<Recording>, stop: &CancellationToken) {
        if batch.is_empty() {
            return;
        }
        let mut acks = Vec::new();
        let facts = batch.drain(..).map(|recording| {
            acks.extend(recording.written);
            (recording.fact, recording.id)
        });
        let recorded = self.recorded(facts);
        let started = std::time::Instant::now();
        // Nobody waits for these facts, nor will record them again: they are retried until the
        // store is back. Those a room keeps (a cluster's) are its to record again.
        let patience = if acks.is_empty() && !stop.is_cancelled() {
            Patience::UntilWritten(stop)
        } else {
            Patience::AFewTimes
        };
        let written = write(&self.store, &recorded, patience).await;
        metrics::histogram!("anteroom_store_write_seconds").record(started.elapsed().as_secs_f64());
        for (fact, written) in recorded.iter().zip(&written) {
            if *written {
                metrics::counter!("anteroom_room_events_total", "kind" => fact.fact.kind.event_type())
                    .increment(1);
            }
        }
        log_events(&recorded, &written);
        let ok = written.iter().all(|w| *w);
        for ack in acks {
            // A room that stopped waiting (it ended) no longer needs to know.
            let _ = ack.send(ok);
        }
        self.written.notify_one();
    }

    fn recorded(
        &self,
        facts: impl Iterator<Item = (RoomFact, Option<FactId>)>,
    ) -> Vec<RecordedFact> {
        facts
            .map(|(fact, id)| RecordedFact {
                webhook_body: envelope(&fact, &self.subdomain),
                fact,
                id,
            })
            .collect()
    }

    /// At start-up, before any room opens: what a crash left open is closed, with the webhook
    /// events of its end, timed at `last_alive`, the last moment the server was known alive
    /// (`FactStore::last_alive`); but not the rooms `carried_on` (handed over when the server
    /// stopped: they go on).
    pub async fn close_what_a_crash_left_open(
        &self,
        last_alive: Option<chrono::DateTime<chrono::Utc>>,
        carried_on: &[crate::meeting::RoomName],
    ) -> Result<usize, crate::store::StoreError> {
        let Some(last_alive) = last_alive else {
            return Ok(0);
        };
        let facts: Vec<RoomFact> = self
            .store
            .closing_facts(None, last_alive)
            .await?
            .into_iter()
            .filter(|fact| !carried_on.contains(&fact.room_name))
            .collect();
        let count = facts.len();
        if count > 0 {
            let recorded = self.recorded(facts.into_iter().map(|fact| (fact, None)));
            self.store.record_facts(&recorded).await?;
            log_events(&recorded, &vec![true; recorded.len()]);
            tracing::info!(
                facts = count,
                "closed what the last run left open (knocks, members, sessions), with their webhook events"
            );
        }
        Ok(count)
    }
}

/// One line per room event, for whoever reads the log to follow a room: at `info` once written, at
/// `error` when it could not be. Under a target of its own (`--log info,anteroom::events=warn`
/// silences them). Opaque ids and roles only: no display name or host's message, which webhooks
/// carry to the integrator and a log need not.
fn log_events(recorded: &[RecordedFact], written: &[bool]) {
    for (RecordedFact { fact, .. }, written) in recorded.iter().zip(written) {
        let client = fact.client.as_ref();
        let client_id = client.map(|c| c.client_id.as_str());
        let role = client.and_then(|c| c.role).map(|r| r.as_str());
        let decided_by = fact.decided_by.map(|d| d.as_str());
        let event = fact.kind.event_type();
        let why = fact.why.map(tracing::field::display);
        // One field list for both levels (a level in `tracing` is fixed where an event is written).
        macro_rules! room_event {
            ($level:ident, $message:literal) => {
                tracing::$level!(target: "anteroom::events", event, room = %fact.room_name,
                    meeting_id = %fact.meeting_id, session = fact.room_session_id.as_deref(),
                    client_id, role, decided_by, why, in_room = fact.counts.total, $message)
            };
        }
        if *written {
            room_event!(info, "room event");
        } else {
            room_event!(error, "room event not recorded");
        }
    }
}

/// How long a write is retried while it fails.
enum Patience<'a> {
    /// Until the store takes it, or the server stops.
    UntilWritten(&'a CancellationToken),
    /// Five times over about a second and a half.
    AFewTimes,
}

/// Failed tries between two looks at whether the store takes other writes.
const TRIES_BEFORE_A_LOOK: u32 = 5;
/// The longest pause between two tries while the store is away.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// Writes a batch; says of each fact whether it was written. While the store takes nothing (a
/// database restarting, a full disk), the batch waits, in order, as long as `patience` allows. A
/// batch the store refuses while it takes other writes is halved until the fact it will not take
/// is found: that fact alone is dropped, logged (it used to take the whole batch with it).
async fn write(store: &DynStore, batch: &[RecordedFact], patience: Patience<'_>) -> Vec<bool> {
    let mut written = vec![false; batch.len()];
    // Parts still to write, the next at the end.
    let mut parts = Vec::with_capacity(1);
    parts.push(0..batch.len());
    while let Some(part) = parts.pop() {
        match write_part(store, &batch[part.clone()], &patience).await {
            Outcome::Written => written[part].fill(true),
            Outcome::Refused if part.len() > 1 => {
                let middle = part.start + part.len() / 2;
                parts.push(middle..part.end);
                parts.push(part.start..middle);
            }
            Outcome::Refused => {
                let fact = &batch[part.start].fact;
                tracing::error!(event = fact.kind.event_type(), room = %fact.room_name,
                    "the store refuses this room fact while it takes others; dropping it");
            }
            Outcome::StoreAway => {
                tracing::error!(
                    facts = batch.len() - written.iter().filter(|w| **w).count(),
                    "dropping room facts the store would not take"
                );
                break;
            }
        }
    }
    written
}

enum Outcome {
    Written,
    /// The store takes other writes, not this.
    Refused,
    /// The store took nothing for as long as the patience allowed.
    StoreAway,
}

async fn write_part(store: &DynStore, part: &[RecordedFact], patience: &Patience<'_>) -> Outcome {
    let mut attempt = 0u32;
    loop {
        let Err(err) = store.record_facts(part).await else {
            return Outcome::Written;
        };
        attempt += 1;
        // Every failure at first, then one in twenty (a database away for long logs on).
        if attempt <= TRIES_BEFORE_A_LOOK || attempt.is_multiple_of(20) {
            tracing::error!(error = %err, attempt, facts = part.len(), "recording room facts failed");
        }
        if attempt.is_multiple_of(TRIES_BEFORE_A_LOOK)
            && store.mark_alive(chrono::Utc::now()).await.is_ok()
        {
            return Outcome::Refused;
        }
        // Looked at after every try: a server told to stop waits no longer than a few tries.
        let patient = matches!(patience, Patience::UntilWritten(stop) if !stop.is_cancelled());
        if !patient && attempt >= TRIES_BEFORE_A_LOOK {
            return Outcome::StoreAway;
        }
        let pause = Duration::from_millis(100 * u64::from(attempt)).min(LONGEST_PAUSE);
        tokio::time::sleep(pause).await;
    }
}
