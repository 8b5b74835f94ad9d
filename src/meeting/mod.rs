//! The kernel every layer may name: the meeting (what the REST API creates, the store keeps and a
//! live room is opened for), who takes part in it (`client`), what people may type (`text`), whose
//! pictures a room may show (`avatar`) and the record of what happened in its room (`facts`).
//! Newtypes here are validated once, at the boundary, so the rest of the code never sees raw
//! strings.

pub mod avatar;
pub mod client;
pub mod facts;
pub mod network;
pub mod text;

use std::fmt;

pub use client::{ClientId, Role};

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Opaque numeric meeting id (a string on the wire, as in Whereby's API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MeetingId(pub i64);

impl MeetingId {
    /// Parses the wire form; anything that is not a positive decimal number names no meeting.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.is_empty() || raw.len() > 18 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        raw.parse().ok().filter(|id| *id > 0).map(MeetingId)
    }
}

impl fmt::Display for MeetingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A room name in its canonical form: a leading `/` then lower-case letters, digits and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName(String);

pub const ROOM_NAME_MAX_LEN: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomNameError {
    #[error("room name is empty")]
    Empty,
    #[error("room name is longer than {max} characters", max = ROOM_NAME_MAX_LEN)]
    TooLong,
    #[error("room name may only hold a-z, 0-9 and '-'")]
    BadCharacter,
}

impl RoomName {
    /// Accepts a name with or without its leading slash (also `//`, as clients send them), any case.
    pub fn parse(raw: &str) -> Result<Self, RoomNameError> {
        let bare = raw.trim().trim_start_matches('/').to_ascii_lowercase();
        if bare.is_empty() {
            return Err(RoomNameError::Empty);
        }
        if bare.len() > ROOM_NAME_MAX_LEN {
            return Err(RoomNameError::TooLong);
        }
        if !bare.bytes().all(is_room_name_byte) {
            return Err(RoomNameError::BadCharacter);
        }
        Ok(RoomName(format!("/{bare}")))
    }

    /// The name with its leading slash, as the API shows it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without its leading slash, as it appears in a room URL's path.
    pub fn path_segment(&self) -> &str {
        &self.0[1..]
    }
}

impl TryFrom<String> for RoomName {
    type Error = RoomNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RoomName::parse(&value)
    }
}

impl From<RoomName> for String {
    fn from(value: RoomName) -> Self {
        value.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn is_room_name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(serialize_all = "lowercase")]
pub enum RoomMode {
    Normal,
    Group,
}

impl RoomMode {
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How a meeting may be recorded (Whereby's `recording.type`). anteroom records nothing itself:
/// `Local` lets a host's browser record the call to their own device; `Cloud` is kept as asked
/// but records nothing (there is no cloud here), as `None`.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(serialize_all = "lowercase")]
pub enum RecordingKind {
    #[default]
    None,
    Local,
    Cloud,
}

impl RecordingKind {
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::VariantNames)]
#[strum(serialize_all = "kebab-case")]
pub enum RoomNamePattern {
    Uuid,
    HumanShort,
}

impl RoomNamePattern {
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    /// A fresh random room name with the given (already validated) prefix.
    pub fn generate(self, prefix: &str) -> RoomName {
        // Letters and digits that cannot be mistaken for one another when read aloud or copied by hand.
        const HUMAN_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
        let random = match self {
            RoomNamePattern::Uuid => uuid::Uuid::new_v4().hyphenated().to_string(),
            RoomNamePattern::HumanShort => {
                let mut rng = rand::rng();
                (0..6)
                    .map(|_| HUMAN_ALPHABET[rng.random_range(0..HUMAN_ALPHABET.len())] as char)
                    .collect()
            }
        };
        RoomName(format!("/{prefix}{random}"))
    }
}

/// Everything the store needs to create a meeting.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub room_name: RoomName,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
    pub room_mode: RoomMode,
    pub is_locked: bool,
    pub viewer_mode: bool,
    pub recording: RecordingKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    pub id: MeetingId,
    pub room_name: RoomName,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
    pub room_mode: RoomMode,
    pub is_locked: bool,
    pub viewer_mode: bool,
    pub recording: RecordingKind,
}

impl Meeting {
    /// Host privileges hold from creation until an hour after the end date.
    pub fn host_key_expiry(&self) -> DateTime<Utc> {
        self.end_date + chrono::Duration::hours(1)
    }

    /// The room may be entered until an hour after the end date (Whereby's rule for transient rooms).
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        now <= self.host_key_expiry()
    }
}

/// UTC with milliseconds, as every date leaves the API: `2026-11-24T15:00:00.000Z`.
pub fn format_date(date: DateTime<Utc>) -> String {
    date.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_canonicalised() {
        for raw in ["abc-1", "/abc-1", "//abc-1", "/ABC-1", " abc-1 "] {
            assert_eq!(RoomName::parse(raw).unwrap().as_str(), "/abc-1");
        }
        for bad in ["", "/", "a b", "a/b", "é", "a_b", &"x".repeat(101)] {
            assert!(RoomName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn generated_names_follow_their_pattern() {
        let uuid = RoomNamePattern::Uuid.generate("pre-");
        assert_eq!(uuid.as_str().len(), 1 + 4 + 36);
        assert!(uuid.as_str().starts_with("/pre-"));
        let short = RoomNamePattern::HumanShort.generate("");
        assert_eq!(short.path_segment().len(), 6);
        assert!(RoomName::parse(short.as_str()).is_ok());
    }

    #[test]
    fn meeting_ids_are_positive_decimals() {
        assert_eq!(MeetingId::parse("42"), Some(MeetingId(42)));
        for bad in ["", "0", "-1", "1e3", "abc", "99999999999999999999"] {
            assert_eq!(MeetingId::parse(bad), None, "{bad:?}");
        }
    }
}
