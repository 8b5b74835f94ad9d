//! How many signalling connections each address holds, so that one address (an IPv6 client: its
//! /64) cannot take every place under `--max-connections` and shut everyone else out. A WebSocket
//! lives for a whole call, so it is what holds a place; HTTP requests come and go.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The open connections of every address that has one.
#[derive(Debug)]
pub struct PerAddress {
    /// Most connections one address may hold; None: no limit.
    limit: Option<usize>,
    counts: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    open: HashMap<IpAddr, usize>,
    /// Refusals since the last log line, and when that was (one a second at most).
    refused: u64,
    logged: Option<Instant>,
}

/// An address's place, held for as long as its connection lives.
#[derive(Debug)]
pub struct AddressPlace {
    address: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl PerAddress {
    /// `limit` 0: no limit.
    pub fn new(limit: usize) -> Self {
        PerAddress {
            limit: (limit > 0).then_some(limit),
            counts: Arc::default(),
        }
    }

    /// A place for one more connection of `address` (as `proxy::network_of` gives it), or None
    /// when it holds as many as it may (logged, a second apart at most).
    pub fn enter(&self, address: IpAddr) -> Option<AddressPlace> {
        let mut counts = lock(&self.counts);
        let open = counts.open.entry(address).or_default();
        if self.limit.is_some_and(|limit| *open >= limit) {
            metrics::counter!("anteroom_signal_refused_per_address_total").increment(1);
            counts.refused += 1;
            if counts
                .logged
                .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
            {
                tracing::warn!(
                    %address,
                    limit = self.limit,
                    refused = counts.refused,
                    "an address holds as many signalling connections as it may; refusing more \
                     (see --ws-connections-per-address)"
                );
                counts.logged = Some(Instant::now());
                counts.refused = 0;
            }
            return None;
        }
        *open += 1;
        Some(AddressPlace {
            address,
            counts: self.counts.clone(),
        })
    }

    /// How many addresses hold a connection.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        lock(&self.counts).open.len()
    }
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(open) = counts.open.get_mut(&self.address) {
            *open -= 1;
            if *open == 0 {
                counts.open.remove(&self.address);
            }
        }
    }
}

/// The counts stay usable after a panic elsewhere: each change is one small step.
fn lock(counts: &Mutex<Counts>) -> std::sync::MutexGuard<'_, Counts> {
    counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_limit_and_gets_places_back() {
        let per_address = PerAddress::new(2);
        let (a, b): (IpAddr, IpAddr) = (
            "198.51.100.7".parse().unwrap(),
            "2001:db8::".parse().unwrap(),
        );
        let first = per_address.enter(a).expect("first");
        let second = per_address.enter(a).expect("second");
        assert!(per_address.enter(a).is_none(), "a third is refused");
        let other = per_address.enter(b).expect("another address has its own");
        drop(first);
        let again = per_address.enter(a).expect("a place given back is free");
        drop((second, again, other));
        assert_eq!(per_address.addresses(), 0, "nothing kept of addresses gone");
        let unlimited = PerAddress::new(0);
        let many: Vec<_> = (0..5000).filter_map(|_| unlimited.enter(a)).collect();
        assert_eq!(many.len(), 5000);
    }
}
