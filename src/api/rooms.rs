//! `/v1/rooms/{roomName}/theme/...`: logo, backgrounds and colours of a room, as uploads (multipart
//! field `image`, PNG or JPEG, checked by content) or presets (JSON). Changes reach the live room at
//! once. Images are served publicly at `/themes/{room}/{kind}` for browsers to load.

use std::io::Cursor;
use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::json::JsonObject;
use crate::app::AppState;
use crate::meeting::RoomName;
use crate::store::{ThemeKind, ThemeValue};

/// Whereby's limit for backgrounds ("max 600 kb"); we hold logos to the same.
pub const IMAGE_MAX_BYTES: usize = 600 * 1024;
/// Decoded images larger than this either way are refused (and never decoded in full).
pub const IMAGE_MAX_SIDE: u32 = 8192;
pub const IMAGE_MIN_SIDE: u32 = 16;
/// The body limit of upload routes: room for the image and the multipart framing.
pub const UPLOAD_BODY_LIMIT: usize = 2 * 1024 * 1024;

const PALETTES: &[&str] = &["default", "grey", "purple", "burgund"];
const BACKGROUND_THEMES: &[&str] = &["default", "mountains", "characters", "rocks"];

/// Splits `{roomName}/theme/{kind}`; the room may come with any number of leading slashes (or an
/// encoded one, which the router has already decoded).
fn parse_theme_path(path: &str) -> Result<(RoomName, ThemeKind), ApiError> {
    let not_found = || ApiError::NotFound("no such endpoint".into());
    let (room, kind) = path.rsplit_once("/theme/").ok_or_else(not_found)?;
    let kind = ThemeKind::parse(kind).ok_or_else(not_found)?;
    let room =
        RoomName::parse(room).map_err(|_| ApiError::NotFound("Could not find room".into()))?;
    Ok((room, kind))
}

pub async fn put_theme(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let (room, kind) = parse_theme_path(&path)?;
    if state.store.get_meeting_by_room(&room).await?.is_none() {
        return Err(ApiError::NotFound("Could not find room".into()));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let value = if content_type.starts_with("multipart/form-data") {
        if kind == ThemeKind::Tokens {
            return Err(ApiError::bad_request("tokens take JSON, not an upload"));
        }
        Some(read_image(request, &state, kind).await?)
    } else if content_type.starts_with("application/json") {
        let JsonObject(body) = JsonObject::from_request(request, &state).await?;
        preset(kind, &body)?
    } else {
        return Err(ApiError::bad_request(
            "Content-Type must be multipart/form-data or application/json",
        ));
    };
    match value {
        Some(value) => {
            state
                .store
                .put_theme(&room, kind, value, Utc::now())
                .await?;
        }
        None => state.store.clear_theme(&room, kind).await?,
    }
    tracing::info!(room = %room, part = kind.as_str(), "room theme updated");
    let theme = state.rooms.load_theme(&room).await?;
    state.rooms.push_theme(&room, theme).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn read_image(
    request: Request,
    state: &Arc<AppState>,
    kind: ThemeKind,
) -> Result<ThemeValue, ApiError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read the multipart body: {e}")))?;
    loop {
        let field = multipart.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!(
                    "the upload is larger than {} bytes",
                    UPLOAD_BODY_LIMIT
                ))
            } else {
                ApiError::bad_request(format!("cannot read the multipart body: {e}"))
            }
        })?;
        let Some(field) = field else {
            return Err(ApiError::bad_request(
                "the multipart body has no field \"image\"",
            ));
        };
        if field.name() != Some("image") {
            continue;
        }
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!(
                    "the upload is larger than {} bytes",
                    UPLOAD_BODY_LIMIT
                ))
            } else {
                ApiError::bad_request(format!("cannot read the image: {e}"))
            }
        })?;
        // Decoding a large image takes a while: off the async workers, which carry every room.
        let checked = bytes.clone();
        let content_type = tokio::task::spawn_blocking(move || check_image(&checked, kind))
            .await
            .map_err(|e| ApiError::Internal(format!("the image check failed: {e}")))??;
        return Ok(ThemeValue::Image {
            content_type: content_type.to_owned(),
            bytes: bytes.to_vec(),
        });
    }
}

