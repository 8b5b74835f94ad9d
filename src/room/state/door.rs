//! The door: knocking, cancelling, and a host's verdicts. Each knock is decided once; a hold is not a
//! verdict (the knock stays queued with the host's message); every host hears every change.

use chrono::{DateTime, Utc};

use super::connections::Place;
use super::deadlines::Timer;
use super::queue::{Hold, Knock};
use super::{AwayVerdict, Kept, MintGrant, Out, Room};
use crate::meeting::facts::{Departure, FactKind};
use crate::room::event::{Answer, Event, Refusal, RefusalCode, ResolvedKnock, Verdict};
use crate::room::model::{
    ClientId, ConnId, Decider, KnockAction, KnockTarget, LeaveReason, Request, Resolution, Role,
};

impl Room {
    pub(super) fn knock(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        display_name: Option<String>,
    ) {
        let Some(knocker) = self.conns.get(conn) else {
            out.refuse(
                conn,
                RefusalCode::NotLockedOut,
                "send join_room first; knock only when it answers room_locked",
                Request::Knock,
            );
            return;
        };
        match knocker.place {
            Place::Member(_) => {
                out.refuse(
                    conn,
                    RefusalCode::NotLockedOut,
                    "you are already in the room",
                    Request::Knock,
                );
                return;
            }
            Place::Knocking => {
                out.refuse(
                    conn,
                    RefusalCode::AlreadyKnocking,
                    "you are already knocking; wait for a host or cancel",
                    Request::Knock,
                );
                return;
            }
            Place::Outside => {}
        }
        let key = knocker.knocker_key();
        if let Some(until) = self.deadlines.get(&Timer::Cooldown(key.clone()))
            && until > now
        {
            let seconds = (until - now).num_seconds().max(1);
            out.send(
                conn,
                Event::Refused(Refusal {
                    code: RefusalCode::KnockCooldown,
                    message: format!(
                        "a host turned this knock away; you may knock again in {seconds} s"
                    ),
                    request: Some(Request::Knock),
                    retry_after_seconds: Some(seconds),
                }),
            );
            return;
        }
        let name = display_name
            .as_deref()
            .unwrap_or(&knocker.identity.display_name);
        if self.conns.is_host_name(name) {
            out.refuse(
                conn,
                RefusalCode::NameTaken,
                "a host of this room goes by that name; choose another",
                Request::Knock,
            );
            return;
        }
        if self.queue.waiting_from(knocker.peer) >= self.config.max_knocks_per_address {
            out.refuse(
                conn,
                RefusalCode::AddressLimit,
                "too many people are waiting from your address; try again later",
                Request::Knock,
            );
            return;
        }
        if self.queue.len() >= self.config.max_knocks {
            out.refuse(
                conn,
                RefusalCode::KnockQueueFull,
                "too many people are waiting; try again later",
                Request::Knock,
            );
            return;
        }
        let Some(knocker) = self.conns.get_mut(conn) else {
            return;
        };
        if let Some(name) = display_name {
            knocker.identity.display_name = name;
        }
        knocker.place = Place::Knocking;
        let knock = Knock::new(conn, knocker, now, None);
        out.send(
            conn,
            Event::KnockSent {
                client_id: knock.client_id.clone(),
            },
        );
        self.enqueue(out, now, knock, false);
    }

    /// Puts a knock in line (last, or first for a guest a host sent back), starts its time-out, and
    /// tells every host.
    pub(super) fn enqueue(&mut self, out: &mut Out, now: DateTime<Utc>, knock: Knock, first: bool) {
        if let Some(timeout) = self.config.knock_timeout {
            self.deadlines
                .set(Timer::KnockTimeout(knock.client_id.clone()), now + timeout);
        }
        let (client_id, identity) = (knock.client_id.clone(), knock.identity.clone());
        let view = if first {
            let view = knock.view(1);
            self.queue.push_front(knock);
            view
        } else {
            let view = knock.view(self.queue.len() + 1);
            self.queue.push(knock);
            view
        };
        out.send_many(self.conns.hosts(), Event::Knocked(view));
        self.fact(
            out,
            now,
            FactKind::Knocked,
            Some((&client_id, None, &identity)),
            None,
        );
    }

    pub(super) fn cancel_knock(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId) {
        let Some(client_id) = self
            .conns
            .get(conn)
            .filter(|c| c.place == Place::Knocking)
            .map(|c| c.client_id.clone())
        else {
            out.refuse(
                conn,
                RefusalCode::KnockNotFound,
                "you have no knock waiting",
                Request::CancelKnock,
            );
            return;
        };
        self.remove_knock_of(out, now, &client_id, LeaveReason::Cancelled);
    }

