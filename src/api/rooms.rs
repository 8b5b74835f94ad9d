//! `/v1/rooms/{roomName}/theme/...`: logo, backgrounds and colours of a room, as uploads (multipart
//! field `image`, PNG or JPEG, checked by content) or presets (JSON). Changes reach the live room at
//! once. Images are served publicly at `/themes/{room}/{kind}` for browsers to load. What a theme
//! may be is the themes service's to say; this is only HTTP.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::json::JsonBody;
use crate::meeting::RoomName;
use crate::services::rooms::Rooms;
use crate::services::themes::{PresetRequest, ThemeChange, ThemeError, ThemeKind, Themes};

/// The body limit of upload routes: room for the image and the multipart framing.
pub const UPLOAD_BODY_LIMIT: usize = 2 * 1024 * 1024;

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
    State(themes): State<Themes>,
    State(rooms): State<Rooms>,
    Path(path): Path<String>,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let (room, kind) = parse_theme_path(&path)?;
    themes.require_room(&room).await?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let change = if content_type.starts_with("multipart/form-data") {
        if kind == ThemeKind::Tokens {
            return Err(ThemeError::TokensTakeJson.into());
        }
        ThemeChange::Image(read_image(request).await?)
    } else if content_type.starts_with("application/json") {
        let JsonBody(preset) = JsonBody::<PresetRequest>::from_request(request, &()).await?;
        ThemeChange::Preset(preset)
    } else {
        return Err(ApiError::bad_request(
            "Content-Type must be multipart/form-data or application/json",
        ));
    };
    themes.change(&room, kind, change).await?;
    rooms.theme_changed(&room).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn multipart_error(err: axum::extract::multipart::MultipartError, what: &str) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!(
            "the upload is larger than {UPLOAD_BODY_LIMIT} bytes"
        ))
    } else {
        ApiError::bad_request(format!("cannot read the {what}: {err}"))
    }
}

/// The bytes of the multipart field `image`.
async fn read_image(request: Request) -> Result<Vec<u8>, ApiError> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read the multipart body: {e}")))?;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(e, "multipart body"))?;
        let Some(field) = field else {
            return Err(ApiError::bad_request(
                "the multipart body has no field \"image\"",
            ));
        };
        if field.name() != Some("image") {
            continue;
        }
        let bytes = field
            .bytes()
            .await
            .map_err(|e| multipart_error(e, "image"))?;
        return Ok(bytes.to_vec());
    }
}

/// `GET /themes/{room}/{kind}`: the image, public (knock pages load it before anyone is admitted),
/// revalidated by ETag so a change shows at once.
pub async fn theme_image(
    State(themes): State<Themes>,
    Path((room, kind)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("no such image".into());
    let room = RoomName::parse(&room).map_err(|_| not_found())?;
    let kind = ThemeKind::parse(&kind).ok_or_else(not_found)?;
    let image = themes.image(&room, kind).await?.ok_or_else(not_found)?;
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
}
