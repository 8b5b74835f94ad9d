//! Validates responses against the schemas of Whereby's OpenAPI file, loaded as it is published
//! (`reference/whereby-openapi.json`, a verbatim copy), never against schemas copied by hand.

use std::sync::LazyLock;

use serde_json::Value;

static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/reference/whereby-openapi.json"
    );
    let text = std::fs::read_to_string(path).expect("the OpenAPI file is in reference/");
    serde_json::from_str(&text).expect("the OpenAPI file is JSON")
});

/// JSON pointers to the schemas our responses answer to.
pub const MEETING: &str = "/components/schemas/Meeting";
pub const MEETING_LIST: &str =
    "/paths/~1meetings/get/responses/200/content/application~1json/schema";
pub const RECORDING_LIST: &str =
    "/paths/~1recordings/get/responses/200/content/application~1json/schema";
pub const TRANSCRIPTION_LIST: &str =
    "/paths/~1transcriptions/get/responses/200/content/application~1json/schema";
pub const SUMMARY_LIST: &str =
    "/paths/~1summaries/get/responses/200/content/application~1json/schema";
pub const THROTTLE: &str = "/components/responses/ThrottleError/content/application~1json/schema";
pub const INSIGHT_ROOMS: &str =
    "/paths/~1insights~1rooms/get/responses/200/content/application~1json/schema";
pub const INSIGHT_SESSIONS: &str =
    "/paths/~1insights~1room-sessions/get/responses/200/content/application~1json/schema";
pub const INSIGHT_PARTICIPANTS: &str =
    "/paths/~1insights~1participants/get/responses/200/content/application~1json/schema";
pub const INSIGHT_PARTICIPANT: &str =
    "/paths/~1insights~1participant/get/responses/200/content/application~1json/schema";

/// Panics with every violation when `instance` does not validate against the schema at `pointer`.
pub fn assert_valid(pointer: &str, instance: &Value) {
    let mut root = SPEC.clone();
    assert!(
        root.pointer(pointer).is_some(),
        "no schema at {pointer} in the OpenAPI file"
    );
    if root
        .pointer(&format!("{pointer}/properties/cursor"))
        .is_some()
    {
        // The file's own description of every `cursor` says "If there are no more results, the value
        // returned is `null`", but its schema (OpenAPI 3.0, no `nullable`) allows only strings. We
        // follow the description (docs/api.md says so); everything else is checked as published.
        let cursor = root
            .pointer_mut(&format!("{pointer}/properties/cursor"))
            .expect("checked above");
        cursor["type"] = serde_json::json!(["string", "null"]);
    }
    // OpenAPI 3.0 schemas are JSON Schema draft 4 with extra keywords (ignored here). `$ref` beside the
    // document's other keys makes the whole file the resolution root.
    root["$ref"] = Value::String(format!("#{pointer}"));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&root)
        .expect("the OpenAPI schemas compile");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "response does not match {pointer}: {errors:#?}\n{instance:#}"
    );
}

#[test]
fn the_validator_rejects_what_the_spec_forbids() {
    // A check that the checker can fail: a meeting without its required fields, or a bad URL.
    let missing = serde_json::json!({ "roomName": "/x" });
    assert!(std::panic::catch_unwind(|| assert_valid(MEETING, &missing)).is_err());
    let bad_uri = serde_json::json!({ "meetingId": "1", "roomUrl": "not a uri", "endDate": "2030-01-01T00:00:00.000Z" });
    assert!(std::panic::catch_unwind(|| assert_valid(MEETING, &bad_uri)).is_err());
    let bad_date =
        serde_json::json!({ "meetingId": "1", "roomUrl": "http://x/y", "endDate": "tomorrow" });
    assert!(std::panic::catch_unwind(|| assert_valid(MEETING, &bad_date)).is_err());
    let good = serde_json::json!({ "meetingId": "1", "roomUrl": "http://x/y", "endDate": "2030-01-01T00:00:00.000Z" });
    assert_valid(MEETING, &good);
}