/// The file's own bytes decide its type, never its name or declared type; then it must decode.
pub fn check_image(bytes: &[u8], kind: ThemeKind) -> Result<&'static str, ApiError> {
    let (format, content_type) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        (image::ImageFormat::Png, "image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        (image::ImageFormat::Jpeg, "image/jpeg")
    } else {
        return Err(ApiError::bad_request(
            "image must be a PNG or JPEG file (judged by its content)",
        ));
    };
    if bytes.len() > IMAGE_MAX_BYTES {
        return Err(ApiError::bad_request(format!(
            "{} image is {} bytes; at most {IMAGE_MAX_BYTES} bytes (600 kB)",
            kind.as_str(),
            bytes.len()
        )));
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(IMAGE_MAX_SIDE);
    limits.max_image_height = Some(IMAGE_MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| ApiError::bad_request(format!("image could not be decoded: {e}")))?;
    let (width, height) = (decoded.width(), decoded.height());
    if width < IMAGE_MIN_SIDE || height < IMAGE_MIN_SIDE {
        return Err(ApiError::bad_request(format!(
            "image is {width}x{height} pixels; at least {IMAGE_MIN_SIDE}x{IMAGE_MIN_SIDE}"
        )));
    }
    Ok(content_type)
}

fn enum_value<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s)),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name} must be one of: {}, not {other}",
            allowed.join(", ")
        ))),
    }
}

fn is_hex_color(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A JSON preset; None means "back to the default".
fn preset(kind: ThemeKind, body: &Map<String, Value>) -> Result<Option<ThemeValue>, ApiError> {
    match kind {
        ThemeKind::Logo => match enum_value(body, "theme", &["default"])? {
            Some(_) => Ok(None),
            None => Err(ApiError::bad_request(
                "send an image as multipart field \"image\", or {\"theme\": \"default\"} to reset the logo",
            )),
        },
        ThemeKind::RoomBackground | ThemeKind::KnockPageBackground => {
            let palette = enum_value(body, "palette", PALETTES)?;
            let theme = enum_value(body, "theme", BACKGROUND_THEMES)?;
            if palette.is_none() && theme.is_none() {
                return Err(ApiError::bad_request(
                    "send an image as multipart field \"image\", or JSON with palette and/or theme",
                ));
            }
            let all_default =
                palette.is_none_or(|p| p == "default") && theme.is_none_or(|t| t == "default");
            if all_default {
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
            let preset = enum_value(body, "tokensPreset", &["custom", "default"])?;
            if preset == Some("default") {
                return Ok(None);
            }
            let colors = body
                .get("tokens")
                .and_then(|t| t.get("colors"))
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    ApiError::bad_request("tokens.colors must be an object of colours")
                })?;
            let mut checked = Map::new();
            for (name, value) in colors {
                if !["primary", "secondary", "focus"].contains(&name.as_str()) {
                    return Err(ApiError::bad_request(format!(
                        "tokens.colors.{name} is not a colour we know; use primary, secondary, focus"
                    )));
                }
                match value.as_str() {
                    Some(hex) if is_hex_color(hex) => {
                        checked.insert(name.clone(), json!(hex.to_ascii_lowercase()));
                    }
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "tokens.colors.{name} must be a colour like #1a2b3c, not {value}"
                        )));
                    }
                }
            }
            if checked.is_empty() {
                return Err(ApiError::bad_request("tokens.colors sets no colour"));
            }
            Ok(Some(ThemeValue::Preset(json!({ "colors": checked }))))
        }
    }
}

/// `GET /themes/{room}/{kind}`: the image, public (knock pages load it before anyone is admitted),
/// revalidated by ETag so a change shows at once.
pub async fn theme_image(
    State(state): State<Arc<AppState>>,
    Path((room, kind)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("no such image".into());
    let room = RoomName::parse(&room).map_err(|_| not_found())?;
    let kind = ThemeKind::parse(&kind).ok_or_else(not_found)?;
    let image = state
        .store
        .theme_image(&room, kind)
        .await?
        .ok_or_else(not_found)?;
    let etag = format!("\"{}\"", image.version);
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "public, no-cache".to_owned()),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let mut response = (cache, image.bytes).into_response();
    if let Ok(value) = HeaderValue::from_str(&image.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_paths_accept_any_leading_slashes() {
        for path in ["abc/theme/logo", "/abc/theme/logo", "//abc/theme/logo"] {
            let (room, kind) = parse_theme_path(path).unwrap();
            assert_eq!(room.as_str(), "/abc");
            assert_eq!(kind, ThemeKind::Logo);
        }
        assert!(parse_theme_path("abc/theme/wallpaper").is_err());
        assert!(parse_theme_path("abc/logo").is_err());
    }

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
        assert!(check_image(&tiny, ThemeKind::Logo).is_err());
    }
}
