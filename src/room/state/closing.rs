//! A knocker's page that is closed or reloaded says so as it goes (`page_closing`): its knock then
//! keeps its place only for the resume grace, time for a reload to come back, not the away grace
//! of a phone that locked its screen, so a tab closed on purpose leaves the hosts' list within
//! seconds. The reloaded page's review names its resume token (`page_back`), which keeps the knock
//! for the away grace again while its person checks their devices.

use chrono::{DateTime, Utc};

use super::Room;
use super::connections::Place;
use super::deadlines::Timer;
use crate::room::model::ConnId;

impl Room {
    /// A knocker's page says it is closing: its knock, once away, keeps its place only for the
    /// resume grace. Nothing else changes now (hosts see it away when its socket goes). A member's
    /// page leaves instead (`leave_room`); from anyone else it means nothing.
    pub(super) fn page_closing(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get(conn).filter(|c| c.place == Place::Knocking) else {
            return;
        };
        if let Some(knock) = self.queue.get_mut(&c.client_id) {
            knock.page_closed = true;
        }
    }

    /// A page back with a resume token shows its review before it joins (a reload): what it left
    /// keeps for the away grace from now, its knock's place or a verdict reached meanwhile, however
    /// briefly it was to be kept once its page closed.
    pub(super) fn page_back(&mut self, now: DateTime<Utc>, resume_token: &str) {
        let until = now + self.config.knock_away_grace;
        if let Some(knock) = self.queue.away_with_token(resume_token) {
            knock.page_closed = false;
            knock.away_since = Some(now);
            self.deadlines
                .set(Timer::KnockAway(knock.client_id.clone()), until);
        }
        let verdict = Timer::AwayVerdict(resume_token.to_owned());
        if self.deadlines.get(&verdict).is_some_and(|at| at < until) {
            self.deadlines.set(verdict, until);
        }
    }
}
