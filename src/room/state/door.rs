//! The door: knocking, cancelling, and a host's verdicts. Each knock is decided once; a hold is not a
//! verdict (the knock stays queued with the host's message); every host hears every change.

use chrono::{DateTime, Utc};

use super::connections::Place;
use super::deadlines::Timer;
use super::queue::{Hold, Knock};
use super::{AwayVerdict, MintGrant, Out, Room};
use crate::meeting::facts::FactKind;
use crate::room::event::{Event, RefusalCode, ResolvedKnock, Verdict};
use crate::room::model::{
    ClientId, ConnId, KnockAction, KnockTarget, LeaveReason, Request, Resolution, Role,
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
        if let Some(until) = self.deadlines.get(&Timer::Cooldown(knocker.peer))
            && until > now
        {
            let seconds = (until - now).num_seconds().max(1);
            out.refuse(
                conn,
                RefusalCode::KnockCooldown,
                format!("a host turned this knock away; you may knock again in {seconds} s"),
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
        let knock = Knock {
            client_id: knocker.client_id.clone(),
            conn: Some(conn),
            away_since: None,
            identity: knocker.identity.clone(),
            peer: knocker.peer,
            resume_token: knocker.resume_token.clone(),
            knocked_at: now,
            hold: None,
        };
        let (view, client_id, identity) = (
            knock.view(),
            knock.client_id.clone(),
            knock.identity.clone(),
        );
        self.queue.push(knock);
        out.send(
            conn,
            Event::KnockSent {
                client_id: client_id.clone(),
            },
        );
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
        let Some(knock) = self.queue.remove(client_id) else {
            return;
        };
        self.deadlines.cancel(&Timer::KnockAway(client_id.clone()));
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
        self.fact(
            out,
            now,
            FactKind::KnockCancelled,
            Some((&knock.client_id, None, &knock.identity)),
            None,
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_knock(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        target: KnockTarget,
        action: KnockAction,
        message: Option<String>,
        grant: MintGrant,
    ) {
        if !self.require_host(out, conn, Request::HandleKnock) {
            return;
        }
        let targets: Vec<ClientId> = match target {
            KnockTarget::All => self.queue.client_ids(),
            KnockTarget::One(id) => {
                if !self.queue.contains(&id) {
                    out.refuse(
                        conn,
                        RefusalCode::KnockNotFound,
                        format!("no knock from {id} is waiting: it was decided already, cancelled, or never made"),
                        Request::HandleKnock,
                    );
                    return;
                }
                vec![id]
            }
        };
        for client_id in targets {
            match action {
                KnockAction::Accept => {
                    if !self
                        .seats
                        .fits(Role::GrantedVisitor, self.occupancy(), None)
                    {
                        out.refuse(
                            conn,
                            RefusalCode::RoomFull,
                            format!("the room is full; {client_id} stays waiting"),
                            Request::HandleKnock,
                        );
                        return;
                    }
                    let verdict = (Resolution::Accepted, message.clone());
                    self.decide(out, now, conn, &client_id, verdict, grant);
                }
                KnockAction::Reject => {
                    let verdict = (Resolution::Rejected, message.clone());
                    self.decide(out, now, conn, &client_id, verdict, grant);
                }
                KnockAction::Hold => self.hold(out, now, conn, &client_id, message.clone()),
            }
        }
    }

    /// A final verdict: the knock leaves the queue, its knocker hears it, every host hears it.
    fn decide(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        host_conn: ConnId,
        client_id: &ClientId,
        (resolution, message): (Resolution, Option<String>),
        grant: MintGrant,
    ) {
        let Some(knock) = self.queue.remove(client_id) else {
            return;
        };
        self.deadlines.cancel(&Timer::KnockAway(client_id.clone()));
        let host = self.conns.client_view(host_conn);
        if resolution == Resolution::Accepted {
            self.hold_seat(client_id, now);
        }
        let retry_after = (resolution == Resolution::Rejected).then(|| {
            let cooldown = self.config.reject_cooldown;
            self.deadlines
                .set(Timer::Cooldown(knock.peer), now + cooldown);
            cooldown.num_seconds().max(0) as u64
        });
        let verdict = Event::Verdict(Verdict {
            resolution,
            message: message.clone(),
            host_display_name: host.as_ref().map(|h| h.display_name.clone()),
            room_key: (resolution == Resolution::Accepted).then(|| grant(client_id)),
            retry_after_seconds: retry_after,
        });
        match knock.conn {
            Some(knocker) => {
                if let Some(c) = self.conns.get_mut(knocker) {
                    c.place = Place::Outside;
                }
                out.send(knocker, verdict);
            }
            None => {
                let expires_at = knock.away_since.unwrap_or(now) + self.config.resume_grace;
                let token = knock.resume_token.clone();
                self.deadlines
                    .set(Timer::AwayVerdict(token.clone()), expires_at);
                self.away_verdicts.insert(
                    token,
                    AwayVerdict {
                        client_id: knock.client_id.clone(),
                        identity: knock.identity.clone(),
                        event: verdict,
                    },
                );
            }
        }
        if let Some(host) = host {
            out.send_many(
                self.conns.hosts(),
                Event::Resolved(ResolvedKnock {
                    client_id: client_id.clone(),
                    resolution,
                    message: message.clone(),
                    handled_by: host,
                }),
            );
        }
        let kind = match resolution {
            Resolution::Accepted => FactKind::KnockAccepted,
            Resolution::Rejected => FactKind::KnockRejected,
            Resolution::Held => FactKind::KnockHeld,
        };
        self.fact(
            out,
            now,
            kind,
            Some((client_id, None, &knock.identity)),
            message,
        );
    }

    /// Not a verdict: the knock stays queued with the host's message and name.
    fn hold(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        host_conn: ConnId,
        client_id: &ClientId,
        message: Option<String>,
    ) {
        let Some(host) = self.conns.client_view(host_conn) else {
            return;
        };
        let Some(knock) = self.queue.get_mut(client_id) else {
            return;
        };
        knock.hold = Some(Hold {
            message: message.clone(),
            host_display_name: host.display_name.clone(),
        });
        let identity = knock.identity.clone();
        if let Some(knocker) = knock.conn {
            out.send(
                knocker,
                Event::Verdict(Verdict {
                    resolution: Resolution::Held,
                    message: message.clone(),
                    host_display_name: Some(host.display_name.clone()),
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
        self.fact(
            out,
            now,
            FactKind::KnockHeld,
            Some((client_id, None, &identity)),
            message,
        );
    }
}
