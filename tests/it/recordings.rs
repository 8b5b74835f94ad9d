//! `/v1/recordings`, `/v1/transcriptions`, `/v1/summaries`: empty collections, answered as
//! Whereby answers for an empty one, with its checks on what is asked.

use serde_json::{Value, json};

use crate::helpers::{Server, status_and_json};
use crate::schema::{RECORDING_LIST, SUMMARY_LIST, TRANSCRIPTION_LIST, assert_valid};

const ID: &str = "a56f6ad7-37fe-4a37-9319-3174630ba57a";

async fn post_json(server: &Server, path: &str, body: Value) -> (u16, Value) {
    status_and_json(server.post(path).json(&body).send().await.unwrap()).await
}

async fn delete_status(server: &Server, path: &str) -> u16 {
    let response = server.delete(path).send().await.unwrap();
    let status = response.status().as_u16();
    assert!(response.text().await.unwrap().is_empty(), "{path}");
    status
}

/// The 400's message, which must name what was wrong.
fn assert_bad(answer: (u16, Value), names: &str) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    let error = answer.1["error"].as_str().expect("an error message");
    assert!(error.contains(names), "{error:?} should name {names}");
}

#[tokio::test]
async fn a_server_that_records_nothing_answers_as_whereby_does_for_an_empty_collection() {
    let server = Server::start().await;

    for (path, schema) in [
        ("/v1/recordings", RECORDING_LIST),
        ("/v1/transcriptions", TRANSCRIPTION_LIST),
        ("/v1/summaries", SUMMARY_LIST),
    ] {
        for query in ["", "?limit=100&sortBy=startDate:desc", "?sortBy=roomName"] {
            let (status, page) = server.get_json(&format!("{path}{query}")).await;
            assert_eq!(status, 200, "{path}{query}: {page}");
            assert_eq!(
                page,
                json!({"results": [], "cursor": null}),
                "{path}{query}"
            );
            assert_valid(schema, &page);
        }
        assert_bad(server.get_json(&format!("{path}?limit=0")).await, "limit");
        assert_bad(server.get_json(&format!("{path}?limit=101")).await, "limit");
        assert_bad(
            server.get_json(&format!("{path}?cursor=zz")).await,
            "cursor",
        );
        assert_bad(
            server.get_json(&format!("{path}?sortBy=size")).await,
            "size",
        );
        assert_bad(
            server
                .get_json(&format!("{path}?sortBy=startDate:up"))
                .await,
            "asc or desc",
        );

        let thing = &path["/v1/".len()..path.len() - 1];
        let thing = if thing == "summarie" {
            "summary"
        } else {
            thing
        };
        let (status, body) = server.get_json(&format!("{path}/{ID}")).await;
        assert_eq!(status, 404, "{path}/{ID}");
        assert_eq!(body, json!({"error": format!("Could not find {thing}")}));
        // Idempotent, as Whereby's deletes are.
        for _ in 0..2 {
            assert_eq!(delete_status(&server, &format!("{path}/{ID}")).await, 204);
        }
    }
    assert_eq!(
        server
            .get_json("/v1/recordings?sortBy=sizeInMegaBytes:asc")
            .await
            .0,
        200
    );
    assert_bad(
        server.get_json("/v1/summaries?sortBy=duration").await,
        "durationInSeconds",
    );

    for path in ["/v1/recordings", "/v1/transcriptions"] {
        let ids = if path == "/v1/recordings" {
            "recordingIds"
        } else {
            "transcriptionIds"
        };
        let link = format!("{path}/{ID}/access-link");
        for query in ["", "?validForSeconds=1", "?validForSeconds=43200"] {
            let (status, body) = server.get_json(&format!("{link}{query}")).await;
            assert_eq!(status, 404, "{link}{query}: {body}");
        }
        for bad in ["0", "43201", "soon"] {
            assert_bad(
                server
                    .get_json(&format!("{link}?validForSeconds={bad}"))
                    .await,
                "validForSeconds",
            );
        }
        let bulk = format!("{path}/bulk-delete");
        let response = server
            .post(&bulk)
            .json(&json!({ ids: [ID, "other"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "{bulk}");
        assert_bad(post_json(&server, &bulk, json!({})).await, ids);
        assert_bad(post_json(&server, &bulk, json!({ ids: ID })).await, ids);
        assert_bad(post_json(&server, &bulk, json!({ ids: [1] })).await, ids);
    }

    let (status, body) =
        post_json(&server, "/v1/transcriptions", json!({ "recordingId": ID })).await;
    assert_eq!(
        (status, body),
        (404, json!({"error": "Could not find recording"}))
    );
    assert_bad(
        post_json(&server, "/v1/transcriptions", json!({})).await,
        "recordingId",
    );
    assert_bad(
        post_json(&server, "/v1/transcriptions", json!({ "recordingId": 7 })).await,
        "recordingId",
    );
    let (status, body) = post_json(
        &server,
        "/v1/summaries",
        json!({ "transcriptionId": ID, "template": "SOAP" }),
    )
    .await;
    assert_eq!(
        (status, body),
        (404, json!({"error": "Could not find transcription"}))
    );
    assert_bad(
        post_json(&server, "/v1/summaries", json!({ "template": "SOAP" })).await,
        "transcriptionId",
    );
    assert_bad(
        post_json(
            &server,
            "/v1/summaries",
            json!({ "transcriptionId": ID, "template": "Haiku" }),
        )
        .await,
        "template",
    );

    // Behind the key, as the rest of the API.
    let response = server
        .http
        .get(server.url("/v1/recordings"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, body) = status_and_json(
        server
            .http
            .put(server.url("/v1/recordings"))
            .bearer_auth(&server.key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405, "{body}");
}
