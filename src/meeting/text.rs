//! What people may type: display names (Whereby's rules), a host's message to a knocker, chat, and
//! the integrator's `externalId`, `metadata` and `avatarUrl`. Checked once, where text enters the
//! server.

/// Whereby's display-name rule: at most this many characters...
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;
/// ...and none of these.
pub const DISPLAY_NAME_FORBIDDEN: &str = "$!<>:;";
pub const EXTERNAL_ID_MAX_CHARS: usize = 256;
pub const METADATA_MAX_CHARS: usize = 4096;
/// A host's hold or reject message.
pub const MESSAGE_MAX_CHARS: usize = 1000;
pub const CHAT_MAX_CHARS: usize = 4000;
pub const AVATAR_URL_MAX_CHARS: usize = 2048;

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
    /// Characters that change how text around them reads (right-to-left overrides) or hide text
    /// (tag characters): a name could pass for another.
    #[error("displayName may not contain the invisible character U+{0:04X}")]
    InvisibleCharacter(u32),
    #[error("avatarUrl {0}")]
    AvatarUrl(&'static str),
    /// No text may hold U+0000: it ends a string in C, and PostgreSQL's text refuses it.
    #[error("{0} may not contain the NUL character (U+0000)")]
    Nul(&'static str),
}

/// Refuses a text holding U+0000.
fn without_nul<'a>(text: &'a str, field: &'static str) -> Result<&'a str, TextError> {
    if text.contains('\0') {
        return Err(TextError::Nul(field));
    }
    Ok(text)
}

/// Direction marks, embeddings, overrides and isolates: they can make a name read as another.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Tag characters (U+E0000 to U+E007F) draw nothing.
fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

/// Characters of no width that carry nothing in a name (a joiner is kept inside an emoji sequence).
fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}'
    )
}

/// Removes zero-width characters; a zero-width joiner stays only between two symbols (as in
/// 👩‍⚕️), never between letters or digits, where it would only make a name look like another.
fn without_zero_width(name: &str) -> String {
    let chars: Vec<char> = name.chars().filter(|c| !is_zero_width(*c)).collect();
    let mut kept = String::with_capacity(name.len());
    for (i, c) in chars.iter().enumerate() {
        if *c == '\u{200D}' {
            let symbol =
                |c: Option<&char>| c.is_some_and(|c| !c.is_alphanumeric() && !c.is_whitespace());
            if !(symbol(i.checked_sub(1).and_then(|j| chars.get(j))) && symbol(chars.get(i + 1))) {
                continue;
            }
        }
        kept.push(*c);
    }
    kept
}

/// Checks a display name against Whereby's rules, and against names that could pass for another
/// (direction overrides and tag characters are refused, zero-width characters dropped); an absent
/// or blank one becomes "Guest".
pub fn display_name(raw: Option<&str>) -> Result<String, TextError> {
    let raw = raw.unwrap_or("");
    if let Some(bad) = raw.chars().find(|c| is_direction_control(*c) || is_tag(*c)) {
        return Err(TextError::InvisibleCharacter(u32::from(bad)));
    }
    let cleaned = without_zero_width(raw);
    let name = cleaned.trim();
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

/// Text trimmed, `None` when empty, refused when longer than `max` characters.
fn trimmed<'a>(
    raw: Option<&'a str>,
    field: &'static str,
    max: usize,
) -> Result<Option<&'a str>, TextError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let text = without_nul(text, field)?;
    if text.chars().count() > max {
        return Err(TextError::TooLong { field, max });
    }
    Ok(Some(text))
}

/// A host's free-text message (hold or reject): trimmed, bounded, empty means none.
pub fn host_message(raw: Option<&str>) -> Result<Option<String>, TextError> {
    Ok(trimmed(raw, "message", MESSAGE_MAX_CHARS)?.map(str::to_owned))
}

