//! How a subscriber's bandwidth estimate is shared among the videos it shows. Pure: the budget and
//! each video's layers (bitrates, smallest first, up to the one its shown size wants) go in; the
//! layer each video gets, or none, comes out.
//!
//! First every video, in priority order, gets its smallest layer while the budget lasts (a video
//! that does not fit is paused rather than starving the ones before it); then, in the same order,
//! each is raised a layer at a time towards the one it wants while the rest of the budget allows.

/// One video as the allocator sees it: the bitrate of each layer it may get, smallest first, the
/// last being the layer its shown size wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Want {
    pub bitrates: Vec<u64>,
}

/// For each video (in the order given, which is priority order), the index of the layer it gets,
/// or `None` when not even its smallest fits.
pub(super) fn allocate(budget: u64, wants: &[Want]) -> Vec<Option<usize>> {
    let mut left = budget;
    let mut given: Vec<Option<usize>> = wants
        .iter()
        .map(|want| {
            let smallest = *want.bitrates.first()?;
            (smallest <= left).then(|| {
                left -= smallest;
                0
            })
        })
        .collect();
    for (want, layer) in wants.iter().zip(&mut given) {
        let Some(index) = layer else { continue };
        while let Some(step) = want
            .bitrates
            .get(*index + 1)
            .map(|next| next.saturating_sub(want.bitrates[*index]))
        {
            if step > left {
                break;
            }
            left -= step;
            *index += 1;
        }
    }
    given
}

/// What the videos would take if the budget had no end: the bitrate to ask the estimator to find.
pub(super) fn wanted_total(wants: &[Want]) -> u64 {
    wants.iter().filter_map(|w| w.bitrates.last()).sum()
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
    fn the_first_videos_are_raised_first_and_the_last_paused_when_nothing_is_left() {
        let layers = [150_000, 500_000, 1_000_000];
        let wants = vec![want(&layers), want(&layers[..1]), want(&layers[..1])];
        // Enough for everything.
        assert_eq!(allocate(2_000_000, &wants), vec![Some(2), Some(0), Some(0)]);
        // The stage steps down before a tile is paused.
        assert_eq!(allocate(900_000, &wants), vec![Some(1), Some(0), Some(0)]);
        assert_eq!(allocate(450_000, &wants), vec![Some(0), Some(0), Some(0)]);
        // Not even the smallest of the last.
        assert_eq!(allocate(400_000, &wants), vec![Some(0), Some(0), None]);
        assert_eq!(allocate(0, &wants), vec![None, None, None]);
        assert_eq!(wanted_total(&wants), 1_300_000);
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
        /// Never more than the budget; never above the wanted layer; nothing left that one more
        /// step would fit (no bandwidth wasted); everything wanted when the budget covers it.
        #[test]
        fn fits_the_budget_and_wastes_none(budget in 0u64..20_000_000, wants in wants_strategy()) {
            let given = allocate(budget, &wants);
            prop_assert_eq!(given.len(), wants.len());
            let used: u64 = wants.iter().zip(&given)
                .filter_map(|(w, g)| g.map(|i| w.bitrates[i]))
                .sum();
            prop_assert!(used <= budget);
            let left = budget - used;
            for (want, layer) in wants.iter().zip(&given) {
                match layer {
                    Some(index) => {
                        prop_assert!(*index < want.bitrates.len());
                        if let Some(next) = want.bitrates.get(index + 1) {
                            prop_assert!(next - want.bitrates[*index] > left, "a step that fits was not taken");
                        }
                    }
                    None => prop_assert!(want.bitrates.first().is_none_or(|smallest| *smallest > left)),
                }
            }
            if wanted_total(&wants) <= budget {
                for (want, layer) in wants.iter().zip(&given) {
                    prop_assert_eq!(*layer, want.bitrates.len().checked_sub(1));
                }
            }
        }

        /// A video is paused only for lack of room: whatever comes after it and still plays
        /// needs less than it would have.
        #[test]
        fn a_pause_makes_room_only_for_smaller_ones(budget in 0u64..10_000_000, wants in wants_strategy()) {
            let given = allocate(budget, &wants);
            for (i, paused) in wants.iter().zip(&given).enumerate().filter(|(_, (_, g))| g.is_none()) {
                let Some(needed) = paused.0.bitrates.first() else { continue };
                for (later, layer) in wants.iter().zip(&given).skip(i + 1) {
                    if layer.is_some() {
                        prop_assert!(later.bitrates[0] < *needed);
                    }
                }
            }
        }
    }
}
