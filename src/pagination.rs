//! Cursor pagination over sorted-set indexes.
//!
//! Lists are `?limit=` (1 to 100, default 20) and an opaque `cursor`; the answer is
//! `{items, next_cursor}`. Our indexes are sorted sets scored by a numeric id, so the
//! cursor is the score of the last item returned and the next page is one
//! `ZRANGE … BYSCORE` from just past it: stable under inserts (a new entry never shifts
//! a page the way an offset would) and O(log N + page) however deep the client reads.
//! Clients must treat the cursor as opaque; its encoding may change.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{AppError, AppResult};

/// Largest page a client may ask for.
pub const MAX_LIMIT: usize = 100;
/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;

/// `?limit=&cursor=` of a list endpoint.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

/// A validated page request: how many, and after which score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    /// Only items strictly past this score (in the list's direction) belong to the page.
    pub after: Option<u64>,
}

impl PageQuery {
    /// Validates `limit` and `cursor` (422 naming the field).
    pub fn page(&self) -> AppResult<Page> {
        // Parsed here, not by serde: axum's own query rejection is plain text, and a bad
        // limit deserves a 422 problem naming the field.
        let limit = match self.limit.as_deref().map(str::parse::<usize>) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                return Err(AppError::invalid(
                    "limit",
                    format!("must be 1 to {MAX_LIMIT}"),
                ));
            }
        };
        let after =
            match self.cursor.as_deref() {
                None | Some("") => None,
                Some(text) => Some(text.parse::<u64>().map_err(|_| {
                    AppError::invalid("cursor", "is not a cursor this API handed out")
                })?),
            };
        Ok(Page { limit, after })
    }
}

impl Page {
    /// The `ZRANGE … BYSCORE [REV] LIMIT 0 n` command for this page of `key`: one more
    /// item than the page holds, so the caller knows whether another page follows.
    pub fn zrange(&self, key: &str, newest_first: bool) -> redis::Cmd {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(key);
        let bound = |score: Option<u64>, open: &str| match score {
            Some(score) => format!("({score}"),
            None => open.to_string(),
        };
        if newest_first {
            cmd.arg(bound(self.after, "+inf")).arg("-inf");
        } else {
            cmd.arg(bound(self.after, "-inf")).arg("+inf");
        }
        cmd.arg("BYSCORE");
        if newest_first {
            cmd.arg("REV");
        }
        cmd.arg("LIMIT").arg(0).arg(self.limit + 1);
        cmd
    }

    /// Splits the `limit + 1` ids of [`Page::zrange`] into this page's ids and the
    /// next cursor (the last id's score; ids are numeric, and are their own score).
    pub fn split(&self, mut ids: Vec<String>) -> (Vec<String>, Option<String>) {
        if ids.len() > self.limit {
            ids.truncate(self.limit);
            let next = ids.last().cloned();
            (ids, next)
        } else {
            (ids, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, cursor: Option<&str>) -> PageQuery {
        PageQuery {
            limit: limit.map(String::from),
            cursor: cursor.map(String::from),
        }
    }

    #[test]
    fn limits_and_cursors_are_validated() {
        assert_eq!(
            query(None, None).page().unwrap(),
            Page {
                limit: 20,
                after: None
            }
        );
        assert_eq!(
            query(Some("5"), Some("1007")).page().unwrap().after,
            Some(1007)
        );
        assert!(query(Some("0"), None).page().is_err());
        assert!(query(Some("101"), None).page().is_err());
        assert!(query(Some("ten"), None).page().is_err());
        assert!(query(None, Some("abc")).page().is_err());
    }

    #[test]
    fn a_full_page_names_the_next_cursor() {
        let page = Page {
            limit: 2,
            after: None,
        };
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            page.split(ids(&["1", "2", "3"])),
            (ids(&["1", "2"]), Some("2".to_string()))
        );
        assert_eq!(page.split(ids(&["1", "2"])), (ids(&["1", "2"]), None));
    }
}