/// A chat message: trimmed, 1 to 4,000 characters.
pub fn chat(raw: &str) -> Result<String, TextError> {
    let text = without_nul(raw.trim(), "text")?;
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
        Some(v) => {
            without_nul(&v, field)?;
            Ok(Some(v))
        }
        None => Ok(None),
    }
}

/// The picture others see for a person (Whereby's `avatarUrl`): an absolute https:// address, or
/// http:// on this machine (`localhost`, `127.0.0.1`), without a user name or password in it, as the
/// URL standard writes it; empty means none. Whether its origin may be shown is the operator's
/// word (`avatar.rs`).
pub fn avatar_url(raw: Option<&str>) -> Result<Option<String>, TextError> {
    let Some(text) = trimmed(raw, "avatarUrl", AVATAR_URL_MAX_CHARS)? else {
        return Ok(None);
    };
    let url =
        url::Url::parse(text).map_err(|_| TextError::AvatarUrl("is not an absolute address"))?;
    if !super::avatar::fetchable(&url) {
        return Err(TextError::AvatarUrl("must be an https:// address"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TextError::AvatarUrl(
            "may not carry a user name or password",
        ));
    }
    Ok(Some(url.into()))
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
    fn names_that_could_pass_for_another_are_refused_or_cleaned() {
        assert_eq!(
            display_name(Some("Dr \u{202E}htimS"))
                .unwrap_err()
                .to_string(),
            "displayName may not contain the invisible character U+202E"
        );
        assert!(display_name(Some("Ann\u{2066}x")).is_err());
        assert!(display_name(Some("Ann\u{E0041}")).is_err());
        assert_eq!(
            display_name(Some("Dr\u{200B} Lee\u{FEFF}")).unwrap(),
            "Dr Lee"
        );
        assert_eq!(display_name(Some("Le\u{200D}e")).unwrap(), "Lee");
        // A joiner inside an emoji sequence stays.
        assert_eq!(
            display_name(Some("Nurse 👩\u{200D}⚕")).unwrap(),
            "Nurse 👩\u{200D}⚕"
        );
        assert_eq!(display_name(Some("\u{200B}")).unwrap(), "Guest");
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

    #[test]
    fn no_text_holds_a_nul() {
        let said = |e: TextError| e.to_string();
        assert_eq!(
            said(host_message(Some("One\0 minute")).unwrap_err()),
            "message may not contain the NUL character (U+0000)"
        );
        assert_eq!(
            said(bounded(Some("m\u{0}1".into()), "metadata", 10).unwrap_err()),
            "metadata may not contain the NUL character (U+0000)"
        );
        assert_eq!(
            said(chat("a\0").unwrap_err()),
            "text may not contain the NUL character (U+0000)"
        );
        assert_eq!(
            bounded(Some("m\t1\n".into()), "metadata", 10).unwrap(),
            Some("m\t1\n".into())
        );
    }

    #[test]
    fn avatar_urls_are_https_or_this_machine() {
        assert_eq!(avatar_url(None).unwrap(), None);
        assert_eq!(avatar_url(Some("  ")).unwrap(), None);
        assert_eq!(
            avatar_url(Some(" https://cdn.example.com/a b.png ")).unwrap(),
            Some("https://cdn.example.com/a%20b.png".to_owned())
        );
        assert!(avatar_url(Some("http://127.0.0.1:8080/me.png")).is_ok());
        assert!(avatar_url(Some("http://localhost/me.png")).is_ok());
        for refused in [
            "http://cdn.example.com/me.png",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "/relative.png",
            "https://user:secret@cdn.example.com/me.png",
        ] {
            assert!(avatar_url(Some(refused)).is_err(), "{refused} is refused");
        }
        let long = format!(
            "https://cdn.example.com/{}",
            "a".repeat(AVATAR_URL_MAX_CHARS)
        );
        assert_eq!(
            avatar_url(Some(&long)).unwrap_err().to_string(),
            "avatarUrl is longer than 2048 characters"
        );
        assert_eq!(
            avatar_url(Some("ftp://x")).unwrap_err().to_string(),
            "avatarUrl must be an https:// address"
        );
    }
}
