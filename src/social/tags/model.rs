//! Tag types: path and query parsing, and the lists the API returns.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{AppError, AppResult};
use crate::pagination::{Page, Paged};
use crate::users::PublicUser;
use crate::validate;

/// Most tags one `?tags_all=` / `?tags_any=` may name.
pub const MAX_QUERY_TAGS: usize = 10;

/// A tag as stored: trimmed and lower-cased (`Premium` and `premium` are one tag),
/// then checked so it cannot forge a key; 422 naming `field` otherwise.
pub fn parse_tag(field: &str, raw: &str) -> AppResult<String> {
    let tag = raw.trim().to_lowercase();
    validate::tag(&tag).map_err(|message| AppError::invalid(field, message))?;
    Ok(tag)
}

/// Query of `GET /v1/users`: exactly one of the two.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TagSearch {
    /// Comma-separated tags: users having every one of them (an intersection, paged
    /// with SSCAN + SMISMEMBER).
    #[param(example = "premium,developer")]
    pub tags_all: Option<String>,
    /// Comma-separated tags: users having at least one of them (a union, paged with
    /// SSCAN of each set in turn).
    #[param(example = "designer,developer")]
    pub tags_any: Option<String>,
}

/// What a tag search asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    All(Vec<String>),
    Any(Vec<String>),
}

impl TagSearch {
    /// The parsed search; 422 when neither or both are given, or a tag is invalid.
    pub fn parse(&self) -> AppResult<Match> {
        match (&self.tags_all, &self.tags_any) {
            (Some(list), None) => Ok(Match::All(parse_list("tags_all", list)?)),
            (None, Some(list)) => Ok(Match::Any(parse_list("tags_any", list)?)),
            _ => Err(AppError::invalid(
                "tags_all",
                "give exactly one of tags_all or tags_any",
            )),
        }
    }
}

fn parse_list(field: &str, list: &str) -> AppResult<Vec<String>> {
    let mut tags = Vec::new();
    for raw in list.split(',').filter(|t| !t.trim().is_empty()) {
        let tag = parse_tag(field, raw)?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.is_empty() || tags.len() > MAX_QUERY_TAGS {
        return Err(AppError::invalid(
            field,
            format!("name 1 to {MAX_QUERY_TAGS} comma-separated tags"),
        ));
    }
    Ok(tags)
}

/// A page of users: their public profiles.
pub type UserPage = Page<PublicUser>;

impl Paged for PublicUser {
    const PAGE_NAME: &'static str = "UserPage";
    const PAGE_DESCRIPTION: &'static str = "A page of users: their public profiles.";
}

/// A page of user ids.
pub type UserIdPage = Page<String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_need_exactly_one_valid_list() {
        let search = |all: Option<&str>, any: Option<&str>| TagSearch {
            tags_all: all.map(String::from),
            tags_any: any.map(String::from),
        };
        assert_eq!(
            search(Some("Premium, developer,premium"), None)
                .parse()
                .unwrap(),
            Match::All(vec!["premium".into(), "developer".into()])
        );
        assert!(search(None, None).parse().is_err());
        assert!(search(Some("a"), Some("b")).parse().is_err());
        assert!(search(None, Some("a:b")).parse().is_err());
        assert!(search(None, Some(",")).parse().is_err());
        let many = (0..=MAX_QUERY_TAGS)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(search(Some(&many), None).parse().is_err());
    }
}