    /// Takes a knock out of the queue without a verdict (cancel, disconnect, entered another way):
    /// every host hears `knocker_left`.
    pub(super) fn remove_knock_of(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        client_id: &ClientId,
        reason: LeaveReason,
    ) {
        let Some(knock) = self.take_knock(client_id) else {
            return;
        };
        if let Some(conn) = knock.conn
            && let Some(c) = self.conns.get_mut(conn)
            && c.place == Place::Knocking
        {
            c.place = Place::Outside;
        }
        out.send_many(
            self.conns.hosts(),
            Event::KnockerLeft {
                client_id: knock.client_id.clone(),
                reason,
            },
        );
        self.departure_fact(
            out,
            now,
            FactKind::KnockCancelled,
            Some((&knock.client_id, None, &knock.identity)),
            Departure::Leave(reason),
        );
    }

    /// Takes a knock out of the queue with its timers.
    fn take_knock(&mut self, client_id: &ClientId) -> Option<super::queue::Knock> {
        let knock = self.queue.remove(client_id)?;
        self.deadlines.cancel(&Timer::KnockAway(client_id.clone()));
        self.deadlines
            .cancel(&Timer::KnockTimeout(client_id.clone()));
        Some(knock)
    }

    /// The knocks a host's action is aimed at, or the refusal when the one named is not waiting.
    fn targets(&self, target: KnockTarget) -> Result<Vec<ClientId>, String> {
        match target {
            KnockTarget::All => Ok(self.queue.client_ids()),
            KnockTarget::One(id) if self.queue.contains(&id) => Ok(vec![id]),
            KnockTarget::One(id) => Err(format!(
                "no knock from {id} is waiting: it was decided already, cancelled, or never made"
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_knock(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        by: Decider,
        target: KnockTarget,
        action: KnockAction,
        message: Option<String>,
        grant: MintGrant,
    ) {
        if let Decider::Host(conn) = by
            && self.acting_host(out, conn, Request::HandleKnock).is_none()
        {
            return;
        }
        let targets = match self.targets(target) {
            Ok(targets) => targets,
            Err(why) => {
                out.refuse_to(by, RefusalCode::KnockNotFound, why, Request::HandleKnock);
                return;
            }
        };
        let mut decided = Vec::new();
        for client_id in targets {
            let resolution = match action {
                KnockAction::Accept => {
                    if !self
                        .seats
                        .fits(Role::GrantedVisitor, self.occupancy(), None)
                    {
                        let name = self
                            .queue
                            .get(&client_id)
                            .map_or("the guest", |k| k.identity.display_name.as_str());
                        let why = format!("the room is full; {name} stays waiting");
                        // The API hears which got in; a host hears why the rest wait.
                        match by {
                            Decider::Api if !decided.is_empty() => {
                                out.answer(Answer::Decided(decided));
                            }
                            _ => {
                                out.refuse_to(by, RefusalCode::RoomFull, why, Request::HandleKnock)
                            }
                        }
                        return;
                    }
                    self.decide(
                        out,
                        now,
                        by,
                        &client_id,
                        (Resolution::Accepted, message.clone()),
                        grant,
                    );
                    Resolution::Accepted
                }
                KnockAction::Reject => {
                    self.decide(
                        out,
                        now,
                        by,
                        &client_id,
                        (Resolution::Rejected, message.clone()),
                        grant,
                    );
                    Resolution::Rejected
                }
                KnockAction::Hold => {
                    self.hold(out, now, by, &client_id, message.clone());
                    Resolution::Held
                }
            };
            decided.push((client_id, resolution));
        }
        if by == Decider::Api {
            out.answer(Answer::Decided(decided));
        }
    }

    /// The name of whoever decides, as the knocker and the other hosts see it (None: the REST API).
    fn decider_view(&self, by: Decider) -> Option<crate::room::event::ClientView> {
        by.conn().and_then(|conn| self.conns.client_view(conn))
    }

    /// A final verdict: the knock leaves the queue, its knocker hears it, every host hears it.
    fn decide(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        by: Decider,
        client_id: &ClientId,
        (resolution, message): (Resolution, Option<String>),
        grant: MintGrant,
    ) {
        let Some(knock) = self.take_knock(client_id) else {
            return;
        };
        let host = self.decider_view(by);
        if resolution == Resolution::Accepted {
            self.hold_seat(client_id, now);
            // A guest once removed or sent back, now let in again, enters with its new grant.
            self.deadlines.cancel(&Timer::Removed(client_id.clone()));
        }
        let retry_after = (resolution == Resolution::Rejected).then(|| {
            let cooldown = self.config.reject_cooldown;
            self.deadlines
                .set(Timer::Cooldown(knock.key.clone()), now + cooldown);
            cooldown.num_seconds().max(0) as u64
        });
        let verdict = Kept::Verdict(Verdict {
            resolution,
            message: message.clone(),
            host_display_name: host.as_ref().map(|h| h.display_name.clone()),
            room_key: (resolution == Resolution::Accepted).then(|| grant(client_id)),
            retry_after_seconds: retry_after,
        });
        self.tell_knocker(out, now, &knock, verdict);
        out.send_many(
            self.conns.hosts(),
            Event::Resolved(ResolvedKnock {
                client_id: client_id.clone(),
                resolution,
                message: message.clone(),
                handled_by: host,
            }),
        );
        let kind = match resolution {
            Resolution::Accepted => FactKind::KnockAccepted,
            Resolution::Rejected => FactKind::KnockRejected,
            Resolution::Held => FactKind::KnockHeld,
        };
        self.verdict_fact(out, now, kind, (client_id, &knock.identity), message, by);
    }

    /// The last word a knock that left the queue gets: at once, or kept for its return when its
    /// connection is gone (for the resume grace).
    fn tell_knocker(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        knock: &super::queue::Knock,
        kept: Kept,
    ) {
        match knock.conn {
            Some(knocker) => {
                if let Some(c) = self.conns.get_mut(knocker) {
                    c.place = Place::Outside;
                }
                out.send(knocker, kept.event());
            }
            None => {
                let expires_at = knock.away_since.unwrap_or(now) + knock.away_grace(&self.config);
                let verdict = AwayVerdict {
                    client_id: knock.client_id.clone(),
                    identity: knock.identity.clone(),
                    kept,
                };
                self.keep_for_return(knock.resume_token.clone(), verdict, expires_at);
            }
        }
    }

    /// Keeps what a client away is to be told on its return by `token`, until `expires_at`.
    pub(super) fn keep_for_return(
        &mut self,
        token: String,
        verdict: AwayVerdict,
        expires_at: DateTime<Utc>,
    ) {
        self.deadlines
            .set(Timer::AwayVerdict(token.clone()), expires_at);
        self.away_verdicts.insert(token, verdict);
    }

    /// The knock waited longer than the room allows: it ends, and the knocker is told why.
    pub(super) fn expire_knock(&mut self, out: &mut Out, now: DateTime<Utc>, client_id: &ClientId) {
        let Some(knock) = self.take_knock(client_id) else {
            return;
        };
        let message = "nobody could let you in this time; please try again later".to_owned();
        self.tell_knocker(out, now, &knock, Kept::KnockExpired { message });
        out.send_many(
            self.conns.hosts(),
            Event::KnockerLeft {
                client_id: client_id.clone(),
                reason: LeaveReason::Expired,
            },
        );
        self.fact(
            out,
            now,
            FactKind::KnockExpired,
            Some((client_id, None, &knock.identity)),
            None,
        );
    }

    /// A host's word to people waiting: they keep their place (and a knock whose connection is
    /// gone finds it on its return).
    pub(super) fn message_knockers(
        &mut self,
        out: &mut Out,
        conn: ConnId,
        target: KnockTarget,
        message: String,
    ) {
        if self
            .acting_host(out, conn, Request::MessageKnockers)
            .is_none()
        {
            return;
        }
        let targets = match self.targets(target) {
            Ok(targets) => targets,
            Err(why) => {
                out.refuse(
                    conn,
                    RefusalCode::KnockNotFound,
                    why,
                    Request::MessageKnockers,
                );
                return;
            }
        };
        let Some(host) = self.conns.client_view(conn) else {
            return;
        };
        let kept = Kept::HostMessage {
            message,
            host_display_name: host.display_name,
        };
        for client_id in targets {
            let Some(knock) = self.queue.get_mut(&client_id) else {
                continue;
            };
            match knock.conn {
                Some(knocker) => out.send(knocker, kept.clone().event()),
                None => knock.unread = Some(kept.clone()),
            }
        }
    }

    /// Not a verdict: the knock stays queued with the host's message and name.
    fn hold(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        by: Decider,
        client_id: &ClientId,
        message: Option<String>,
    ) {
        let host = self.decider_view(by);
        let host_name = host.as_ref().map(|h| h.display_name.clone());
        let timeout = self.config.knock_timeout;
        let Some(knock) = self.queue.get_mut(client_id) else {
            return;
        };
        knock.hold = Some(Hold {
            message: message.clone(),
            host_display_name: host_name.clone(),
        });
        let identity = knock.identity.clone();
        let knocker = knock.conn;
        // A hold is an answer: the time-out starts again from it.
        if let Some(timeout) = timeout {
            self.deadlines
                .set(Timer::KnockTimeout(client_id.clone()), now + timeout);
        }
        if let Some(knocker) = knocker {
            out.send(
                knocker,
                Event::Verdict(Verdict {
                    resolution: Resolution::Held,
                    message: message.clone(),
                    host_display_name: host_name,
                    room_key: None,
                    retry_after_seconds: None,
                }),
            );
        }
        out.send_many(
            self.conns.hosts(),
            Event::Resolved(ResolvedKnock {
                client_id: client_id.clone(),
                resolution: Resolution::Held,
                message: message.clone(),
                handled_by: host,
            }),
        );
        self.verdict_fact(
            out,
            now,
            FactKind::KnockHeld,
            (client_id, &identity),
            message,
            by,
        );
    }
}
