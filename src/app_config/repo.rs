//! `config:app` in Redis, and the typed schema of its keys.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `config:app` | hash | `name, version, max_connections, timeout, debug, theme` |

use std::collections::HashMap;

use redis::AsyncCommands;
use serde_json::{Map, Value};

use crate::error::{AppError, AppResult};
use crate::redis::Redis;

/// The type of one config key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Boolean,
}

/// Every known key with its type (seed 002's `config:app`).
pub const SCHEMA: [(&str, Kind); 6] = [
    ("name", Kind::Text),
    ("version", Kind::Text),
    ("max_connections", Kind::Integer),
    ("timeout", Kind::Integer),
    ("debug", Kind::Boolean),
    ("theme", Kind::Text),
];

fn kind_of(key: &str) -> Option<Kind> {
    SCHEMA
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, kind)| *kind)
}

/// Stored text → typed JSON (a value that does not parse stays a string).
fn typed(kind: Kind, text: &str) -> Value {
    match kind {
        Kind::Text => Value::String(text.to_string()),
        Kind::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        Kind::Boolean => match text {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            other => Value::String(other.to_string()),
        },
    }
}

/// Typed JSON → stored text; the message says what is wrong.
fn stored(kind: Kind, value: &Value) -> Result<String, String> {
    match (kind, value) {
        (Kind::Text, Value::String(s)) => crate::validate::line(s, 200).map(|()| s.clone()),
        (Kind::Text, _) => Err("must be a string".into()),
        (Kind::Integer, Value::Number(n)) if n.is_i64() => Ok(n.to_string()),
        (Kind::Integer, _) => Err("must be an integer".into()),
        (Kind::Boolean, Value::Bool(b)) => Ok(b.to_string()),
        (Kind::Boolean, _) => Err("must be true or false".into()),
    }
}

/// The whole config, typed (HGETALL). Unknown fields in Redis are left out.
pub async fn get(redis: &Redis) -> AppResult<Map<String, Value>> {
    let hash: HashMap<String, String> = redis.conn().hgetall(redis.keys.config_app()).await?;
    Ok(typed_map(&hash))
}

fn typed_map(hash: &HashMap<String, String>) -> Map<String, Value> {
    SCHEMA
        .iter()
        .filter_map(|(key, kind)| Some((key.to_string(), typed(*kind, hash.get(*key)?))))
        .collect()
}

/// Validates a patch: every key known, every value of its type. Returns field/text.
pub fn validate(patch: &Map<String, Value>) -> AppResult<Vec<(String, String)>> {
    let mut errors = std::collections::BTreeMap::new();
    let mut fields = Vec::new();
    if patch.is_empty() {
        errors.insert(
            "body".to_string(),
            "send at least one config key".to_string(),
        );
    }
    for (key, value) in patch {
        match kind_of(key) {
            None => {
                errors.insert(
                    key.clone(),
                    format!("unknown config key; known: {}", known_keys()),
                );
            }
            Some(kind) => match stored(kind, value) {
                Ok(text) => fields.push((key.clone(), text)),
                Err(message) => {
                    errors.insert(key.clone(), message);
                }
            },
        }
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(AppError::Validation(errors))
    }
}

fn known_keys() -> String {
    SCHEMA
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sets the given (validated) fields and returns the whole config: one MULTI.
pub async fn set(redis: &Redis, fields: &[(String, String)]) -> AppResult<Map<String, Value>> {
    let key = redis.keys.config_app();
    let (_, hash): ((), HashMap<String, String>) = redis::pipe()
        .atomic()
        .hset_multiple(&key, fields)
        .hgetall(&key)
        .query_async(&mut redis.conn())
        .await?;
    Ok(typed_map(&hash))
}

/// Seeds fields that are not set yet (HSETNX each): re-running changes nothing.
pub async fn seed_defaults(redis: &Redis, fields: &[(String, String)]) -> AppResult<usize> {
    let key = redis.keys.config_app();
    let mut pipe = redis::pipe();
    for (field, value) in fields {
        pipe.hset_nx(&key, field, value);
    }
    let created: Vec<bool> = pipe.query_async(&mut redis.conn()).await?;
    Ok(created.into_iter().filter(|c| *c).count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip_with_their_types() {
        assert_eq!(typed(Kind::Integer, "1000"), json!(1000));
        assert_eq!(typed(Kind::Boolean, "false"), json!(false));
        assert_eq!(stored(Kind::Integer, &json!(30)).unwrap(), "30");
        assert!(stored(Kind::Integer, &json!("30")).is_err());
        assert!(stored(Kind::Boolean, &json!(1)).is_err());
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named() {
        let patch = json!({"theme": 3, "colour": "red", "debug": true});
        let Err(AppError::Validation(errors)) = validate(patch.as_object().unwrap()) else {
            panic!("expected 422");
        };
        assert!(errors.contains_key("theme") && errors.contains_key("colour"));
        assert!(!errors.contains_key("debug"));
    }
}
