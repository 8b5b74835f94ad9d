//! The delivery worker: posts due events from the outbox, at most one at a time per (endpoint, room)
//! so each room's events arrive in order, with a bounded number in flight overall. Retries 5xx, 408,
//! 429, timeouts and connection errors with exponential backoff (or a longer `Retry-After`); never
//! other 4xx. Runs apart from the rooms: a slow or dead receiver never delays a room. Slots are
//! shared among endpoints (`shares`), so a slow receiver with a backlog cannot hold them all while
//! another endpoint has events (webhooks.md, "Delivery").

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{shares, signing};
use crate::config::without_password;
use crate::store::{DeliveryOutcome, DueDelivery, DynStore, FinishedAttempt};

/// What an attempt in flight is delivering, by the task making it: a task that panicked still says
/// which it was.
type InFlight = HashMap<tokio::task::Id, Attempting>;

#[derive(Debug, Clone, Copy)]
struct Attempting {
    delivery: i64,
    endpoint: i64,
}

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub timeout: Duration,
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles for each one after.
    pub retry_base: Duration,
    pub concurrency: usize,
    /// Who claims deliveries (this node), so that no other node delivers them meanwhile.
    pub claimant: String,
}

impl DeliverySettings {
    /// How long a claim holds: an attempt's time with room to spare. A node that dies mid-delivery
    /// holds its deliveries this long; then another node delivers them.
    fn claim(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.timeout * 2 + Duration::from_secs(1))
            .unwrap_or(chrono::Duration::seconds(60))
    }
}

/// How often the worker looks at the outbox when nothing wakes it (retries come due, other processes
/// such as the CLI may have changed endpoints).
const POLL: Duration = Duration::from_secs(1);
/// The outbox is read at most this often, however busy the rooms are (each write of facts wakes the
/// worker; under load that is hundreds of times a second).
const MIN_SCAN_GAP: Duration = Duration::from_millis(100);
/// An attempt's outcome is written at most this long after it ends, with those that end meanwhile.
const RECORD_WITHIN: Duration = Duration::from_millis(5);

pub async fn run(
    store: DynStore,
    settings: DeliverySettings,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("anteroom-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "cannot build the webhook HTTP client; webhooks are off");
            return;
        }
    };
    let settings = Arc::new(settings);
    let mut in_flight = InFlight::new();
    let mut attempts: JoinSet<FinishedAttempt> = JoinSet::new();
    // Outcomes of attempts that ended, written together before the next claim.
    let mut outcomes: Vec<FinishedAttempt> = Vec::new();
    let mut last_scan = tokio::time::Instant::now() - MIN_SCAN_GAP;
    // The last scan left due deliveries behind (every slot busy, or an endpoint at its share): the
    // next scan comes as soon as an attempt ends, not after the gap.
    let mut scan_when_one_ends = false;
    let mut scan_now = false;
    loop {
        if !scan_now {
            wait_out_the_gap(
                last_scan + MIN_SCAN_GAP,
                &store,
                &mut attempts,
                &mut in_flight,
                &mut outcomes,
            )
            .await;
        }
        last_scan = tokio::time::Instant::now();
        // Every attempt that ended is taken back before claiming: one still counted in flight
        // would have its retry claimed and then skipped, stranded until the claim runs out.
        while let Some(done) = attempts.try_join_next_with_id() {
            ended(&mut in_flight, &mut outcomes, done);
        }
        record(&store, &mut outcomes).await;
        let free = settings.concurrency.saturating_sub(attempts.len());
        if free > 0 {
            let (due, left_behind) = claim(&store, &settings, &in_flight, free).await;
            scan_when_one_ends = left_behind;
            for delivery in due {
                let attempting = Attempting {
                    delivery: delivery.id,
                    endpoint: delivery.endpoint_id,
                };
                let task = attempts.spawn(attempt(client.clone(), settings.clone(), delivery));
                in_flight.insert(task.id(), attempting);
            }
        }
        if attempts.len() >= settings.concurrency {
            // Nothing can start until an attempt ends: wakes and due times do not matter now.
            tokio::select! {
                Some(done) = attempts.join_next_with_id() => ended(&mut in_flight, &mut outcomes, done),
                () = stop.cancelled() => break,
            }
            scan_now = true;
            continue;
        }
        scan_now = false;
        // A retry coming due wakes the worker at its time. What is already due was either taken
        // by the scan above or waits for a free slot, its endpoint's share or its predecessor in
        // the same room: each ends with an attempt finishing, which wakes the worker too.
        let now = Utc::now();
        let next_due = match store.next_delivery_at(now).await {
            Ok(Some(at)) => (at - now).to_std().unwrap_or_default().min(POLL),
            Ok(None) => POLL,
            Err(err) => {
                tracing::error!(error = %err, "reading the webhook outbox failed");
                POLL
            }
        };
        tokio::select! {
            Some(done) = attempts.join_next_with_id(), if !attempts.is_empty() => {
                ended(&mut in_flight, &mut outcomes, done);
                scan_now = scan_when_one_ends;
            }
            () = wake.notified() => {}
            () = tokio::time::sleep(next_due) => {}
            () = stop.cancelled() => break,
        }
    }
    // Attempts cut short stay pending in the outbox and are made again after a restart; those
    // that ended are recorded.
    attempts.shutdown().await;
    record(&store, &mut outcomes).await;
}

