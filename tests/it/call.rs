//! The room behind the door, as the call screen needs it: who sends what (microphone, camera,
//! screen), the room's capacity, the people in it by REST, the spotlight, raised hands,
//! reactions, a host's requests of microphones and cameras, removing chat messages, the
//! landing page, and the pages of a server under a path.

use serde_json::{Value, json};

use crate::helpers::{LATER, Server, TestRoom};
use crate::signal_join::{host, room};
use crate::ws::Ws;

#[tokio::test]
async fn microphones_cameras_and_screens_are_told_to_everyone_and_listed_by_rest() {
    let server = Server::start().await;
    let room = room(&server, json!({"isLocked": false})).await;
    let (mut host, joined) = host(&server, &room, "Dr Lee").await;
    assert_eq!(
        joined["room"]["capacity"],
        json!({"participants": 4, "total": 8}),
        "{joined}"
    );
    assert_eq!(joined["room"]["clients"][0]["audio"], true);

    let mut guest = Ws::connect(&server).await;
    guest
        .send(
            "join_room",
            json!({"roomName": room.name, "displayName": "Pat", "audio": false, "video": true}),
        )
        .await;
    let guest_joined = guest.recv_type("room_joined").await;
    let guest_id = guest_joined["selfId"].as_str().unwrap().to_owned();
    let arrived = host.recv_type("new_client").await;
    assert_eq!(
        (
            &arrived["client"]["audio"],
            &arrived["client"]["video"],
            &arrived["client"]["screen"]
        ),
        (&json!(false), &json!(true), &json!(false)),
        "the host knows at once that Pat's microphone is off: {arrived}"
    );

    guest
        .send(
            "set_media_state",
            json!({"audio": true, "video": true, "screen": true}),
        )
        .await;
    assert_eq!(
        host.recv_type("media_state").await,
        json!({"clientId": guest_id, "audio": true, "video": true, "screen": true})
    );
    // The sender knows its own state: no echo.
    guest.expect_silence(200).await;

    let (status, people) = server
        .get_json(&format!("/v1/rooms{}/participants", room.name))
        .await;
    assert_eq!(status, 200, "{people}");
    let pat = people["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["clientId"] == guest_id.as_str())
        .expect("Pat is listed");
    assert_eq!(
        pat,
        &json!({"audio": true, "clientId": guest_id, "displayName": "Pat", "role": "visitor",
                "screen": true, "video": true})
    );
    assert_eq!(people["results"].as_array().unwrap().len(), 2);

    // A bad frame is refused in words, and changes nothing.
    guest
        .send("set_media_state", json!({"audio": "loud"}))
        .await;
    let refused = guest.error().await;
    assert_eq!(refused["requestType"], "set_media_state", "{refused}");

    // A room nobody is in lists nobody; a room that does not exist is a 404.
    let empty = crate::signal_join::room(&server, json!({})).await;
    let (status, nobody) = server
        .get_json(&format!("/v1/rooms{}/participants", empty.name))
        .await;
    assert_eq!((status, nobody), (200, json!({"results": []})));
    let wrong = server
        .post(&format!("/v1/rooms{}/participants", empty.name))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405, "participants are read, not posted to");
    let (status, missing) = server.get_json("/v1/rooms/no-such-room/participants").await;
    assert_eq!(status, 404, "{missing}");
    assert!(missing["error"].as_str().is_some(), "{missing}");
}

/// An open room with a host (its `room_joined` beside it) and a guest, Pat, whose arrival the host
/// has heard.
async fn host_and_guest(server: &Server) -> (TestRoom, Ws, Value, Ws, String) {
    let room = room(server, json!({"isLocked": false})).await;
    let (mut host, joined) = host(server, &room, "Dr Lee").await;
    let mut guest = Ws::connect(server).await;
    let guest_id = guest.join(&room.name, None, "Pat").await["selfId"]
        .as_str()
        .expect("a member has an id")
        .to_owned();
    host.recv_type("new_client").await;
    (room, host, joined, guest, guest_id)
}

