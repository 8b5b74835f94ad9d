//! Room themes, all of their logic in one place: what a preset may say, what an uploaded image must
//! be, how the stored parts become the look a room shows (image parts as public URLs carrying their
//! version, so a new image is fetched at once), and where images are served.

use std::io::Cursor;
use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::meeting::RoomName;
use crate::room::model::{Background, BackgroundPreset, Colors, Theme};
use crate::store::{DynStore, StoreError, ThemeValue};
pub use crate::store::{ThemeImage, ThemeKind};

/// Whereby's limit for backgrounds ("max 600 kb"); we hold logos to the same.
pub const IMAGE_MAX_BYTES: usize = 600 * 1024;
/// Decoded images larger than this either way are refused, before anything is decoded: a small
/// file can describe a huge picture (an "image bomb").
pub const IMAGE_MAX_SIDE: u32 = 4096;
pub const IMAGE_MIN_SIDE: u32 = 16;
/// The most memory one decode may take (a 4096x4096 picture at 8 bytes a pixel fits).
const DECODE_MAX_BYTES: u64 = 136 * 1024 * 1024;
/// Decodes at once: each may take up to `DECODE_MAX_BYTES`; more uploads wait their turn.
static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

const PALETTES: &[&str] = &["default", "grey", "purple", "burgund"];
const BACKGROUND_THEMES: &[&str] = &["default", "mountains", "characters", "rocks"];
const COLOR_NAMES: &[&str] = &["primary", "secondary", "focus"];

/// A theme part set by JSON, as Whereby's API takes it. Values stay raw until checked, so that a
/// refusal can quote what was sent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresetRequest {
    #[serde(default)]
    pub theme: Option<Value>,
    #[serde(default)]
    pub palette: Option<Value>,
    #[serde(default)]
    pub tokens_preset: Option<Value>,
    #[serde(default)]
    pub tokens: Option<Value>,
}

/// A request to change one part of a room's theme.
#[derive(Debug)]
pub enum ThemeChange {
    /// An upload, not yet checked.
    Image(Vec<u8>),
    Preset(PresetRequest),
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("Could not find room")]
    RoomNotFound,
    #[error("tokens take JSON, not an upload")]
    TokensTakeJson,
    #[error("image must be a PNG or JPEG file (judged by its content)")]
    NotPngOrJpeg,
    #[error("{kind} image is {bytes} bytes; at most {max} bytes (600 kB)", max = IMAGE_MAX_BYTES)]
    ImageTooLarge { kind: &'static str, bytes: usize },
    #[error("image could not be decoded: {0}")]
    Undecodable(String),
    #[error(
        "image is too large to use: at most {side}x{side} pixels",
        side = IMAGE_MAX_SIDE
    )]
    TooLargeToDecode,
    #[error("image is {0}x{1} pixels; at least {min}x{min}", min = IMAGE_MIN_SIDE)]
    ImageTooSmall(u32, u32),
    #[error("{name} must be one of: {allowed}, not {got}", allowed = .allowed.join(", "))]
    NotOneOf {
        name: &'static str,
        allowed: &'static [&'static str],
        got: Value,
    },
    #[error(
        "send an image as multipart field \"image\", or {{\"theme\": \"default\"}} to reset the logo"
    )]
    LogoNeedsImage,
    #[error("send an image as multipart field \"image\", or JSON with palette and/or theme")]
    BackgroundNeedsImageOrPreset,
    #[error("tokens.colors must be an object of colours")]
    ColorsNotAnObject,
    #[error("tokens.colors.{0} is not a colour we know; use primary, secondary, focus")]
    UnknownColor(String),
    #[error("tokens.colors.{name} must be a colour like #1a2b3c, not {got}")]
    BadColor { name: String, got: Value },
    #[error("tokens.colors sets no colour")]
    NoColor,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Our fault: the image check could not run.
    #[error("the image check failed: {0}")]
    Internal(String),
}

#[derive(Clone)]
pub struct Themes {
    store: DynStore,
    /// Public base URL without a trailing slash; image URLs are built from it.
    public_url: Arc<str>,
}

impl Themes {
    pub fn new(store: DynStore, public_url: Arc<str>) -> Self {
        Themes { store, public_url }
    }

    /// A theme belongs to a meeting's room: checked before an upload is even read.
    pub async fn require_room(&self, room: &RoomName) -> Result<(), ThemeError> {
        match self.store.get_meeting_by_room(room).await? {
            Some(_) => Ok(()),
            None => Err(ThemeError::RoomNotFound),
        }
    }

