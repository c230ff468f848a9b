//! Experiment types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::validate::{self, Validator};

/// An experiment's variants and their weights (relative; they need not sum to 100).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    #[schema(example = json!({"control": 50, "new_checkout": 50}))]
    pub variants: BTreeMap<String, u32>,
}

impl Experiment {
    pub fn validate(&self) -> AppResult<()> {
        let mut v = Validator::new();
        if !(2..=20).contains(&self.variants.len()) {
            v.check("variants", Err("must name 2 to 20 variants".into()));
        }
        for (name, weight) in &self.variants {
            v.check(&format!("variants.{name}"), validate::id(name));
            if *weight == 0 || *weight > 1_000_000 {
                v.check(
                    &format!("variants.{name}"),
                    Err("weight must be 1 to 1000000".into()),
                );
            }
        }
        v.finish()
    }

    /// Picks a variant with probability proportional to its weight.
    pub fn pick(&self, roll: f64) -> Option<&str> {
        let total: u64 = self.variants.values().map(|w| *w as u64).sum();
        let mut point = (roll.clamp(0.0, 0.999_999) * total as f64) as u64;
        for (name, weight) in &self.variants {
            if point < *weight as u64 {
                return Some(name);
            }
            point -= *weight as u64;
        }
        self.variants.keys().next().map(String::as_str)
    }
}

/// A subject's variant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Assignment {
    pub experiment: String,
    pub subject: String,
    pub variant: String,
    /// True when this call made the assignment (the subject's first call).
    pub new: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_weight() {
        let e = Experiment {
            variants: BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 3)]),
        };
        assert_eq!(e.pick(0.0), Some("a"));
        assert_eq!(e.pick(0.24), Some("a"));
        assert_eq!(e.pick(0.26), Some("b"));
        assert_eq!(e.pick(1.0), Some("b"));
    }
}