#[tokio::test]
async fn a_host_puts_someone_in_the_spotlight_for_everyone_until_they_leave() {
    let server = Server::start().await;
    let (room, mut host, joined, mut guest, guest_id) = host_and_guest(&server).await;
    assert_eq!(joined["room"]["spotlight"], json!(null), "nobody at first");
    assert_eq!(joined["room"]["spotlights"], json!([]));
    let host_id = joined["selfId"].as_str().unwrap().to_owned();

    host.send("set_spotlight", json!({"clientId": guest_id}))
        .await;
    let told = json!({"clientId": guest_id, "clientIds": [guest_id], "byClientId": host_id});
    assert_eq!(host.recv_type("spotlight_changed").await, told);
    assert_eq!(guest.recv_type("spotlight_changed").await, told);
    // Whoever comes in later finds it in the room.
    let mut late = Ws::connect(&server).await;
    let late_joined = late.join(&room.name, None, "Sam").await;
    assert_eq!(late_joined["room"]["spotlight"], guest_id.as_str());
    let late_id = late_joined["selfId"].as_str().unwrap().to_owned();
    for ws in [&mut host, &mut guest] {
        ws.recv_type("new_client").await;
    }

    // Several at once: added beside, taken out, in the order put there.
    host.send("add_spotlight", json!({"clientId": late_id}))
        .await;
    let both =
        json!({"clientId": guest_id, "clientIds": [guest_id, late_id], "byClientId": host_id});
    for ws in [&mut host, &mut guest, &mut late] {
        assert_eq!(ws.recv_type("spotlight_changed").await, both);
    }
    host.send("remove_spotlight", json!({"clientId": guest_id}))
        .await;
    let one = json!({"clientId": late_id, "clientIds": [late_id], "byClientId": host_id});
    assert_eq!(host.recv_type("spotlight_changed").await, one);
    host.send("add_spotlight", json!({"clientId": guest_id}))
        .await;
    host.recv_type("spotlight_changed").await;
    host.send("add_spotlight", json!({"clientId": host_id}))
        .await;
    host.recv_type("spotlight_changed").await;
    // (A normal room has four participants at most, the spotlight's limit: a group room's test
    // in the engine checks a fifth is refused, spotlight_full.)
    host.send("remove_spotlight", json!({"clientId": late_id}))
        .await;
    host.send("remove_spotlight", json!({"clientId": host_id}))
        .await;
    host.recv_type("spotlight_changed").await;
    assert_eq!(
        host.recv_type("spotlight_changed").await["clientIds"],
        json!([guest_id])
    );
    // Sam heard each of the five changes since.
    let mut last = json!(null);
    for _ in 0..5 {
        last = late.recv_type("spotlight_changed").await;
    }
    assert_eq!(last["clientIds"], json!([guest_id]));
    guest
        .send("add_spotlight", json!({"clientId": guest_id}))
        .await;
    let refused = guest.error().await;
    assert_eq!(
        (&refused["code"], &refused["requestType"]),
        (&json!("forbidden"), &json!("add_spotlight")),
        "{refused}"
    );
    host.send("remove_spotlight", json!({})).await;
    assert_eq!(host.error().await["code"], "invalid_payload");

    // Only hosts, and only on someone in the room: refused in words, nothing changes.
    guest.send("set_spotlight", json!({"clientId": null})).await;
    let refused = guest.error().await;
    assert_eq!(
        (&refused["code"], &refused["requestType"]),
        (&json!("forbidden"), &json!("set_spotlight")),
        "{refused}"
    );
    host.send("set_spotlight", json!({"clientId": "nobody"}))
        .await;
    assert_eq!(host.error().await["code"], "client_not_found");
    host.send("set_spotlight", json!({"clientId": 7})).await;
    assert_eq!(host.error().await["code"], "invalid_payload");

    // The person in it leaves: it goes out, for everyone, by nobody's hand.
    guest.send("leave_room", json!({})).await;
    let out = host.recv_type("spotlight_changed").await;
    assert_eq!(
        out,
        json!({"clientId": null, "clientIds": [], "byClientId": null})
    );
    assert_eq!(late.recv_type("spotlight_changed").await, out);
}

