//! Room themes: uploads checked by content, presets, public image URLs, live updates.

use std::io::Cursor;

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::helpers::{Server, status_and_json};
use crate::signal_join::locked_room;
use crate::ws::Ws;

fn image(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        // Noise, so PNG cannot compress it away.
        let v = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)).to_le_bytes();
        image::Rgb([v[0], v[1], v[2]])
    });
    picture
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

fn upload(bytes: Vec<u8>, file_name: &str, declared: &str) -> Form {
    Form::new().part(
        "image",
        Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(declared)
            .unwrap(),
    )
}

#[tokio::test]
async fn uploads_reach_waiting_knockers_and_members_live() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let bare = &room.name[1..];
    let mut host = Ws::connect(&server).await;
    host.join(&room.name, Some(&room.host_key), "Host").await;
    let mut guest = Ws::connect(&server).await;
    let door = guest.join(&room.name, None, "Guest").await;
    assert_eq!(door["knockPage"], json!({}), "no theme yet");
    guest.send("knock_room", json!({})).await;
    guest.recv_type("knock_sent").await;

    let background = image(640, 360, image::ImageFormat::Jpeg);
    let response = server
        .http
        .put(server.url(&format!(
            "/v1/rooms/{bare}/theme/room-knock-page-background"
        )))
        .bearer_auth(&server.key)
        .multipart(upload(background.clone(), "bg.jpg", "image/jpeg"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{:?}", response.text().await);

    let page = guest.recv_type("knock_page_updated").await;
    let url = page["backgroundUrl"]
        .as_str()
        .expect("the knocker sees the new background")
        .to_owned();
    assert!(
        url.starts_with(&format!(
            "{}/themes/{bare}/room-knock-page-background?v=",
            server.base
        )),
        "{url}"
    );
    let theme = host.recv_type("theme_updated").await;
    assert_eq!(theme["knockPageBackgroundUrl"], url.as_str());

    let served = server.http.get(&url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(served.headers()["cache-control"], "public, no-cache");
    let etag = served.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(served.bytes().await.unwrap().to_vec(), background);
    let again = server
        .http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // Leading slashes, doubled or encoded, name the same room; a logo, then a new arrival sees both.
    for path in [
        format!("/v1/rooms//{bare}/theme/logo"),
        format!("/v1/rooms/%2F{bare}/theme/logo"),
    ] {
        let response = server
            .http
            .put(server.url(&path))
            .bearer_auth(&server.key)
            .multipart(upload(
                image(64, 64, image::ImageFormat::Png),
                "logo.png",
                "image/png",
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "{path}");
    }
    let mut late = Ws::connect(&server).await;
    let door = late.join(&room.name, None, "Late").await;
    assert!(
        door["knockPage"]["logoUrl"]
            .as_str()
            .unwrap()
            .contains("/logo?v=")
    );
    assert_eq!(door["knockPage"]["backgroundUrl"], url.as_str());
}

#[tokio::test]
async fn bad_uploads_are_refused_with_reasons() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let bare = room.name[1..].to_owned();
    let put = |kind: &str, form: Form| {
        server
            .http
            .put(server.url(&format!("/v1/rooms/{bare}/theme/{kind}")))
            .bearer_auth(&server.key)
            .multipart(form)
            .send()
    };
    let gif =
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,"
            .to_vec();
    let mut truncated = image(64, 64, image::ImageFormat::Png);
    truncated.truncate(100);
    let cases = [
        (
            "logo",
            upload(gif, "logo.png", "image/png"),
            "must be a PNG or JPEG",
        ),
        (
            "logo",
            upload(truncated, "logo.png", "image/png"),
            "could not be decoded",
        ),
        (
            "logo",
            upload(
                image(4, 4, image::ImageFormat::Png),
                "tiny.png",
                "image/png",
            ),
            "at least 16x16",
        ),
        (
            "room-background",
            upload(
                image(600, 600, image::ImageFormat::Png),
                "big.png",
                "image/png",
            ),
            "at most 614400 bytes",
        ),
        (
            "logo",
            Form::new().text("picture", "x"),
            "no field \"image\"",
        ),
    ];
    for (kind, form, expected) in cases {
        let (status, body) = status_and_json(put(kind, form).await.unwrap()).await;
        assert_eq!(status, 400, "{expected}: {body}");
        assert!(body["error"].as_str().unwrap().contains(expected), "{body}");
    }
    let (status, body) = status_and_json(
        server
            .http
            .put(server.url(&format!("/v1/rooms/{bare}/theme/logo")))
            .bearer_auth(&server.key)
            .body("x")
            .header("content-type", "text/plain")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("multipart/form-data or application/json")
    );
    let (status, body) = status_and_json(
        server
            .http
            .put(server.url("/v1/rooms/no-such-room/theme/logo"))
            .bearer_auth(&server.key)
            .json(&json!({"theme": "default"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"error": "Could not find room"}));
    let response = server
        .http
        .put(server.url(&format!("/v1/rooms/{bare}/theme/logo")))
        .json(&json!({"theme": "default"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn presets_and_colours() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let bare = room.name[1..].to_owned();
    let mut host = Ws::connect(&server).await;
    host.join(&room.name, Some(&room.host_key), "Host").await;
    let put_json = |kind: &str, body: serde_json::Value| {
        server
            .http
            .put(server.url(&format!("/v1/rooms/{bare}/theme/{kind}")))
            .bearer_auth(&server.key)
            .json(&body)
            .send()
    };
    assert_eq!(
        put_json(
            "room-background",
            json!({"palette": "purple", "theme": "mountains"})
        )
        .await
        .unwrap()
        .status(),
        204
    );
    let theme = host.recv_type("theme_updated").await;
    assert_eq!(
        theme["roomBackgroundPreset"],
        json!({"palette": "purple", "theme": "mountains"})
    );
    assert_eq!(put_json("tokens", json!({"tokens": {"colors": {"primary": "#AA3300", "focus": "#00ff00"}}, "tokensPreset": "custom"})).await.unwrap().status(), 204);
    let theme = host.recv_type("theme_updated").await;
    assert_eq!(
        theme["colors"],
        json!({"primary": "#aa3300", "focus": "#00ff00"})
    );

    for (kind, body, expected) in [
        (
            "room-background",
            json!({"palette": "neon"}),
            "palette must be one of",
        ),
        ("room-background", json!({}), "palette and/or theme"),
        (
            "tokens",
            json!({"tokens": {"colors": {"primary": "red"}}}),
            "must be a colour like",
        ),
        (
            "tokens",
            json!({"tokens": {"colors": {"sparkle": "#000000"}}}),
            "not a colour we know",
        ),
        (
            "logo",
            json!({"theme": "fancy"}),
            "theme must be one of: default",
        ),
    ] {
        let (status, error) = status_and_json(put_json(kind, body.clone()).await.unwrap()).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            error["error"].as_str().unwrap().contains(expected),
            "{error}"
        );
    }
    // Back to defaults.
    assert_eq!(
        put_json("tokens", json!({"tokensPreset": "default"}))
            .await
            .unwrap()
            .status(),
        204
    );
    let theme = host.recv_type("theme_updated").await;
    assert!(theme.get("colors").is_none());
    assert_eq!(
        put_json(
            "room-background",
            json!({"palette": "default", "theme": "default"})
        )
        .await
        .unwrap()
        .status(),
        204
    );
    let theme = host.recv_type("theme_updated").await;
    assert!(theme.get("roomBackgroundPreset").is_none());
}
