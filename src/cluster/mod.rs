//! Cluster mode: several identical nodes on one PostgreSQL store and one Redis. Each live room is
//! run by exactly one node at a time, the one holding its lease in Redis (`SET NX PX`, renewed while
//! it runs the room); that node is the room's only writer, so every rule of the room holds across
//! the cluster by construction. The room's state is kept in Redis after every change that matters,
//! written only while the lease is still this node's (a fenced write), so that when the node dies
//! another takes the room over where it was.
//!
//! A WebSocket that reaches a node that does not run its room is bridged to the node that does
//! (`signal/bridge.rs`); a REST call that touches a live room is forwarded to it
//! (`api/forward.rs`). Both authenticate with a token derived from the cluster's shared signing
//! secret.

mod limits;

use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use limits::RedisLimits;

use crate::meeting::RoomName;
use crate::services::keeper::{KeepError, Keeper, Place};

/// The header a node's requests to another carry: the cluster token.
pub const NODE_HEADER: &str = "x-anteroom-node";
/// The header that says whom a bridged connection is for: the client's address.
pub const CLIENT_HEADER: &str = "x-anteroom-client";

const ROOMS: &str = "anteroom:rooms";

/// The Redis key of a room's lease (public for the tests that play another node).
pub fn lease_key(room: &RoomName) -> String {
    format!("anteroom:lease:{room}")
}

/// The Redis key of a room's kept state (public for the tests that damage it).
pub fn state_key(room: &RoomName) -> String {
    format!("anteroom:state:{room}")
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// (Where is the caller's to say: the URL may carry a password.)
    #[error("cannot reach Redis: {0}")]
    Connect(redis::RedisError),
}

/// This node, as the cluster knows it.
#[derive(Clone)]
pub struct Cluster {
    /// Unique to this process.
    pub node_id: String,
    /// How other nodes reach this one (its own base URL).
    pub url: String,
    /// Proves a request comes from a node of this cluster.
    pub token: String,
    pub lease: Duration,
    redis: ConnectionManager,
    /// When Redis last renewed this node's leases: a node that cannot renew for two thirds of a
    /// lease gives its rooms up before another node may take them.
    renewed: Arc<Mutex<Instant>>,
}

/// Takes a room's lease when free (or already this node's); answers with what is known of it.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) or redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, redis.call('GET', KEYS[2]) or false}
end
return {0, redis.call('GET', KEYS[1])}
",
    )
});

/// Renews each lease among `KEYS` that is still this node's; answers 1 (renewed) or 0 for each.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local renewed = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    renewed[i] = redis.call('PEXPIRE', key, ARGV[2])
  else
    renewed[i] = 0
  end
end
return renewed
",
    )
});

/// Rooms per Redis call of a maintenance pass. A call per room was a round trip per room every
/// third of a lease, on every node (and a look at every kept room of the cluster for orphans): a
/// node's pass grew with the cluster. One call for many thousands would hold Redis, which runs a
/// script alone, for milliseconds.
const ROOMS_PER_CALL: usize = 500;

/// Writes a room's state if its lease is still this node's (renewing it); `ARGV[4]` = 1 also gives
/// the lease up (a hand-over).
static KEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[5])
if ARGV[4] == '1' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
",
    )
});

/// Forgets a room this node runs: its state, its place among kept rooms, its lease.
static FORGET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[1])
return 1
",
    )
});

impl Cluster {
    pub async fn connect(
        redis_url: &str,
        node_url: String,
        secret: &[u8],
        lease: Duration,
    ) -> Result<Self, ClusterError> {
        let client = redis::Client::open(redis_url).map_err(ClusterError::Connect)?;
        // A Redis that is away must fail a call within a second or two, not after the default
        // six reconnection attempts (6 s): a room waiting on it would keep everyone hanging.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let redis = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(ClusterError::Connect)?;
        Ok(Cluster {
            node_id: uuid::Uuid::new_v4().to_string(),
            url: node_url.trim_end_matches('/').to_owned(),
            token: node_token(secret),
            lease,
            redis,
            renewed: Arc::new(Mutex::new(Instant::now())),
        })
    }

    /// What this node writes as a lease's holder: its id, then where it is reached.
    fn holder(&self) -> String {
        format!("{} {}", self.node_id, self.url)
    }

    fn lease_ms(&self) -> u64 {
        self.lease.as_millis() as u64
    }

    pub fn redis(&self) -> ConnectionManager {
        self.redis.clone()
    }

    /// Whether a request's `NODE_HEADER` value is this cluster's node token.
    pub fn is_node(&self, token: Option<&[u8]>) -> bool {
        token.is_some_and(|token| constant_time_eq(token, self.token.as_bytes()))
    }

    async fn fenced(
        &self,
        script: &Script,
        room: &RoomName,
        args: &[String],
    ) -> Result<bool, KeepError> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(lease_key(room))
            .key(state_key(room))
            .key(ROOMS);
        for arg in args {
            invocation.arg(arg);
        }
        let done: i64 = invocation
            .invoke_async(&mut self.redis.clone())
            .await
            .map_err(|err| KeepError::Unavailable(err.to_string()))?;
        Ok(done == 1)
    }

    async fn keep_state(
        &self,
        room: &RoomName,
        state: String,
        give_up: bool,
    ) -> Result<(), KeepError> {
        let args = [
            self.holder(),
            self.lease_ms().to_string(),
            state,
            if give_up { "1" } else { "0" }.to_owned(),
            room.as_str().to_owned(),
        ];
        match self.fenced(&KEEP, room, &args).await? {
            true => Ok(()),
            false => Err(KeepError::NotOwner),
        }
    }
}