#[tokio::test]
async fn hands_go_up_for_everyone_to_see_and_a_host_lowers_them() {
    let server = Server::start().await;
    let (room, mut host, joined, mut guest, guest_id) = host_and_guest(&server).await;
    assert_eq!(joined["room"]["hands"], json!([]), "none at first");
    let host_id = joined["selfId"].as_str().unwrap().to_owned();

    guest.send("set_hand", json!({"raised": true})).await;
    let up = host.recv_type("hand_changed").await;
    assert_eq!(
        (&up["clientId"], &up["raised"], &up["byClientId"]),
        (&json!(guest_id), &json!(true), &json!(guest_id)),
        "{up}"
    );
    let raised_at = up["raisedAt"].as_i64().expect("when it went up");
    assert_eq!(guest.recv_type("hand_changed").await, up);
    let mut late = Ws::connect(&server).await;
    let late_joined = late.join(&room.name, None, "Sam").await;
    assert_eq!(
        late_joined["room"]["hands"],
        json!([{"clientId": guest_id, "raisedAt": raised_at}])
    );

    // Nobody raises another's hand; a guest may not lower it either.
    late.send("set_hand", json!({"raised": false, "clientId": guest_id}))
        .await;
    assert_eq!(late.error().await["code"], "forbidden");
    host.send("set_hand", json!({"raised": "yes"})).await;
    assert_eq!(host.error().await["code"], "invalid_payload");

    host.send("set_hand", json!({"raised": false, "clientId": guest_id}))
        .await;
    let down = guest.recv_type("hand_changed").await;
    assert_eq!(
        down,
        json!({"clientId": guest_id, "raised": false, "raisedAt": null, "byClientId": host_id})
    );

    // Up again, with another: a host lowers every hand at once (a guest may not).
    // (One after the other: two sockets' frames may reach the room in either order.)
    for raiser in [&mut guest, &mut late] {
        raiser.send("set_hand", json!({"raised": true})).await;
        while host.recv_type("hand_changed").await["raised"] != true {}
    }
    late.send("lower_all_hands", json!({})).await;
    assert_eq!(late.error().await["code"], "forbidden");
    host.send("lower_all_hands", json!({})).await;
    let mut lowered = Vec::new();
    while lowered.len() < 2 {
        let changed = guest.recv_type("hand_changed").await;
        if changed["raised"] == false {
            assert_eq!(changed["byClientId"], json!(host_id), "{changed}");
            lowered.push(changed["clientId"].as_str().unwrap_or_default().to_owned());
        }
    }
    let late_id = late_joined["selfId"].as_str().unwrap_or_default();
    assert_eq!(lowered, [guest_id.as_str(), late_id], "oldest first");
}

#[tokio::test]
async fn reactions_reach_everyone_in_the_room_a_few_a_second_at_most() {
    let server = Server::start().await;
    let (_room, mut host, _joined, mut guest, guest_id) = host_and_guest(&server).await;
    guest
        .send("send_reaction", json!({"reaction": "clap"}))
        .await;
    let told = json!({"clientId": guest_id, "reaction": "clap"});
    assert_eq!(host.recv_type("reaction").await, told);
    assert_eq!(guest.recv_type("reaction").await, told);

    // The next one at once is too soon, and says so.
    guest
        .send("send_reaction", json!({"reaction": "heart"}))
        .await;
    let error = guest.error().await;
    assert_eq!(
        (&error["code"], &error["requestType"]),
        (&json!("rate_limited"), &json!("send_reaction")),
        "{error}"
    );
    // One that does not exist is refused with the ones that do.
    host.send("send_reaction", json!({"reaction": "party"}))
        .await;
    let error = host.error().await;
    assert_eq!(error["code"], "invalid_payload");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("thumbs_up"), "{message}");
    host.send("send_reaction", json!({"reaction": "thumbs_up"}))
        .await;
    let told = guest.recv_type("reaction").await;
    assert_eq!(told["reaction"], "thumbs_up", "{told}");
}

#[tokio::test]
async fn a_host_asks_a_guest_to_turn_their_microphone_or_camera_off_or_on() {
    let server = Server::start().await;
    let (_room, mut host, joined, mut guest, guest_id) = host_and_guest(&server).await;
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    for ask in ["mute", "turn_off_camera", "unmute", "turn_on_camera"] {
        host.send("ask_media", json!({"clientIds": [guest_id], "ask": ask}))
            .await;
        assert_eq!(
            guest.recv_type("media_asked").await,
            json!({"ask": ask, "byClientId": host_id})
        );
    }
    // A guest may not; a host names someone, and one of the four.
    guest
        .send("ask_media", json!({"clientIds": [host_id], "ask": "mute"}))
        .await;
    assert_eq!(guest.error().await["code"], "forbidden");
    host.send("ask_media", json!({"clientIds": [], "ask": "mute"}))
        .await;
    assert_eq!(host.error().await["code"], "invalid_payload");
    host.send(
        "ask_media",
        json!({"clientIds": [guest_id], "ask": "explode"}),
    )
    .await;
    let error = host.error().await;
    assert_eq!(error["code"], "invalid_payload");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("turn_off_camera"),
        "{error}"
    );
}

#[tokio::test]
async fn a_chat_message_is_removed_by_its_sender_or_a_host_for_everyone() {
    let server = Server::start().await;
    let (_room, mut host, joined, mut guest, _) = host_and_guest(&server).await;
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    guest.send("chat_message", json!({"text": "oops"})).await;
    let line = host.recv_type("chat_message").await;
    let id = line["id"].as_str().expect("a message has an id").to_owned();
    assert_eq!(guest.recv_type("chat_message").await["id"], id);
    host.send("chat_message", json!({"text": "welcome"})).await;
    let hosts = guest.recv_type("chat_message").await["id"].clone();
    assert_ne!(hosts, json!(id), "each its own id");
    // The guest may not remove the host's; the host removes the guest's, for both.
    guest
        .send("remove_chat_message", json!({"id": hosts}))
        .await;
    assert_eq!(guest.error().await["code"], "forbidden");
    host.send("remove_chat_message", json!({"id": id})).await;
    let told = json!({"id": id, "byClientId": host_id});
    assert_eq!(guest.recv_type("chat_message_removed").await, told);
    assert_eq!(host.recv_type("chat_message_removed").await, told);
    host.send("remove_chat_message", json!({"id": ""})).await;
    assert_eq!(host.error().await["code"], "invalid_payload");
}

