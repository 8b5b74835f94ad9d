//! How a subscriber's bandwidth estimate is shared among the videos it shows. Pure: the budget and
//! each video's layers (bitrates, smallest first, up to the one its shown size wants) go in; the
//! layer each video gets comes out; time is an input of the estimate kept for it.
//!
//! Every video gets at least its smallest layer, whatever the estimate says; then, in priority
//! order, each is raised a layer at a time towards the one it wants while the budget allows. No
//! video is paused for bandwidth: a delay-based estimate swings low on a busy machine (a loaded
//! server or browser looks like a congested link), and a paused video comes back only with a
//! keyframe, so pausing on such swings froze pictures. The client's last-N and the server's cap
//! on videos per subscriber bound what the smallest layers add up to.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long an estimate must stay up before layers are raised for it.
pub(super) const RISE_AFTER: Duration = Duration::from_secs(2);

/// How long an estimate may stay exactly the same while its subscriber wants more before the
/// estimator is started afresh (`HeldEstimate::stalled`). A working estimator moves within seconds.
pub(super) const STALLED_AFTER: Duration = Duration::from_secs(10);

/// One video as the allocator sees it: the bitrate of each layer it may get, smallest first, the
/// last being the layer its shown size wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Want {
    pub bitrates: Vec<u64>,
}

/// For each video (in the order given, which is priority order), the index of the layer it gets:
/// at least its smallest; `None` only for a video with no layer known yet.
pub(super) fn allocate(budget: u64, wants: &[Want]) -> Vec<Option<usize>> {
    share(budget, wants).given
}

/// The least budget above `budget` at which some video gets a layer more; `None` when every video
/// has the layer it wants. What the estimator is asked to keep traffic up to (with padding), so
/// that it can find the next layer's room without waiting for a probe.
pub(super) fn next_raise(budget: u64, wants: &[Want]) -> Option<u64> {
    let shared = share(budget, wants);
    shared.short.map(|short| shared.spent + short)
}

struct Shared {
    given: Vec<Option<usize>>,
    /// The budget as used: at least the smallest layers' sum.
    spent: u64,
    /// The least more that one video's next step would have needed.
    short: Option<u64>,
}

fn share(budget: u64, wants: &[Want]) -> Shared {
    let floor: u64 = wants.iter().filter_map(|w| w.bitrates.first()).sum();
    let mut left = budget.saturating_sub(floor);
    let mut short: Option<u64> = None;
    let mut given: Vec<Option<usize>> = wants
        .iter()
        .map(|want| (!want.bitrates.is_empty()).then_some(0))
        .collect();
    for (want, layer) in wants.iter().zip(&mut given) {
        let Some(index) = layer else { continue };
        while let Some(step) = want
            .bitrates
            .get(*index + 1)
            .map(|next| next.saturating_sub(want.bitrates[*index]))
        {
            if step > left {
                short = Some(short.map_or(step - left, |s| s.min(step - left)));
                break;
            }
            left -= step;
            *index += 1;
        }
    }
    Shared {
        given,
        spent: budget.max(floor),
        short,
    }
}

/// What the videos would take if the budget had no end: the bitrate to ask the estimator to find.
pub(super) fn wanted_total(wants: &[Want]) -> u64 {
    wants.iter().filter_map(|w| w.bitrates.last()).sum()
}

/// A subscriber's bandwidth estimate as the allocation uses it: a fall counts at once, a rise only
/// once the estimate has stayed up for `RISE_AFTER` (the lowest it was over that time). Each raise
/// costs a publisher a keyframe, and an estimate that swings would have layers go up and down
/// every half second.
#[derive(Debug, Default)]
pub(super) struct HeldEstimate {
    /// Each estimate heard and since when, oldest first; each holds until the next.
    heard: VecDeque<(Instant, u64)>,
}

impl HeldEstimate {
    pub fn heard(&mut self, estimate: u64, now: Instant) {
        if self.heard.back().is_none_or(|(_, last)| *last != estimate) {
            self.heard.push_back((now, estimate));
        }
        self.forget_before(now);
    }

