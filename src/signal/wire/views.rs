//! The payloads of the server's frames, borrowing from the room's events; each field's wire name is
//! spelled by serde from these structs.

use serde::Serialize;

use crate::meeting::facts::DecidedBy;
use crate::room::event::{ClientView, KnockView, OwnKnock, ResolvedKnock, RoomView, Verdict};
use crate::room::model::{
    Background, ClientId, Colors, EndReason, KnockPage, KnockState, LeaveReason, RecordingNow,
    Resolution, Theme,
};

#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum RoomJoined<'a> {
    #[serde(rename_all = "camelCase")]
    Joined {
        self_id: &'a str,
        role: &'static str,
        resume_token: &'a str,
        room: RoomViewWire<'a>,
        theme: ThemeWire<'a>,
        /// Hosts only: the knock queue, oldest first.
        #[serde(skip_serializing_if = "Option::is_none")]
        knockers: Option<Vec<KnockWire<'a>>>,
        /// The server's clock (milliseconds since 1970), for reading the times it sends (a
        /// knock's `knockedAt`, a recording's `startedAt`) against a browser's clock that is off.
        server_time: i64,
    },
    /// `error: room_locked`: only what a knocker may see.
    #[serde(rename_all = "camelCase")]
    Locked {
        error: &'static str,
        self_id: &'a str,
        is_locked: bool,
        resume_token: &'a str,
        display_name_rules: DisplayNameRules,
        knock_page: KnockPageWire<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        knock: Option<OwnKnockWire<'a>>,
        /// After a rejection: seconds before this person may knock again.
        #[serde(skip_serializing_if = "Option::is_none")]
        knock_cooldown_seconds: Option<u64>,
        /// Whether a host is in the room to see a knock (`door_changed` tells of changes).
        host_present: bool,
        /// Whether a host's browser is recording the call.
        is_recording: bool,
    },
    #[serde(rename_all = "camelCase")]
    Full { error: &'static str },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DisplayNameRules {
    pub max_length: usize,
    pub forbidden_characters: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoomViewWire<'a> {
    room_name: &'a str,
    mode: &'static str,
    is_locked: bool,
    /// Always present: the first in the spotlight, `null` when nobody is (as clients of before
    /// several could be read it).
    spotlight: Option<&'a str>,
    /// Everyone in the spotlight, in the order put there.
    spotlights: Vec<&'a str>,
    /// Whereby's `recording.type` of the meeting: `local` lets a host's browser record the call.
    recording_type: &'static str,
    /// A host's browser recording the call, `null` when none is.
    recording: Option<RecordingWire<'a>>,
    /// The hands up, oldest first.
    hands: Vec<HandWire<'a>>,
    capacity: CapacityWire,
    clients: Vec<ClientWire<'a>>,
    /// When the room closes for everyone (`room_ended`, `meeting_expired`), in milliseconds since
    /// the epoch: clients warn before it.
    closes_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RecordingWire<'a> {
    client_id: &'a str,
    /// Milliseconds since the epoch.
    started_at: i64,
}

