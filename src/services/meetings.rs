//! Meetings: creating one under a freshly drawn room name, reading, listing, deleting (which ends its
//! live room), and the links people open. The REST API and the command line both come through here.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::rooms::Rooms;
use crate::meeting::{Meeting, MeetingId, NewMeeting, RecordingKind, RoomMode, RoomNamePattern};
use crate::room::model::EndReason;
use crate::store::{DynStore, MeetingQuery, StoreError};
use crate::tokens::{KeyRole, TokenSigner};

/// Fresh random names collide almost never; a few draws make a collision invisible to the client.
const NAME_ATTEMPTS: usize = 5;

/// Which optional links a meeting is shown with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fields {
    pub host_room_url: bool,
    pub viewer_room_url: bool,
}

/// A validated request to create a meeting.
#[derive(Debug, Clone)]
pub struct MeetingSpec {
    pub end_date: DateTime<Utc>,
    pub is_locked: bool,
    pub room_mode: RoomMode,
    /// Already normalised.
    pub prefix: String,
    pub pattern: RoomNamePattern,
    pub viewer_mode: bool,
    pub recording: RecordingKind,
    pub fields: Fields,
}

/// The URLs people open: the room, and (when asked for) the room with a host's or a viewer's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingLinks {
    pub room_url: String,
    pub host_room_url: Option<String>,
    pub viewer_room_url: Option<String>,
}

#[derive(Clone)]
pub struct Meetings {
    store: DynStore,
    tokens: TokenSigner,
    /// Public base URL without a trailing slash.
    public_url: Arc<str>,
    rooms: Rooms,
}

impl Meetings {
    pub fn new(store: DynStore, tokens: TokenSigner, public_url: Arc<str>, rooms: Rooms) -> Self {
        Meetings {
            store,
            tokens,
            public_url,
            rooms,
        }
    }

    /// Stores a meeting under a freshly drawn room name.
    pub async fn create(
        &self,
        spec: &MeetingSpec,
        now: DateTime<Utc>,
    ) -> Result<Meeting, StoreError> {
        let mut attempt = 0;
        let meeting = loop {
            attempt += 1;
            let new = NewMeeting {
                room_name: spec.pattern.generate(&spec.prefix),
                start_date: now,
                end_date: spec.end_date,
                room_mode: spec.room_mode,
                is_locked: spec.is_locked,
                viewer_mode: spec.viewer_mode,
                recording: spec.recording,
            };
            match self.store.create_meeting(new).await {
                Ok(meeting) => break meeting,
                Err(StoreError::RoomNameTaken(name)) if attempt < NAME_ATTEMPTS => {
                    tracing::debug!(%name, "generated room name was taken; drawing another");
                }
                Err(err) => return Err(err),
            }
        };
        tracing::info!(meeting_id = %meeting.id, room = %meeting.room_name, "meeting created");
        Ok(meeting)
    }

    /// A meeting that exists and is not deleted.
    pub async fn get(&self, id: MeetingId) -> Result<Option<Meeting>, StoreError> {
        self.store.get_meeting(id).await
    }

    pub async fn list(&self, query: &MeetingQuery) -> Result<Vec<Meeting>, StoreError> {
        self.store.list_meetings(query).await
    }

    /// Deletes a meeting; its live room, if any, ends for everyone. Deleting twice is harmless.
    pub async fn delete(&self, id: MeetingId, now: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(meeting) = self.store.delete_meeting(id, now).await? {
            tracing::info!(meeting_id = %meeting.id, room = %meeting.room_name, "meeting deleted");
            self.rooms
                .end(&meeting.room_name, EndReason::MeetingDeleted)
                .await;
        }
        Ok(())
    }

    /// A viewer-mode meeting always carries both keyed links, as Whereby's template promises.
    pub fn links(&self, meeting: &Meeting, fields: Fields) -> MeetingLinks {
        let room_url = format!("{}/{}", self.public_url, meeting.room_name.path_segment());
        let keyed = |role: KeyRole, wanted: bool| {
            (wanted || meeting.viewer_mode)
                .then(|| format!("{room_url}?roomKey={}", self.tokens.room_key(meeting, role)))
        };
        MeetingLinks {
            host_room_url: keyed(KeyRole::Host, fields.host_room_url),
            viewer_room_url: keyed(KeyRole::Viewer, fields.viewer_room_url),
            room_url,
        }
    }
}
