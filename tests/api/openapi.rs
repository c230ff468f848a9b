//! The OpenAPI document: committed, complete, and honest about Redis.

use serde_json::Value;

/// `openapi/openapi.json` must be what `agora openapi` prints (run `make openapi`).
#[test]
fn the_committed_document_matches_the_code() {
    let generated = agora::app::openapi().to_pretty_json().unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed");
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `make openapi` and commit it"
    );
}

#[test]
fn every_operation_documents_its_responses_and_redis_commands() {
    let doc: Value = serde_json::to_value(agora::app::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 8);
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has no responses");
            for (status, response) in responses {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
            let description = operation["description"].as_str().unwrap_or_default();
            if path.starts_with("/v1/") || path == "/readyz" || path == "/metrics" {
                assert!(
                    description.contains("Redis"),
                    "{method} {path} does not name its Redis commands"
                );
            }
        }
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
}

/// Generated clients name a function (or a type member) after each `operationId`: two
/// operations with one id (the `/api` adapter's `login` beside `/v1`'s) broke the
/// TypeScript types ("Duplicate identifier") and made the Python client pick one.
#[test]
fn every_operation_id_is_unique() {
    let doc: Value = serde_json::to_value(agora::app::openapi()).unwrap();
    let mut seen = std::collections::HashMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            if let Some(other) = seen.insert(id.to_string(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and {method} {path}");
            }
        }
    }
}
