//! Local recording (Whereby's `recording.type: "local"`): a host's browser records the call to
//! their own device. The room does not see the recording; it keeps who is recording so that
//! everyone in the room is told, from the start and on entering (their consent depends on it),
//! and people at the door that it is recorded (door_view.rs).
//! One host records at a time; any host may stop it; it stops when its host leaves the room (not
//! while their connection is away: their browser may still be recording).

use chrono::{DateTime, Utc};

use super::{Out, Room};
use crate::meeting::RecordingKind;
use crate::meeting::facts::FactKind;
use crate::room::event::{Event, RefusalCode};
use crate::room::model::{ClientId, ConnId, RecordingNow, Request, Role};

impl Room {
    /// A host starts (`on`) or stops the recording.
    pub(super) fn set_recording(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        on: bool,
    ) {
        let request = if on {
            Request::StartRecording
        } else {
            Request::StopRecording
        };
        let Some(by) = self.acting_host(out, conn, request) else {
            return;
        };
        if !on {
            if let Some(stopped) = self.recording.take() {
                self.announce_recording(out, Some(by));
                self.recording_fact(out, now, FactKind::RecordingStopped, &stopped);
            }
            return;
        }
        if self.config.recording != RecordingKind::Local {
            out.refuse(
                conn,
                RefusalCode::RecordingUnavailable,
                "this meeting may not be recorded (its recording type is not \"local\")",
                request,
            );
            return;
        }
        match &self.recording {
            Some(current) if current.by == by => {}
            Some(current) => out.refuse(
                conn,
                RefusalCode::RecordingUnavailable,
                format!("{} is recording already", current.by),
                request,
            ),
            None => {
                let recording = RecordingNow {
                    // The acting host is connected here: `acting_host` found them.
                    identity: self
                        .conns
                        .get(conn)
                        .map(|c| c.identity.clone())
                        .unwrap_or_default(),
                    by: by.clone(),
                    started_at: now,
                };
                self.recording_fact(out, now, FactKind::RecordingStarted, &recording);
                self.recording = Some(recording);
                self.announce_recording(out, Some(by));
            }
        }
    }

    /// After every step: a recording whose host is no longer in the room (or no longer a host
    /// there: their client entered again in another role) has stopped.
    pub(super) fn settle_recording(&mut self, out: &mut Out, now: DateTime<Utc>) {
        let gone = self
            .recording
            .as_ref()
            .is_some_and(|recording| self.role_in_room(&recording.by) != Some(Role::Host));
        if gone && let Some(stopped) = self.recording.take() {
            self.announce_recording(out, None);
            self.recording_fact(out, now, FactKind::RecordingStopped, &stopped);
        }
    }

    /// The recording's start or end, for webhooks: whose it is (the host may have left by its end).
    pub(super) fn recording_fact(
        &self,
        out: &mut Out,
        now: DateTime<Utc>,
        kind: FactKind,
        recording: &RecordingNow,
    ) {
        self.fact(
            out,
            now,
            kind,
            Some((&recording.by, Some(Role::Host), &recording.identity)),
            None,
        );
    }

    pub(super) fn recording(&self) -> Option<&RecordingNow> {
        self.recording.as_ref()
    }

    fn announce_recording(&self, out: &mut Out, by: Option<ClientId>) {
        let event = Event::RecordingChanged {
            recording: self.recording.clone(),
            by,
        };
        out.send_many(self.conns.member_conns(), event);
    }
}