/// Waits until `gap_ends`, recording the outcomes of attempts that end meanwhile within
/// `RECORD_WITHIN` of the first: another node may claim a room's next event as soon as the outcome
/// of its last is written, and those ending close together still go in one statement.
async fn wait_out_the_gap(
    gap_ends: tokio::time::Instant,
    store: &DynStore,
    attempts: &mut JoinSet<FinishedAttempt>,
    in_flight: &mut InFlight,
    outcomes: &mut Vec<FinishedAttempt>,
) {
    // Outcomes already waiting (an attempt that ended while the worker waited for a wake) are
    // written as soon as those ending now would be, not at the next scan.
    let mut record_at = (!outcomes.is_empty()).then(|| tokio::time::Instant::now() + RECORD_WITHIN);
    loop {
        let wake = record_at.map_or(gap_ends, |at: tokio::time::Instant| at.min(gap_ends));
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {
                if wake >= gap_ends {
                    return;
                }
                record(store, outcomes).await;
                record_at = None;
            }
            Some(done) = attempts.join_next_with_id(), if !attempts.is_empty() => {
                ended(in_flight, outcomes, done);
                record_at.get_or_insert_with(|| tokio::time::Instant::now() + RECORD_WITHIN);
            }
        }
    }
}

/// Writes the outcomes of the attempts that ended, together: the next claim must see them (a
/// room's next event waits for its predecessor's outcome), and one statement for many costs a
/// cluster's PostgreSQL far less than one each.
async fn record(store: &DynStore, outcomes: &mut Vec<FinishedAttempt>) {
    if outcomes.is_empty() {
        return;
    }
    if let Err(err) = store.finish_deliveries(outcomes, Utc::now()).await {
        tracing::error!(error = %err, deliveries = outcomes.len(),
            "recording webhook outcomes failed; their claims run out and they are attempted again");
    }
    outcomes.clear();
}

/// The longest wait a receiver's `Retry-After` is granted: a deliverable event should not sit in the
/// outbox for days because one answer said so.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The wait a `Retry-After` value asks for, as seconds or as an HTTP date (RFC 9110, 10.2.3), at
/// most [`MAX_RETRY_AFTER`]; `None` when it is neither.
fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&Utc) - now).to_std().unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Claims what `free` slots can take, endpoint by endpoint in their shares' order. Returns the
/// deliveries to attempt, and whether due deliveries may have been left behind (an endpoint got
/// all it asked for, or none for being at its share).
async fn claim(
    store: &DynStore,
    settings: &DeliverySettings,
    in_flight: &InFlight,
    mut free: usize,
) -> (Vec<DueDelivery>, bool) {
    let now = Utc::now();
    let live = match store.live_endpoints(now).await {
        Ok(live) => live,
        Err(err) => {
            tracing::error!(error = %err, "reading the webhook outbox failed");
            return (Vec::new(), false);
        }
    };
    // Every endpoint counts for the share (its next event may come any moment); only those with
    // something due are asked.
    let cap = shares::cap(settings.concurrency, live.len());
    let with_due: Vec<i64> = live.iter().filter(|e| e.has_due).map(|e| e.id).collect();
    let mut held: HashMap<i64, usize> = HashMap::new();
    for attempting in in_flight.values() {
        *held.entry(attempting.endpoint).or_default() += 1;
    }
    let held_by = |endpoint: i64| held.get(&endpoint).copied().unwrap_or(0);
    let until = now + settings.claim();
    let mut claimed = Vec::new();
    let mut left_behind = false;
    for endpoint in shares::order(&with_due, held_by) {
        let want = free.min(cap.saturating_sub(held_by(endpoint)));
        if want == 0 {
            left_behind = true;
            continue;
        }
        let want_u32 = u32::try_from(want).unwrap_or(u32::MAX);
        match store
            .claim_deliveries(endpoint, now, want_u32, &settings.claimant, until)
            .await
        {
            Ok(due) => {
                left_behind |= due.len() >= want;
                // A delivery still in flight here had its claim run out while its attempt hung.
                let fresh = due.into_iter().filter(|d| {
                    !in_flight
                        .values()
                        .any(|attempting| attempting.delivery == d.id)
                });
                let before = claimed.len();
                claimed.extend(fresh.take(free));
                free -= claimed.len() - before;
            }
            Err(err) => {
                tracing::error!(error = %err, endpoint, "claiming webhook deliveries failed");
            }
        }
    }
    (claimed, left_behind)
}

