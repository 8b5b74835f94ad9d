//! Whereby's point budget: read 1, delete 2, write 3 per minute for the whole server.

use serde_json::json;

use crate::helpers::{LATER, Server, status_and_json};
use crate::schema::{THROTTLE, assert_valid};

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn points_are_spent_by_weight_and_429_follows_the_spec() {
    let server = Server::start_with(&["--rate-limit-points", "10"]).await;
    // Two writes (6) and one delete (2): 8 spent.
    for expected_remaining in ["7", "4"] {
        let response = server
            .post("/v1/meetings")
            .json(&json!({"endDate": LATER}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(header(&response, "x-ratelimit-limit"), "10");
        assert_eq!(
            header(&response, "x-ratelimit-remaining"),
            expected_remaining
        );
        let reset = header(&response, "x-ratelimit-reset");
        assert!(
            chrono::DateTime::parse_from_rfc2822(&reset).is_ok(),
            "reset is a date: {reset}"
        );
    }
    let response = server.delete("/v1/meetings/1").send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "x-ratelimit-remaining"), "2");

    // A write (3) no longer fits; two reads (1 each) still do.
    let response = server
        .post("/v1/meetings")
        .json(&json!({"endDate": LATER}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = header(&response, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&response, "x-ratelimit-remaining"), "2");
    let (_, body) = status_and_json(response).await;
    assert_valid(THROTTLE, &body);
    let ms_left = body["data"]["msLeft"].as_u64().unwrap();
    assert!(ms_left > 0 && ms_left <= 60_000, "{ms_left}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Rate limit active")
    );

    for _ in 0..2 {
        assert_eq!(
            server.get("/v1/meetings").send().await.unwrap().status(),
            200
        );
    }
    let response = server.get("/v1/meetings").send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "x-ratelimit-remaining"), "0");

    // Unauthenticated requests are refused before they can spend the budget.
    let response = server
        .http
        .get(server.url("/v1/meetings"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
