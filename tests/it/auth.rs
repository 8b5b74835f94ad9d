//! API keys: the bearer key guards every REST route.

use serde_json::json;

use crate::helpers::{LATER, Server, cli, status_and_json};

#[tokio::test]
async fn requests_without_a_valid_key_get_401() {
    let server = Server::start().await;
    let url = server.url("/v1/meetings");
    let attempts = [
        server.http.get(&url),
        server.http.get(&url).bearer_auth("ar_not-a-real-key"),
        server
            .http
            .get(&url)
            .header("Authorization", format!("Basic {}", server.key)),
        server.http.get(&url).header("Authorization", "Bearer "),
        server.http.post(&url).json(&json!({"endDate": LATER})),
        server.http.delete(server.url("/v1/meetings/1")),
    ];
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 401);
        assert_eq!(body, json!({"error": "Access token is missing or invalid"}));
    }
    // The right key works, in any case of the scheme name.
    let response = server
        .http
        .get(&url)
        .header("Authorization", format!("bearer {}", server.key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_revoked_key_stops_working_within_a_second() {
    let server = Server::start().await;
    let dir = server.data_dir.path().to_str().unwrap().to_owned();
    let (ok, second_key, _) = cli(&["api-key", "create", "--data-dir", &dir, "--name", "ci"]).await;
    assert!(ok);
    let second_key = second_key.trim().to_owned();
    let get = |key: String| {
        server
            .http
            .get(server.url("/v1/meetings"))
            .bearer_auth(key)
            .send()
    };
    assert_eq!(get(second_key.clone()).await.unwrap().status(), 200);

    let (ok, listing, _) = cli(&["api-key", "list", "--data-dir", &dir]).await;
    assert!(ok);
    let line = listing
        .lines()
        .find(|l| l.ends_with(" ci"))
        .expect("the named key is listed");
    let id = line.split_whitespace().next().unwrap();
    let (ok, _, _) = cli(&["api-key", "revoke", "--data-dir", &dir, id]).await;
    assert!(ok);

    // Verified keys are trusted for up to a second (KEY_CACHE_TTL) before the store is asked again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(second_key).await.unwrap().status(), 401);
    assert_eq!(
        get(server.key.clone()).await.unwrap().status(),
        200,
        "other keys unaffected"
    );
}