/// Forgets an attempt that ended, keeping its outcome to be recorded. A claimed delivery still in
/// `in_flight` is one whose claim ran out while its attempt was hanging; it is skipped until that
/// attempt ends.
fn ended(
    in_flight: &mut InFlight,
    outcomes: &mut Vec<FinishedAttempt>,
    done: Result<(tokio::task::Id, FinishedAttempt), tokio::task::JoinError>,
) {
    let task = match done {
        Ok((task, finished)) => {
            outcomes.push(finished);
            task
        }
        Err(err) => {
            tracing::error!(error = %err, "a webhook delivery task failed");
            err.id()
        }
    };
    in_flight.remove(&task);
}

/// Why a request got no answer, for the log and the delivery's record: each cause in turn
/// ("Connection refused", a name that does not resolve, a certificate refused), where reqwest
/// alone says "error sending request for url (...)", the URL with any password it carries.
fn why_unanswered(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut why = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(inner) = cause {
        why.push_str(": ");
        why.push_str(&inner.to_string());
        cause = inner.source();
    }
    why
}

/// Makes one attempt; what came of it is recorded by the worker (`record`).
async fn attempt(
    client: reqwest::Client,
    settings: Arc<DeliverySettings>,
    delivery: DueDelivery,
) -> FinishedAttempt {
    let started = Utc::now();
    // Signed at every attempt, so the timestamp is always fresh.
    let signature = signing::sign(&delivery.secret, started.timestamp(), &delivery.body);
    let result = client
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(signing::HEADER, signature)
        .body(delivery.body.clone())
        .send()
        .await;
    let attempts = delivery.attempts + 1;
    // `asked`: the receiver's `Retry-After`, which the wait never undercuts.
    let retry = |error: String, asked: Option<Duration>| {
        if attempts >= settings.max_attempts {
            DeliveryOutcome::Failed {
                error: format!("gave up after {attempts} attempts; last: {error}"),
            }
        } else {
            let backoff = settings.retry_base * 2u32.saturating_pow(attempts - 1);
            DeliveryOutcome::Retry {
                at: Utc::now() + backoff.max(asked.unwrap_or_default()),
                error,
            }
        }
    };
    let outcome = match result {
        Ok(response) if response.status().is_success() => DeliveryOutcome::Delivered,
        Ok(response) => {
            let status = response.status();
            let error = format!("HTTP {status}");
            if status.is_server_error()
                || status == StatusCode::REQUEST_TIMEOUT
                || status == StatusCode::TOO_MANY_REQUESTS
            {
                let asked = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| retry_after(value, Utc::now()));
                retry(error, asked)
            } else {
                DeliveryOutcome::Failed { error }
            }
        }
        Err(err) if err.is_timeout() => {
            retry(format!("no answer within {:?}", settings.timeout), None)
        }
        Err(err) => retry(why_unanswered(err), None),
    };
    let name = match &outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::Retry { .. } => "retry",
        DeliveryOutcome::Failed { .. } => "failed",
    };
    metrics::counter!("anteroom_webhook_attempts_total", "outcome" => name).increment(1);
    match &outcome {
        DeliveryOutcome::Delivered => tracing::debug!(
            delivery = delivery.id, endpoint = delivery.endpoint_id, event = %delivery.event_type,
            "webhook delivered"
        ),
        DeliveryOutcome::Retry { at, error } => tracing::warn!(
            delivery = delivery.id, endpoint = delivery.endpoint_id,
            url = %without_password(&delivery.url), attempts, %error, retry_at = %at,
            "webhook delivery failed; will retry"
        ),
        DeliveryOutcome::Failed { error } => tracing::error!(
            delivery = delivery.id, endpoint = delivery.endpoint_id,
            url = %without_password(&delivery.url), attempts, %error,
            "webhook delivery failed for good"
        ),
    }
    FinishedAttempt {
        id: delivery.id,
        attempts,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a valid test time")
            .with_timezone(&Utc)
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = at("2026-12-04T12:00:00Z");
        assert_eq!(retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Fri, 04 Dec 2026 12:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        // A date gone by asks for no wait at all.
        assert_eq!(
            retry_after("Fri, 04 Dec 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_is_capped_and_nonsense_is_ignored() {
        let now = at("2026-12-04T12:00:00Z");
        assert_eq!(retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after("Sat, 05 Dec 2026 12:00:00 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
        for nonsense in ["", "soon", "-5", "1.5", "99999999999999999999999"] {
            assert_eq!(retry_after(nonsense, now), None, "{nonsense:?}");
        }
    }
}
