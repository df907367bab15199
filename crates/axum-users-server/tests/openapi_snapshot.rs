//! The OpenAPI document the server serves with its default settings, pinned in
//! `tests/snapshots/openapi-server-v15.json`: every change to it shows up in review.
//! `UPDATE_SNAPSHOTS=1 cargo test -p axum-users-server --test openapi_snapshot` rewrites it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

use std::path::PathBuf;

use axum_users_server::{Config, docs};
use serde_json::Value;

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[test]
fn the_served_document_matches_its_snapshot() {
    let doc = serde_json::to_value(docs::v15_document(&Config::default())).unwrap();
    let text = serde_json::to_string_pretty(&sorted(&doc)).unwrap() + "\n";
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi-server-v15.json");
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let pinned = std::fs::read_to_string(&path).unwrap_or_default();
    if pinned != text {
        let old: Vec<&str> = pinned.lines().collect();
        let new: Vec<&str> = text.lines().collect();
        let mut diff = String::new();
        for l in old.iter().filter(|l| !new.contains(l)) {
            diff.push_str(&format!("- {l}\n"));
        }
        for l in new.iter().filter(|l| !old.contains(l)) {
            diff.push_str(&format!("+ {l}\n"));
        }
        panic!(
            "the served OpenAPI document changed; if intended, rerun with UPDATE_SNAPSHOTS=1 and \
             commit {}:\n{diff}",
            path.display()
        );
    }
}