impl<'a> RecordingWire<'a> {
    pub(super) fn of(recording: &'a RecordingNow) -> Self {
        RecordingWire {
            client_id: recording.by.as_str(),
            started_at: recording.started_at.timestamp_millis(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HandWire<'a> {
    client_id: &'a str,
    /// Milliseconds since the epoch.
    raised_at: i64,
}

/// How many may be in the room: participants (who send media), and everyone with viewers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CapacityWire {
    participants: usize,
    total: usize,
}

impl<'a> RoomViewWire<'a> {
    pub(super) fn of(room: &'a RoomView) -> Self {
        RoomViewWire {
            room_name: room.room_name.as_str(),
            mode: room.mode.as_str(),
            is_locked: room.is_locked,
            spotlight: room.spotlights.first().map(ClientId::as_str),
            spotlights: room.spotlights.iter().map(ClientId::as_str).collect(),
            recording_type: room.recording_kind.as_str(),
            recording: room.recording.as_ref().map(RecordingWire::of),
            hands: room
                .hands
                .iter()
                .map(|(client, at)| HandWire {
                    client_id: client.as_str(),
                    raised_at: at.timestamp_millis(),
                })
                .collect(),
            capacity: CapacityWire {
                participants: room.capacity.participants,
                total: room.capacity.total,
            },
            clients: room.clients.iter().map(ClientWire::of).collect(),
            closes_at: room.closes_at.timestamp_millis(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ClientWire<'a> {
    id: &'a str,
    display_name: &'a str,
    role: &'static str,
    /// Whether their microphone, camera and screen share are on, for tiles to show.
    audio: bool,
    video: bool,
    screen: bool,
    /// Its connection dropped; it may come back as itself (only said when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    away: bool,
    /// Hosts only (the room leaves them out of others' views): what the integrator passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar_url: Option<&'a str>,
}

impl<'a> ClientWire<'a> {
    pub(super) fn of(client: &'a ClientView) -> Self {
        ClientWire {
            id: client.id.as_str(),
            display_name: &client.display_name,
            role: client.role.as_str(),
            audio: client.media.audio,
            video: client.media.video,
            screen: client.media.screen,
            away: client.away,
            external_id: client.external_id.as_deref(),
            metadata: client.metadata.as_deref(),
            avatar_url: client.avatar_url.as_deref(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KnockWire<'a> {
    client_id: &'a str,
    display_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar_url: Option<&'a str>,
    /// Milliseconds since the Unix epoch.
    knocked_at: i64,
    state: StateWire,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold_message: Option<&'a str>,
    /// Where the knock stands in line: 1 is next.
    position: usize,
    /// The knocker's connection dropped (only said when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    away: bool,
}

impl<'a> KnockWire<'a> {
    pub(super) fn of(knock: &'a KnockView) -> Self {
        KnockWire {
            client_id: knock.client_id.as_str(),
            display_name: &knock.display_name,
            external_id: knock.external_id.as_deref(),
            metadata: knock.metadata.as_deref(),
            avatar_url: knock.avatar_url.as_deref(),
            knocked_at: knock.knocked_at.timestamp_millis(),
            state: knock.state.into(),
            hold_message: knock.hold_message.as_deref(),
            position: knock.position,
            away: knock.away,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OwnKnockWire<'a> {
    state: StateWire,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_display_name: Option<&'a str>,
}

impl<'a> OwnKnockWire<'a> {
    pub(super) fn of(knock: &'a OwnKnock) -> Self {
        OwnKnockWire {
            state: knock.state.into(),
            message: knock.message.as_deref(),
            host_display_name: knock.host_display_name.as_deref(),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum KnockHandled<'a> {
    /// To the knocker: its verdict.
    #[serde(rename_all = "camelCase")]
    Verdict {
        resolution: ResolutionWire,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        host_display_name: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        room_key: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_seconds: Option<u64>,
    },
    /// To every host: how a knock was decided, and by whom (a host, or the REST API).
    #[serde(rename_all = "camelCase")]
    Resolution {
        client_id: &'a str,
        resolution: ResolutionWire,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        handled_by: Option<ClientWire<'a>>,
        /// `host` or `api`, as webhooks say it.
        decided_by: &'static str,
    },
}

impl<'a> KnockHandled<'a> {
    pub(super) fn verdict(verdict: &'a Verdict) -> Self {
        KnockHandled::Verdict {
            resolution: verdict.resolution.into(),
            message: verdict.message.as_deref(),
            host_display_name: verdict.host_display_name.as_deref(),
            room_key: verdict.room_key.as_deref(),
            retry_after_seconds: verdict.retry_after_seconds,
        }
    }

    pub(super) fn resolved(resolved: &'a ResolvedKnock) -> Self {
        KnockHandled::Resolution {
            client_id: resolved.client_id.as_str(),
            resolution: resolved.resolution.into(),
            message: resolved.message.as_deref(),
            handled_by: resolved.handled_by.as_ref().map(ClientWire::of),
            decided_by: match resolved.handled_by {
                Some(_) => DecidedBy::Host,
                None => DecidedBy::Api,
            }
            .as_str(),
        }
    }
}

/// The knock page: only what is set is sent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KnockPageWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    background_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    background_preset: Option<PresetWire<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    colors: Option<ColorsWire<'a>>,
}

impl<'a> KnockPageWire<'a> {
    pub(super) fn of(page: &'a KnockPage) -> Self {
        KnockPageWire {
            background_url: page.background.image_url.as_deref(),
            background_preset: PresetWire::of(&page.background),
            logo_url: page.logo_url.as_deref(),
            colors: ColorsWire::of(&page.colors),
        }
    }
}

/// The room's whole look: only what is set is sent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ThemeWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_background_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_background_preset: Option<PresetWire<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    knock_page_background_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    knock_page_background_preset: Option<PresetWire<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    colors: Option<ColorsWire<'a>>,
}

impl<'a> ThemeWire<'a> {
    pub(super) fn of(theme: &'a Theme) -> Self {
        ThemeWire {
            logo_url: theme.logo_url.as_deref(),
            room_background_url: theme.room_background.image_url.as_deref(),
            room_background_preset: PresetWire::of(&theme.room_background),
            knock_page_background_url: theme.knock_page_background.image_url.as_deref(),
            knock_page_background_preset: PresetWire::of(&theme.knock_page_background),
            colors: ColorsWire::of(&theme.colors),
        }
    }
}

/// `{palette?, theme?}` with Whereby's names.
#[derive(Serialize)]
pub(super) struct PresetWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    palette: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    theme: Option<&'a str>,
}

impl<'a> PresetWire<'a> {
    pub(super) fn of(background: &'a Background) -> Option<Self> {
        background.preset.as_ref().map(|p| PresetWire {
            palette: p.palette.as_deref(),
            theme: p.theme.as_deref(),
        })
    }
}

/// `#rrggbb` colours, in the (alphabetical) order they have always been sent in.
#[derive(Serialize)]
pub(super) struct ColorsWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    focus: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secondary: Option<&'a str>,
}

impl<'a> ColorsWire<'a> {
    pub(super) fn of(colors: &'a Colors) -> Option<Self> {
        (!colors.is_empty()).then_some(ColorsWire {
            focus: colors.focus.as_deref(),
            primary: colors.primary.as_deref(),
            secondary: colors.secondary.as_deref(),
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum StateWire {
    Waiting,
    Held,
}

impl From<KnockState> for StateWire {
    fn from(state: KnockState) -> Self {
        match state {
            KnockState::Waiting => StateWire::Waiting,
            KnockState::Held => StateWire::Held,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ResolutionWire {
    Accepted,
    Held,
    Rejected,
}

impl From<Resolution> for ResolutionWire {
    fn from(resolution: Resolution) -> Self {
        match resolution {
            Resolution::Accepted => ResolutionWire::Accepted,
            Resolution::Held => ResolutionWire::Held,
            Resolution::Rejected => ResolutionWire::Rejected,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum LeaveWire {
    Left,
    Disconnected,
    Kicked,
    Cancelled,
    Entered,
    Replaced,
    SentToWaitingRoom,
    Expired,
}

impl From<LeaveReason> for LeaveWire {
    fn from(reason: LeaveReason) -> Self {
        match reason {
            LeaveReason::Left => LeaveWire::Left,
            LeaveReason::Disconnected => LeaveWire::Disconnected,
            LeaveReason::Kicked => LeaveWire::Kicked,
            LeaveReason::Cancelled => LeaveWire::Cancelled,
            LeaveReason::Entered => LeaveWire::Entered,
            LeaveReason::Replaced => LeaveWire::Replaced,
            LeaveReason::SentToWaitingRoom => LeaveWire::SentToWaitingRoom,
            LeaveReason::Expired => LeaveWire::Expired,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum EndWire {
    EndedByHost,
    MeetingDeleted,
    MeetingExpired,
    ServerShutdown,
}

impl From<EndReason> for EndWire {
    fn from(reason: EndReason) -> Self {
        match reason {
            EndReason::EndedByHost => EndWire::EndedByHost,
            EndReason::MeetingDeleted => EndWire::MeetingDeleted,
            EndReason::MeetingExpired => EndWire::MeetingExpired,
            EndReason::ServerShutdown => EndWire::ServerShutdown,
        }
    }
}
