//! Limits that hold for a whole deployment: the REST API's point budget (Whereby's: N points a
//! minute, shared by every key) and the knocks one address may make a minute across all rooms. A
//! server alone keeps them in memory (`LocalLimits`); a cluster keeps them in Redis, so that they
//! hold for the cluster as a whole (`cluster::RedisLimits`).

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use governor::{DefaultKeyedRateLimiter, Quota};

/// The budget's window: a fixed minute that opens with the first request after the previous one
/// closed, so `X-RateLimit-Remaining` and `X-RateLimit-Reset` are exact.
pub const WINDOW: Duration = Duration::from_secs(60);

#[async_trait]
pub trait Limits: Send + Sync + 'static {
    /// Spends `points` of the REST budget (nothing when they do not fit).
    async fn spend(&self, points: u32) -> Verdict;
    /// One knock from `from`: false when its quota for the minute is spent.
    async fn knock(&self, from: IpAddr) -> bool;
    /// Forgets what addresses gone quiet used (housekeeping).
    fn sweep(&self) {}
}

pub type DynLimits = std::sync::Arc<dyn Limits>;

/// A server alone: its limits in memory.
pub struct LocalLimits {
    budget: RateLimiter,
    knocks: DefaultKeyedRateLimiter<IpAddr>,
}

impl LocalLimits {
    pub fn new(budget: u32, knocks: Quota) -> Self {
        LocalLimits {
            budget: RateLimiter::new(budget),
            knocks: governor::RateLimiter::keyed(knocks),
        }
    }
}

#[async_trait]
impl Limits for LocalLimits {
    async fn spend(&self, points: u32) -> Verdict {
        self.budget.consume(points, Instant::now())
    }

    async fn knock(&self, from: IpAddr) -> bool {
        self.knocks.check_key(&from).is_ok()
    }

    fn sweep(&self) {
        self.knocks.retain_recent();
        self.knocks.shrink_to_fit();
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    budget: u32,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    /// None until the first request.
    opened: Option<Instant>,
    used: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Time until the window closes and the full budget is back.
    pub resets_in: Duration,
}

impl RateLimiter {
    pub fn new(budget: u32) -> Self {
        RateLimiter {
            budget,
            window: Mutex::new(Window {
                opened: None,
                used: 0,
            }),
        }
    }

    /// Spends `points` if the budget allows; a refused request spends nothing.
    pub fn consume(&self, points: u32, now: Instant) -> Verdict {
        // The lock is held for a few instructions; a poisoned lock only means another request panicked
        // mid-update of two integers, which leaves them usable.
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let opened = match window.opened {
            Some(opened) if now.duration_since(opened) < WINDOW => opened,
            _ => {
                window.opened = Some(now);
                window.used = 0;
                now
            }
        };
        let allowed = window.used + points <= self.budget;
        if allowed {
            window.used += points;
        }
        Verdict {
            allowed,
            limit: self.budget,
            remaining: self.budget.saturating_sub(window.used),
            resets_in: WINDOW.saturating_sub(now.duration_since(opened)),
        }
    }
}

/// The spec's 429 body (keys in the order they have always had).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_spent_by_weight_and_refills_after_the_window() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        assert!(limiter.consume(3, t0).allowed);
        assert!(limiter.consume(3, t0).allowed);
        assert!(limiter.consume(3, t0).allowed);
        let refused = limiter.consume(3, t0 + Duration::from_secs(10));
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 1);
        assert_eq!(refused.resets_in, Duration::from_secs(50));
        // A cheaper request still fits what is left.
        assert!(limiter.consume(1, t0).allowed);
        let next_window = limiter.consume(3, t0 + WINDOW);
        assert!(next_window.allowed);
        assert_eq!(next_window.remaining, 7);
    }
}
