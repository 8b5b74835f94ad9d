//! How the delivery worker shares its slots among endpoints: the endpoint with the fewest attempts in
//! flight is offered free slots first, and while there is more than one endpoint none may hold more
//! than three quarters of the slots. A slow receiver with a backlog then cannot keep another
//! endpoint's next event waiting for a slot; an endpoint alone gets them all.

/// The most attempts one endpoint may have in flight, with `concurrency` slots and `endpoints`
/// endpoints. Counted whether they have anything pending or not: the slot kept free is for the
/// event that has not happened yet.
pub fn cap(concurrency: usize, endpoints: usize) -> usize {
    if endpoints <= 1 || concurrency <= 1 {
        concurrency
    } else {
        // At least one slot always left to the others.
        concurrency - (concurrency / 4).max(1)
    }
}

/// The endpoints in the order they are offered free slots: fewest in flight first, then by id (the
/// order is stable, so two endpoints holding as many take turns as their attempts end).
pub fn order(endpoints: &[i64], held: impl Fn(i64) -> usize) -> Vec<i64> {
    let mut order = endpoints.to_vec();
    order.sort_by_key(|&endpoint| (held(endpoint), endpoint));
    order
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_endpoint_alone_may_hold_every_slot() {
        assert_eq!(cap(32, 1), 32);
        assert_eq!(cap(32, 0), 32);
        assert_eq!(cap(1, 1), 1);
    }

    #[test]
    fn with_others_an_endpoint_leaves_a_quarter_free() {
        assert_eq!(cap(32, 2), 24);
        assert_eq!(cap(4, 5), 3);
        assert_eq!(cap(2, 2), 1);
        assert_eq!(cap(3, 2), 2);
        assert_eq!(cap(1, 3), 1, "a single slot still serves someone");
    }

    #[test]
    fn the_endpoint_holding_fewest_goes_first() {
        let held = HashMap::from([(1, 5), (2, 0), (3, 2)]);
        let held = |endpoint| held.get(&endpoint).copied().unwrap_or(0);
        assert_eq!(order(&[1, 2, 3, 4], held), [2, 4, 3, 1]);
    }

    proptest! {
        /// Slots handed out one at a time, each to the first endpoint in order below its cap (as
        /// the worker does when attempts end one by one): an endpoint never exceeds its cap, and
        /// with two or more endpoints wanting slots, none is left without one.
        #[test]
        fn every_endpoint_wanting_a_slot_gets_one(
            concurrency in 1usize..40,
            endpoints in 2usize..6,
        ) {
            let ids: Vec<i64> = (1..=endpoints as i64).collect();
            let cap = cap(concurrency, endpoints);
            let mut held: HashMap<i64, usize> = HashMap::new();
            for _ in 0..concurrency {
                let next = order(&ids, |e| held.get(&e).copied().unwrap_or(0))
                    .into_iter()
                    .find(|e| held.get(e).copied().unwrap_or(0) < cap);
                if let Some(endpoint) = next {
                    *held.entry(endpoint).or_default() += 1;
                }
            }
            prop_assert!(held.values().all(|&n| n <= cap));
            if concurrency > 1 {
                prop_assert!(cap < concurrency, "one endpoint at its cap leaves a slot free");
            }
            let served = held.len();
            prop_assert_eq!(served, endpoints.min(concurrency));
        }
    }
}