#[async_trait]
impl Keeper for Cluster {
    async fn take(&self, room: &RoomName) -> Result<Place, KeepError> {
        let (taken, value): (i64, Option<String>) = TAKE
            .key(lease_key(room))
            .key(state_key(room))
            .arg(self.holder())
            .arg(self.lease_ms())
            .invoke_async(&mut self.redis.clone())
            .await
            .map_err(|err| KeepError::Unavailable(err.to_string()))?;
        if taken == 1 {
            return Ok(Place::Here { kept: value });
        }
        match value.as_deref().and_then(|v| v.split_once(' ')) {
            Some((_, url)) => Ok(Place::Elsewhere {
                url: url.to_owned(),
            }),
            // Released between the two steps of the script (it cannot be): try again later.
            None => Err(KeepError::Unavailable(
                "the room's lease changed hands".into(),
            )),
        }
    }

    async fn owner_elsewhere(&self, room: &RoomName) -> Option<String> {
        let value: Option<String> = redis::cmd("GET")
            .arg(lease_key(room))
            .query_async(&mut self.redis.clone())
            .await
            .ok()?;
        let (node, url) = value.as_deref()?.split_once(' ')?;
        (node != self.node_id).then(|| url.to_owned())
    }

    async fn renew(&self, rooms: &[RoomName]) -> Vec<RoomName> {
        let mut lost = Vec::new();
        let started = Instant::now();
        let mut unreachable = false;
        for chunk in rooms.chunks(ROOMS_PER_CALL) {
            let mut invocation = RENEW.prepare_invoke();
            for room in chunk {
                invocation.key(lease_key(room));
            }
            invocation.arg(self.holder()).arg(self.lease_ms());
            let renewed: Result<Vec<i64>, _> =
                invocation.invoke_async(&mut self.redis.clone()).await;
            match renewed {
                Ok(renewed) => lost.extend(
                    chunk
                        .iter()
                        .zip(renewed)
                        .filter(|(_, renewed)| *renewed != 1)
                        .map(|(room, _)| room.clone()),
                ),
                Err(err) => {
                    unreachable = true;
                    tracing::warn!(rooms = chunk.len(), error = %err, "cannot renew rooms' leases");
                }
            }
        }
        let mut renewed = self.renewed.lock().expect("never held across a panic");
        if !unreachable {
            *renewed = started;
            return lost;
        }
        // No change of a room is said without being kept first (which fails while Redis cannot be
        // reached), but a stale room could still pass on what changes nothing (calls' signalling,
        // chat): once its lease may be near its end, the room goes, and its people come back to
        // whichever node takes it next.
        if renewed.elapsed() >= self.lease * 2 / 3 {
            tracing::warn!(
                rooms = rooms.len(),
                "Redis has not renewed this node's leases for two thirds of a lease; giving its rooms up"
            );
            return rooms.to_vec();
        }
        lost
    }

    async fn orphans(&self) -> Vec<RoomName> {
        let mut redis = self.redis.clone();
        let rooms: Vec<String> = match redis::cmd("SMEMBERS")
            .arg(ROOMS)
            .query_async(&mut redis)
            .await
        {
            Ok(rooms) => rooms,
            Err(err) => {
                tracing::warn!(error = %err, "cannot list the kept rooms");
                return Vec::new();
            }
        };
        let rooms: Vec<RoomName> = rooms
            .iter()
            .filter_map(|raw| RoomName::parse(raw).ok())
            .collect();
        let mut orphans = Vec::new();
        for chunk in rooms.chunks(ROOMS_PER_CALL) {
            let mut leases = redis::pipe();
            for room in chunk {
                leases.exists(lease_key(room));
            }
            match leases.query_async::<Vec<bool>>(&mut redis).await {
                Ok(held) => orphans.extend(
                    chunk
                        .iter()
                        .zip(held)
                        .filter(|(_, held)| !held)
                        .map(|(room, _)| room.clone()),
                ),
                Err(err) => tracing::warn!(error = %err, "cannot look at the kept rooms' leases"),
            }
        }
        orphans
    }

    fn every_change(&self) -> bool {
        true
    }

    async fn keep(&self, room: &RoomName, state: String) -> Result<(), KeepError> {
        self.keep_state(room, state, false).await
    }

    async fn hand_over(&self, room: &RoomName, state: String) -> Result<(), KeepError> {
        self.keep_state(room, state, true).await
    }

    async fn forget(&self, room: &RoomName) {
        let args = [self.holder(), room.as_str().to_owned()];
        if let Err(err) = self.fenced(&FORGET, room, &args).await {
            tracing::warn!(%room, error = %err, "cannot forget a room's kept state");
        }
    }
}

/// The token nodes show each other: derived from the secret every node reads from the shared store
/// (or is given), so that it needs no setting of its own.
fn node_token(secret: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"anteroom cluster node");
    hex::encode(mac.finalize().into_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
