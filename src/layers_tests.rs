//! The arrows of docs/architecture.md, checked: what each layer's code may not name. Comments and
//! test modules are not code of the layer.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, test modules left out.
fn sources(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("the source tree is readable") {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "tests" || name.ends_with("_tests.rs") || name == "tests.rs" {
                continue;
            }
            if path.is_dir() {
                walk(&path, found);
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir),
        &mut found,
    );
    assert!(!found.is_empty(), "no sources under src/{dir}");
    found
}

/// `file:line: text` for each code line of `dir` naming one of `forbidden`.
fn naming(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for path in sources(dir) {
        let text = std::fs::read_to_string(&path).expect("a source file is readable");
        // What follows `#[cfg(test)]` at the end of a file is its tests.
        let code = text.split("#[cfg(test)]\nmod ").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                continue;
            }
            if forbidden.iter().any(|word| line.contains(word)) {
                found.push(format!("{}:{}: {trimmed}", path.display(), n + 1));
            }
        }
    }
    found
}

#[test]
fn the_room_engine_knows_no_transport_store_or_format() {
    let found = naming(
        "room",
        &[
            "signal::",
            "api::",
            "webhooks::",
            "store::",
            "services::",
            "cluster::",
            "media::",
            "axum",
            "serde_json",
            "sqlx",
            "redis",
            "str0m",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn adapters_know_no_transport_and_no_room_engine() {
    for dir in ["store", "cluster"] {
        let found = naming(dir, &["room::", "signal::", "api::", "axum", "str0m"]);
        assert!(found.is_empty(), "{found:#?}");
    }
    let found = naming("store", &["services::", "cluster::"]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn services_know_no_transport() {
    for dir in ["services", "webhooks"] {
        let found = naming(dir, &["signal::", "api::", "axum", "str0m"]);
        assert!(found.is_empty(), "{found:#?}");
    }
}

#[test]
fn only_the_media_server_names_str0m() {
    for dir in [
        "api", "signal", "services", "room", "store", "cluster", "webhooks", "meeting",
    ] {
        let found = naming(dir, &["str0m"]);
        assert!(found.is_empty(), "{found:#?}");
    }
}
