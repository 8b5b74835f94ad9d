//! A member whose page went (closed or reloaded: its client sends `leave_room` as the page goes)
//! may come back with its resume token within the resume grace, as itself and without knocking: a
//! reloaded page is not a new person at the door. Our client forgets its token when the person
//! leaves on purpose (the Leave button), so it is a page that went that comes back this way. Not
//! kept in a snapshot: a room carried on meanwhile has everyone reconnect anyway.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::room::model::{ClientId, Role};

/// At most this many departures remembered at once (a large room's churn within one grace).
const REMEMBERED_MAX: usize = 1_000;

#[derive(Debug, Clone)]
struct Departure {
    client_id: ClientId,
    role: Role,
    at: DateTime<Utc>,
}

/// Who left lately, by resume token.
#[derive(Debug, Default)]
pub(super) struct RecentDepartures(HashMap<String, Departure>);

impl RecentDepartures {
    /// A member left: its token brings it back as `client_id`, in `role`, until `grace` passes.
    pub(super) fn remember(
        &mut self,
        token: &str,
        client_id: ClientId,
        role: Role,
        now: DateTime<Utc>,
        grace: Duration,
    ) {
        self.forget_older_than(now - grace);
        if self.0.len() >= REMEMBERED_MAX {
            return;
        }
        self.0.insert(
            token.to_owned(),
            Departure {
                client_id,
                role,
                at: now,
            },
        );
    }

    /// Who `token` brings back, if it left within `grace`; once only.
    pub(super) fn take(
        &mut self,
        token: &str,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> Option<(ClientId, Role)> {
        self.forget_older_than(now - grace);
        self.0
            .remove(token)
            .map(|departure| (departure.client_id, departure.role))
    }

    fn forget_older_than(&mut self, cutoff: DateTime<Utc>) {
        self.0.retain(|_, departure| departure.at >= cutoff);
    }
}
