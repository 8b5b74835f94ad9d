//! What people may type: display names (Whereby's rules), a host's message to a knocker, chat, and
//! the integrator's `externalId` and `metadata`. Checked once, where text enters the server.

/// Whereby's display-name rule: at most this many characters...
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;
/// ...and none of these.
pub const DISPLAY_NAME_FORBIDDEN: &str = "$!<>:;";
pub const EXTERNAL_ID_MAX_CHARS: usize = 256;
pub const METADATA_MAX_CHARS: usize = 4096;
/// A host's hold or reject message.
pub const MESSAGE_MAX_CHARS: usize = 1000;
pub const CHAT_MAX_CHARS: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error(
        "displayName may not contain {0:?} (nor any of {forbidden} or control characters)",
        forbidden = DISPLAY_NAME_FORBIDDEN
    )]
    ForbiddenCharacter(char),
    #[error("text must be 1 to {max} characters", max = CHAT_MAX_CHARS)]
    ChatLength,
}

/// Checks a display name against Whereby's rules; an absent or blank one becomes "Guest".
pub fn display_name(raw: Option<&str>) -> Result<String, TextError> {
    let name = raw.map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Ok("Guest".to_owned());
    }
    if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(TextError::TooLong {
            field: "displayName",
            max: DISPLAY_NAME_MAX_CHARS,
        });
    }
    if let Some(bad) = name
        .chars()
        .find(|c| DISPLAY_NAME_FORBIDDEN.contains(*c) || c.is_control())
    {
        return Err(TextError::ForbiddenCharacter(bad));
    }
    Ok(name.to_owned())
}

/// A host's free-text message (hold or reject): trimmed, bounded, empty means none.
pub fn host_message(raw: Option<&str>) -> Result<Option<String>, TextError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MESSAGE_MAX_CHARS {
        return Err(TextError::TooLong {
            field: "message",
            max: MESSAGE_MAX_CHARS,
        });
    }
    Ok(Some(text.to_owned()))
}

/// A chat message: trimmed, 1 to 4,000 characters.
pub fn chat(raw: &str) -> Result<String, TextError> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > CHAT_MAX_CHARS {
        return Err(TextError::ChatLength);
    }
    Ok(text.to_owned())
}

/// An optional field kept as given, refused when longer than `max` characters.
pub fn bounded(
    value: Option<String>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, TextError> {
    match value {
        Some(v) if v.chars().count() > max => Err(TextError::TooLong { field, max }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_follow_wherebys_rules() {
        assert_eq!(display_name(Some("  Ann  ")).unwrap(), "Ann");
        assert_eq!(display_name(None).unwrap(), "Guest");
        assert!(display_name(Some("<img src=x onerror=alert(1)>")).is_err());
        assert_eq!(
            display_name(Some(&"x".repeat(101)))
                .unwrap_err()
                .to_string(),
            "displayName is longer than 100 characters"
        );
        assert!(display_name(Some(&"é".repeat(100))).is_ok());
        assert_eq!(
            display_name(Some("a\u{0}b")).unwrap_err().to_string(),
            "displayName may not contain '\\0' (nor any of $!<>:; or control characters)"
        );
    }

    #[test]
    fn messages_and_chat_are_bounded() {
        assert_eq!(host_message(Some("  ")).unwrap(), None);
        assert_eq!(
            host_message(Some(&"m".repeat(1001)))
                .unwrap_err()
                .to_string(),
            "message is longer than 1000 characters"
        );
        assert_eq!(chat(" hi ").unwrap(), "hi");
        assert_eq!(
            chat("").unwrap_err().to_string(),
            "text must be 1 to 4000 characters"
        );
        assert_eq!(
            bounded(Some("abc".into()), "externalId", 2)
                .unwrap_err()
                .to_string(),
            "externalId is longer than 2 characters"
        );
    }
}