#[tokio::test]
async fn the_landing_page_says_what_this_is() {
    let server = Server::start().await;
    let response = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(response.status(), 200);
    let policy = response
        .headers()
        .get("content-security-policy")
        .expect("the page's policy")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let body = response.text().await.unwrap();
    assert!(
        body.contains("<h1 id=\"landing-title\">anteroom</h1>"),
        "{body}"
    );
    // Unknown pages are still plain 404s, and a room URL still opens the room page.
    let missing = reqwest::get(server.url("/a/b/c")).await.unwrap();
    assert_eq!(missing.status(), 404);
    let room_page = reqwest::get(server.url("/some-room")).await.unwrap();
    assert!(
        room_page
            .text()
            .await
            .unwrap()
            .contains("/assets/js/main.js")
    );
}

/// Under a public URL with a path, every route is there: the pages name their files under it, the
/// landing page answers at the path and at its slash, the API and the signalling endpoint are
/// there; outside the path, a 404 that says where the server is.
#[tokio::test]
async fn a_server_under_a_path_serves_everything_there() {
    let server = Server::start_with(&["--public-url", "https://example.com/apps/meet/"]).await;
    assert!(server.base.ends_with("/apps/meet"), "{}", server.base);
    let room = server.create_meeting(json!({"endDate": LATER})).await;
    assert!(
        room["roomUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://example.com/apps/meet/"),
        "{room}"
    );
    let page = reqwest::get(server.url(room["roomName"].as_str().unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("src=\"/apps/meet/assets/js/main.js\""),
        "{page}"
    );
    assert!(
        !page.contains("=\"/assets/"),
        "no file outside the path: {page}"
    );
    for landing in ["", "/"] {
        let response = reqwest::get(server.url(landing)).await.unwrap();
        assert_eq!(response.status(), 200, "the landing page at {landing:?}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("href=\"/apps/meet/assets/css/room.css\""),
            "{body}"
        );
    }
    let asset = reqwest::get(server.url("/assets/js/base.js"))
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    let (status, _) = server.get_json("/v1/meetings").await;
    assert_eq!(status, 200);
    let mut ws = Ws::connect(&server).await;
    ws.send(
        "join_room",
        json!({"roomName": room["roomName"], "displayName": "Pat"}),
    )
    .await;
    ws.recv_type("room_joined").await;
    for outside in [
        "/v1/meetings",
        "/assets/js/main.js",
        "/healthz",
        "/apps/meetings",
    ] {
        let response = reqwest::get(format!("http://{}{outside}", server.addr))
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{outside}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("under /apps/meet/"),
            "{body}"
        );
    }
}

/// The client's files go gzipped to a browser that takes it (the background effects'
/// WebAssembly, 5.7 MB, among them), byte for byte the same once unpacked, with their type and
/// ETag; as they are to one that does not; a 304 for the ETag it has.
#[tokio::test]
async fn the_clients_files_go_gzipped_to_browsers_that_take_it() {
    use std::io::Read;
    let server = Server::start().await;
    let path = "/assets/vendor/segmentation/selfie_segmentation_solution_simd_wasm_bin.wasm";
    let client = reqwest::Client::new();
    let plain = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["content-type"], "application/wasm");
    assert!(plain.headers().get("content-encoding").is_none());
    let etag = plain.headers()["etag"].clone();
    let original = plain.bytes().await.unwrap();
    assert!(original.len() > 5_000_000, "{}", original.len());

    let packed = client
        .get(server.url(path))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(packed.headers()["content-encoding"], "gzip");
    assert_eq!(packed.headers()["content-type"], "application/wasm");
    assert_eq!(packed.headers()["etag"], etag);
    let gz = packed.bytes().await.unwrap();
    assert!(
        gz.len() < original.len() / 2,
        "{} of {}",
        gz.len(),
        original.len()
    );
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    assert!(unpacked == original[..], "the same bytes once unpacked");

    let again = client
        .get(server.url(path))
        .header("accept-encoding", "gzip")
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let script = client
        .get(server.url("/embed.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(script.headers()["content-encoding"], "gzip");
    assert_eq!(script.headers()["access-control-allow-origin"], "*");
}