    /// Sets (or resets) one part of a room's theme. The caller then shows live rooms the new look.
    pub async fn change(
        &self,
        room: &RoomName,
        kind: ThemeKind,
        change: ThemeChange,
    ) -> Result<(), ThemeError> {
        let value = match change {
            ThemeChange::Image(_) if kind == ThemeKind::Tokens => {
                return Err(ThemeError::TokensTakeJson);
            }
            ThemeChange::Image(bytes) => Some(checked_image(bytes, kind).await?),
            ThemeChange::Preset(request) => preset(kind, &request)?,
        };
        match value {
            Some(value) => {
                self.store.put_theme(room, kind, value, Utc::now()).await?;
            }
            None => self.store.clear_theme(room, kind).await?,
        }
        tracing::info!(room = %room, part = kind.as_str(), "room theme updated");
        Ok(())
    }

    /// The room's look as it is stored now.
    pub async fn load(&self, room: &RoomName) -> Result<Theme, StoreError> {
        let mut theme = Theme::default();
        for part in self.store.theme(room).await? {
            let url = part
                .has_image
                .then(|| self.image_url(room, part.kind, part.version));
            match part.kind {
                ThemeKind::Logo => theme.logo_url = url,
                ThemeKind::RoomBackground => {
                    theme.room_background = background(url, part.preset.as_ref());
                }
                ThemeKind::KnockPageBackground => {
                    theme.knock_page_background = background(url, part.preset.as_ref());
                }
                ThemeKind::Tokens => theme.colors = colors(part.preset.as_ref()),
            }
        }
        Ok(theme)
    }

    /// An uploaded image, for the public image route.
    pub async fn image(
        &self,
        room: &RoomName,
        kind: ThemeKind,
    ) -> Result<Option<ThemeImage>, StoreError> {
        self.store.theme_image(room, kind).await
    }

    /// Where the image of one theme part is served (`GET /themes/{room}/{kind}`, no key needed).
    fn image_url(&self, room: &RoomName, kind: ThemeKind, version: i64) -> String {
        format!(
            "{}/themes/{}/{}?v={version}",
            self.public_url,
            room.path_segment(),
            kind.as_str()
        )
    }
}

fn background(image_url: Option<String>, preset: Option<&Value>) -> Background {
    let text = |name: &str| {
        preset
            .and_then(|p| p.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Background {
        image_url,
        preset: preset.map(|_| BackgroundPreset {
            palette: text("palette"),
            theme: text("theme"),
        }),
    }
}

fn colors(preset: Option<&Value>) -> Colors {
    let color = |name: &str| {
        preset
            .and_then(|p| p.get("colors"))
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Colors {
        primary: color("primary"),
        secondary: color("secondary"),
        focus: color("focus"),
    }
}

/// Decoding a large image takes a while: off the async workers, which carry every room, and a few
/// at a time, so that parallel uploads cannot take the server's memory.
async fn checked_image(bytes: Vec<u8>, kind: ThemeKind) -> Result<ThemeValue, ThemeError> {
    let _turn = DECODES
        .acquire()
        .await
        .map_err(|e| ThemeError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let content_type = check_image(&bytes, kind)?;
        Ok(ThemeValue::Image {
            content_type: content_type.to_owned(),
            bytes,
        })
    })
    .await
    .map_err(|e| ThemeError::Internal(e.to_string()))?
}

/// The file's own bytes decide its type, never its name or declared type; then it must decode.
pub fn check_image(bytes: &[u8], kind: ThemeKind) -> Result<&'static str, ThemeError> {
    let (format, content_type) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        (image::ImageFormat::Png, "image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        (image::ImageFormat::Jpeg, "image/jpeg")
    } else {
        return Err(ThemeError::NotPngOrJpeg);
    };
    if bytes.len() > IMAGE_MAX_BYTES {
        return Err(ThemeError::ImageTooLarge {
            kind: kind.as_str(),
            bytes: bytes.len(),
        });
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(IMAGE_MAX_SIDE);
    limits.max_image_height = Some(IMAGE_MAX_SIDE);
    limits.max_alloc = Some(DECODE_MAX_BYTES);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => ThemeError::TooLargeToDecode,
        other => ThemeError::Undecodable(other.to_string()),
    })?;
    let (width, height) = (decoded.width(), decoded.height());
    if width < IMAGE_MIN_SIDE || height < IMAGE_MIN_SIDE {
        return Err(ThemeError::ImageTooSmall(width, height));
    }
    Ok(content_type)
}