    /// Whether the estimate has not moved for `STALLED_AFTER`. After a lossy spell, str0m's
    /// loss-based estimator (as libwebrtc's) holds its estimate for a while, doubling the hold each
    /// time it finds loss again, up to a minute; meanwhile the estimate does not move, even once the
    /// link is wide, and nothing (padding, probes) raises it. In CI a subscriber stayed on its
    /// smallest layer for over 45 s after its link widened, its estimate unchanged all along.
    pub fn stalled(&self, now: Instant) -> bool {
        self.heard
            .back()
            .is_some_and(|(since, _)| now.saturating_duration_since(*since) >= STALLED_AFTER)
    }

    /// The latest estimate heard.
    pub fn latest(&self) -> Option<u64> {
        self.heard.back().map(|(_, estimate)| *estimate)
    }

    /// The estimator was started afresh from `estimate`: as good as a change.
    pub fn restarted(&mut self, estimate: u64, now: Instant) {
        self.heard.push_back((now, estimate));
        self.forget_before(now);
    }

    /// The estimate to share out at `now`; `None` before the estimator said anything.
    pub fn budget(&mut self, now: Instant) -> Option<u64> {
        self.forget_before(now);
        self.heard.iter().map(|(_, estimate)| *estimate).min()
    }

    /// Drops the estimates replaced before the last `RISE_AFTER` began.
    fn forget_before(&mut self, now: Instant) {
        while self
            .heard
            .get(1)
            .is_some_and(|(since, _)| now.saturating_duration_since(*since) >= RISE_AFTER)
        {
            self.heard.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn want(bitrates: &[u64]) -> Want {
        Want {
            bitrates: bitrates.to_vec(),
        }
    }

    #[test]
    fn the_first_videos_are_raised_first_and_none_is_paused() {
        let layers = [150_000, 500_000, 1_000_000];
        let wants = vec![want(&layers), want(&layers[..1]), want(&layers[..1])];
        // Enough for everything.
        assert_eq!(allocate(2_000_000, &wants), vec![Some(2), Some(0), Some(0)]);
        // The stage steps down first.
        assert_eq!(allocate(900_000, &wants), vec![Some(1), Some(0), Some(0)]);
        assert_eq!(allocate(450_000, &wants), vec![Some(0), Some(0), Some(0)]);
        // Less than the smallest layers take: each still gets its smallest.
        assert_eq!(allocate(0, &wants), vec![Some(0), Some(0), Some(0)]);
        // No layer known yet.
        assert_eq!(allocate(1_000_000, &[want(&[])]), vec![None]);
        assert_eq!(wanted_total(&wants), 1_300_000);
        // What the next layer up would need.
        assert_eq!(next_raise(2_000_000, &wants), None);
        assert_eq!(next_raise(900_000, &wants), Some(1_300_000));
        assert_eq!(next_raise(450_000, &wants), Some(800_000));
        assert_eq!(next_raise(0, &wants), Some(800_000));
    }

    #[test]
    fn an_estimate_falls_at_once_and_rises_after_it_stayed_up() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut held = HeldEstimate::default();
        assert_eq!(held.budget(at(0)), None);
        held.heard(2_000_000, at(0));
        assert_eq!(held.budget(at(0)), Some(2_000_000));
        held.heard(300_000, at(500));
        assert_eq!(held.budget(at(500)), Some(300_000), "a fall counts at once");
        held.heard(1_500_000, at(1_000));
        assert_eq!(
            held.budget(at(2_900)),
            Some(300_000),
            "up for less than RISE_AFTER"
        );
        assert_eq!(held.budget(at(3_000)), Some(1_500_000));
        // A swing down and back within the window holds the budget down again.
        held.heard(400_000, at(3_100));
        held.heard(1_500_000, at(3_200));
        assert_eq!(held.budget(at(5_100)), Some(400_000));
        assert_eq!(held.budget(at(5_200)), Some(1_500_000));
    }

    #[test]
    fn an_estimate_that_does_not_move_is_stalled_until_restarted_or_changed() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut held = HeldEstimate::default();
        assert!(!held.stalled(at(0)), "nothing heard, nothing stalled");
        held.heard(330_000, at(1));
        held.heard(330_000, at(6));
        assert!(!held.stalled(at(10)));
        assert!(held.stalled(at(11)), "the same estimate again is no move");
        held.restarted(330_000, at(11));
        assert!(!held.stalled(at(20)));
        assert_eq!(
            (held.latest(), held.budget(at(20))),
            (Some(330_000), Some(330_000))
        );
        held.heard(500_000, at(20));
        assert!(!held.stalled(at(29)));
        assert!(held.stalled(at(30)));
    }

