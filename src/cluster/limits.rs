//! The deployment's limits, kept in Redis so that they hold for the cluster as a whole: the REST
//! budget (one window for every node, as a server alone has one) and each address's knocks a minute.

use std::net::IpAddr;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use crate::services::limits::{Limits, Verdict, WINDOW};

/// Spends points if they fit in the window (opened by the first spend after the last closed);
/// answers {allowed, used, ms left in the window}.
static SPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local points = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
if used + points > budget then
  return {0, used, redis.call('PTTL', KEYS[1])}
end
used = redis.call('INCRBY', KEYS[1], points)
if used == points then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1, used, redis.call('PTTL', KEYS[1])}
",
    )
});

/// One knock against an address's minute; answers how many it made in that minute.
static KNOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local made = redis.call('INCR', KEYS[1])
if made == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return made
",
    )
});

pub struct RedisLimits {
    redis: ConnectionManager,
    budget: u32,
    knocks_per_minute: u32,
}

impl RedisLimits {
    pub fn new(redis: ConnectionManager, budget: u32, knocks_per_minute: u32) -> Self {
        RedisLimits {
            redis,
            budget,
            knocks_per_minute,
        }
    }
}

#[async_trait]
impl Limits for RedisLimits {
    async fn spend(&self, points: u32) -> Verdict {
        let outcome: Result<(i64, i64, i64), _> = SPEND
            .key("anteroom:limit:rest")
            .arg(points)
            .arg(self.budget)
            .arg(WINDOW.as_millis() as u64)
            .invoke_async(&mut self.redis.clone())
            .await;
        match outcome {
            Ok((allowed, used, ms_left)) => Verdict {
                allowed: allowed == 1,
                limit: self.budget,
                remaining: self.budget.saturating_sub(used.max(0) as u32),
                resets_in: Duration::from_millis(ms_left.max(0) as u64),
            },
            // Redis unreachable: the API stays up (a budget is a courtesy, not a safeguard).
            Err(err) => {
                tracing::warn!(error = %err, "cannot reach Redis for the REST budget; letting the request through");
                Verdict {
                    allowed: true,
                    limit: self.budget,
                    remaining: self.budget,
                    resets_in: WINDOW,
                }
            }
        }
    }

    async fn knock(&self, from: IpAddr) -> bool {
        let made: Result<i64, _> = KNOCK
            .key(format!("anteroom:limit:knocks:{from}"))
            .arg(60_000)
            .invoke_async(&mut self.redis.clone())
            .await;
        match made {
            Ok(made) => made <= i64::from(self.knocks_per_minute),
            // The per-room limits still hold; the room is the one that must keep working.
            Err(err) => {
                tracing::warn!(error = %err, "cannot reach Redis for the knock limit; letting the knock through");
                true
            }
        }
    }
}