fn one_of(
    value: Option<&Value>,
    name: &'static str,
    allowed: &'static [&'static str],
) -> Result<Option<&'static str>, ThemeError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => {
            Ok(allowed.iter().copied().find(|a| a == s))
        }
        Some(other) => Err(ThemeError::NotOneOf {
            name,
            allowed,
            got: other.clone(),
        }),
    }
}

fn is_hex_color(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A JSON preset as the store keeps it; None means "back to the default".
fn preset(kind: ThemeKind, request: &PresetRequest) -> Result<Option<ThemeValue>, ThemeError> {
    match kind {
        ThemeKind::Logo => match one_of(request.theme.as_ref(), "theme", &["default"])? {
            Some(_) => Ok(None),
            None => Err(ThemeError::LogoNeedsImage),
        },
        ThemeKind::RoomBackground | ThemeKind::KnockPageBackground => {
            let palette = one_of(request.palette.as_ref(), "palette", PALETTES)?;
            let theme = one_of(request.theme.as_ref(), "theme", BACKGROUND_THEMES)?;
            if palette.is_none() && theme.is_none() {
                return Err(ThemeError::BackgroundNeedsImageOrPreset);
            }
            if palette.is_none_or(|p| p == "default") && theme.is_none_or(|t| t == "default") {
                return Ok(None);
            }
            let mut preset = Map::new();
            if let Some(p) = palette {
                preset.insert("palette".into(), json!(p));
            }
            if let Some(t) = theme {
                preset.insert("theme".into(), json!(t));
            }
            Ok(Some(ThemeValue::Preset(Value::Object(preset))))
        }
        ThemeKind::Tokens => {
            let tokens_preset = one_of(
                request.tokens_preset.as_ref(),
                "tokensPreset",
                &["custom", "default"],
            )?;
            if tokens_preset == Some("default") {
                return Ok(None);
            }
            let colors = request
                .tokens
                .as_ref()
                .and_then(|t| t.get("colors"))
                .and_then(Value::as_object)
                .ok_or(ThemeError::ColorsNotAnObject)?;
            let mut checked = Map::new();
            for (name, value) in colors {
                if !COLOR_NAMES.contains(&name.as_str()) {
                    return Err(ThemeError::UnknownColor(name.clone()));
                }
                match value.as_str() {
                    Some(hex) if is_hex_color(hex) => {
                        checked.insert(name.clone(), json!(hex.to_ascii_lowercase()));
                    }
                    _ => {
                        return Err(ThemeError::BadColor {
                            name: name.clone(),
                            got: value.clone(),
                        });
                    }
                }
            }
            if checked.is_empty() {
                return Err(ThemeError::NoColor);
            }
            Ok(Some(ThemeValue::Preset(json!({ "colors": checked }))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_judged_by_content() {
        assert!(check_image(b"GIF89a....", ThemeKind::Logo).is_err());
        assert!(check_image(b"\x89PNG\r\n\x1a\nnot really", ThemeKind::Logo).is_err());
        let mut png = Vec::new();
        image::RgbImage::new(32, 32)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(check_image(&png, ThemeKind::Logo).unwrap(), "image/png");
        let mut tiny = Vec::new();
        image::RgbImage::new(4, 4)
            .write_to(&mut Cursor::new(&mut tiny), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(
            check_image(&tiny, ThemeKind::Logo).unwrap_err().to_string(),
            "image is 4x4 pixels; at least 16x16"
        );
    }

    #[test]
    fn presets_are_checked_and_quoted_when_refused() {
        let request = PresetRequest {
            palette: Some(json!("neon")),
            ..Default::default()
        };
        assert_eq!(
            preset(ThemeKind::RoomBackground, &request)
                .unwrap_err()
                .to_string(),
            "palette must be one of: default, grey, purple, burgund, not \"neon\""
        );
        let request = PresetRequest {
            tokens: Some(json!({"colors": {"primary": "#ABCDEF"}})),
            ..Default::default()
        };
        assert_eq!(
            preset(ThemeKind::Tokens, &request).unwrap(),
            Some(ThemeValue::Preset(
                json!({"colors": {"primary": "#abcdef"}})
            ))
        );
    }
}