    fn wants_strategy() -> impl Strategy<Value = Vec<Want>> {
        prop::collection::vec(
            prop::collection::vec(1u64..2_000_000, 0..4).prop_map(|mut rates| {
                rates.sort_unstable();
                Want { bitrates: rates }
            }),
            0..30,
        )
    }

    proptest! {
        /// Every video with a layer gets one; beyond the smallest layers, never more than the
        /// budget; never above the wanted layer; nothing left that one more step would fit (no
        /// bandwidth wasted); everything wanted when the budget covers it.
        #[test]
        fn fits_the_budget_and_wastes_none(budget in 0u64..20_000_000, wants in wants_strategy()) {
            let given = allocate(budget, &wants);
            prop_assert_eq!(given.len(), wants.len());
            let floor: u64 = wants.iter().filter_map(|w| w.bitrates.first()).sum();
            let used: u64 = wants.iter().zip(&given)
                .filter_map(|(w, g)| g.map(|i| w.bitrates[i]))
                .sum();
            prop_assert!(used <= budget.max(floor));
            let left = budget.max(floor) - used;
            for (want, layer) in wants.iter().zip(&given) {
                prop_assert_eq!(layer.is_some(), !want.bitrates.is_empty(), "a video with layers is never paused");
                if let Some(index) = layer {
                    prop_assert!(*index < want.bitrates.len());
                    if let Some(next) = want.bitrates.get(index + 1) {
                        prop_assert!(next - want.bitrates[*index] > left, "a step that fits was not taken");
                    }
                }
            }
            if wanted_total(&wants) <= budget {
                for (want, layer) in wants.iter().zip(&given) {
                    prop_assert_eq!(*layer, want.bitrates.len().checked_sub(1));
                }
            }
        }

        /// The next raise is the least budget at which the allocation gives more: one less gives
        /// what the budget gives now. There is none only when every video has its wanted layer.
        #[test]
        fn the_next_raise_is_the_least_budget_that_gives_more(
            budget in 0u64..20_000_000,
            wants in wants_strategy(),
        ) {
            let given = allocate(budget, &wants);
            match next_raise(budget, &wants) {
                Some(raise) => {
                    prop_assert!(raise > budget);
                    let more = allocate(raise, &wants);
                    prop_assert!(more.iter().zip(&given).any(|(m, g)| m > g), "nothing raised at {raise}");
                    prop_assert_eq!(&allocate(raise - 1, &wants), &given);
                }
                None => {
                    for (want, layer) in wants.iter().zip(&given) {
                        prop_assert_eq!(*layer, want.bitrates.len().checked_sub(1));
                    }
                }
            }
        }

        /// The budget is the lowest estimate in force at any moment of the last `RISE_AFTER`.
        #[test]
        fn a_held_estimate_is_the_lowest_of_the_window(
            steps in prop::collection::vec((0u64..1_500, 0u64..5_000_000), 1..40),
        ) {
            let start = Instant::now();
            let mut held = HeldEstimate::default();
            let mut history = Vec::new();
            let mut now = start;
            for (gap, estimate) in steps {
                now += Duration::from_millis(gap);
                held.heard(estimate, now);
                history.push((now, estimate));
                // The estimates in force at some moment of the window: each from its time until
                // the next one's.
                let in_window = history.iter().enumerate().filter(|(i, _)| {
                    history.get(i + 1).is_none_or(|(next, _)| now.duration_since(*next) < RISE_AFTER)
                }).map(|(_, (_, e))| *e);
                prop_assert_eq!(held.budget(now), in_window.min());
            }
        }
    }
}
