//! Pagination: `?limit=&cursor=` in, `{items, next_cursor}` out.
//!
//! Why cursors and not offsets: the lists here are sorted sets that grow at the top
//! while someone pages through them (new posts, new followers). An offset would then
//! repeat or skip items. A cursor names the last item served by its position in the
//! order, `(score, member)` for a sorted set read newest first, so the next page starts
//! strictly after it however many items were added in front. Equal scores (two posts
//! in the same millisecond) are ordered by member, as Redis orders them, so ties are
//! never split or repeated either.
//!
//! The cursor is opaque to clients (hex of the position, validated on the way in: a
//! forged cursor is a 422, never a Redis error). This module is the HTTP side: the
//! query, the cursors, and [`Page`], the one shape of every list answer. The Redis side
//! (the ZRANGE windows a page is read from) is [`crate::redis::paging`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::error::{AppError, AppResult};
use crate::redis::paging::IdRange;
use crate::redis::set_scan::{MAX_SCAN_COUNT, ScanPos};

/// Items per page when `?limit=` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest `?limit=` accepted.
pub const MAX_LIMIT: usize = 100;

/// `?limit=&cursor=` of a list endpoint.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Opaque: the `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page size; 422 naming `limit` when it is not a number in 1..=100.
    pub fn limit(&self) -> AppResult<usize> {
        match self.limit.as_deref() {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    AppError::invalid("limit", format!("must be a number from 1 to {MAX_LIMIT}"))
                }),
        }
    }

    /// Limit and position for a list read newest first by score.
    pub fn by_score(&self) -> AppResult<(usize, Option<ScoreCursor>)> {
        let limit = self.limit()?;
        let after = self
            .cursor
            .as_deref()
            .map(ScoreCursor::decode)
            .transpose()?;
        Ok((limit, after))
    }

    /// Limit and position for a sorted set scored by numeric id (products, orders):
    /// the cursor is the last id served.
    pub fn page(&self) -> AppResult<IdRange> {
        let limit = self.limit()?;
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| bad_cursor())?),
        };
        Ok(IdRange { limit, after })
    }
}

/// One page of a list, the answer of every list endpoint: `{items, next_cursor}`.
///
/// In the OpenAPI document each page keeps the name its clients know (`PostPage`,
/// `OrderPage`, …): the item type says it through [`Paged`], and each area declares
/// `pub type PostPage = Page<Post>;` for its handlers' `body = PostPage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// An item type that is listed in pages: the page's schema name and description.
pub trait Paged: ToSchema {
    /// The page's schema name in the OpenAPI document, e.g. `PostPage`.
    const PAGE_NAME: &'static str;
    /// The page schema's description.
    const PAGE_DESCRIPTION: &'static str;

    /// The schema of `items`: an array of references to the item schema.
    fn items_schema() -> ArrayBuilder {
        ArrayBuilder::new().items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            Self::name(),
        )))
    }

    /// Whether the item schema is a component (a primitive like `String` is not).
    const ITEM_IS_COMPONENT: bool = true;
}

impl<T: Paged> PartialSchema for Page<T> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some(T::PAGE_DESCRIPTION))
            .property("items", T::items_schema())
            .required("items")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                        Type::String,
                        Type::Null,
                    ]))
                    .description(Some(
                        "Pass as `?cursor=` for the next page; `null` on the last page.",
                    )),
            )
            .into()
    }
}

impl<T: Paged> ToSchema for Page<T> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed(T::PAGE_NAME)
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        if T::ITEM_IS_COMPONENT {
            schemas.push((T::name().into_owned(), T::schema()));
            T::schemas(schemas);
        }
    }
}

/// Page of user ids (`/v1/tags/{tag}/users`): strings, not a component.
impl Paged for String {
    const PAGE_NAME: &'static str = "UserIdPage";
    const PAGE_DESCRIPTION: &'static str = "A page of user ids.";
    const ITEM_IS_COMPONENT: bool = false;

    // The derive this replaces wrote `example` too (what generated clients show).
    #[allow(deprecated)]
    fn items_schema() -> ArrayBuilder {
        ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(Type::String))
            .example(Some(serde_json::json!(["1", "2"])))
    }
}

fn bad_cursor() -> AppError {
    AppError::invalid(
        "cursor",
        "is not a cursor this list handed out; use `next_cursor` unchanged",
    )
}

fn decode_text(text: &str) -> AppResult<String> {
    if text.len() > 2048 {
        return Err(bad_cursor());
    }
    let bytes = hex::decode(text).map_err(|_| bad_cursor())?;
    String::from_utf8(bytes).map_err(|_| bad_cursor())
}

/// Position in a list ordered newest first: the score and member of the last item
/// served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreCursor {
    pub score: i64,
    pub member: String,
}

impl ScoreCursor {
    pub fn new(score: i64, member: impl Into<String>) -> ScoreCursor {
        ScoreCursor {
            score,
            member: member.into(),
        }
    }

    /// The opaque text a client sends back.
    pub fn encode(&self) -> String {
        hex::encode(format!("{}|{}", self.score, self.member))
    }

    /// 422 naming `cursor` for anything [`ScoreCursor::encode`] did not produce.
    pub fn decode(text: &str) -> AppResult<ScoreCursor> {
        let text = decode_text(text)?;
        let (score, member) = text.split_once('|').ok_or_else(bad_cursor)?;
        let score = score.parse().map_err(|_| bad_cursor())?;
        if member.is_empty() {
            return Err(bad_cursor());
        }
        Ok(ScoreCursor::new(score, member))
    }

    /// True when `(score, member)` comes strictly after this cursor in newest-first
    /// order: a lower score, or the same score and a lower member (Redis orders equal
    /// scores by member bytes, and `ZRANGE … REV` reverses that).
    pub fn is_before(&self, score: i64, member: &str) -> bool {
        score < self.score || (score == self.score && member.as_bytes() < self.member.as_bytes())
    }
}

/// The page of `limit` out of `entries` (sorted newest first, possibly more than
/// `limit`), and the cursor of its last entry when more follow.
pub fn split_page(
    mut entries: Vec<(String, i64)>,
    limit: usize,
    more_beyond: bool,
) -> (Vec<(String, i64)>, Option<String>) {
    let more = entries.len() > limit || more_beyond;
    entries.truncate(limit);
    let next = match entries.last() {
        Some((member, score)) if more => Some(ScoreCursor::new(*score, member.clone()).encode()),
        _ => None,
    };
    (entries, next)
}

/// Sorts entries newest first (score, then member, both descending: Redis's `REV`
/// order) and removes repeated members, keeping the first.
pub fn sort_newest_first(entries: &mut Vec<(String, i64)>) {
    entries.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| b.0.as_bytes().cmp(a.0.as_bytes()))
    });
    let mut seen = std::collections::HashSet::new();
    entries.retain(|(member, _)| seen.insert(member.clone()));
}

/// Position in a list walked over one of several sets with SSCAN
/// ([`crate::redis::set_scan`]): which set (`part`, e.g. the index of a tag in the
/// query) and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCursor {
    pub part: usize,
    pub pos: ScanPos,
}

impl SetCursor {
    /// Most sets one walk may span (the tag queries name at most 10).
    const MAX_PARTS: usize = 64;

    /// The opaque text a client sends back.
    pub fn encode(&self) -> String {
        hex::encode(format!(
            "{}|{}|{}|{}",
            self.part,
            self.pos.scan,
            self.pos.count,
            self.pos.after.as_deref().unwrap_or("")
        ))
    }

    /// 422 naming `cursor` for anything [`SetCursor::encode`] did not produce, and for
    /// a `COUNT` above [`MAX_SCAN_COUNT`] (a forged one would make SSCAN read a whole
    /// set).
    pub fn decode(text: &str) -> AppResult<SetCursor> {
        let text = decode_text(text)?;
        let mut fields = text.splitn(4, '|');
        let mut number = || -> AppResult<u64> {
            fields
                .next()
                .and_then(|f| f.parse().ok())
                .ok_or_else(bad_cursor)
        };
        let (part, scan, count) = (number()? as usize, number()?, number()? as usize);
        let after = fields.next().ok_or_else(bad_cursor)?;
        if part >= Self::MAX_PARTS || !(1..=MAX_SCAN_COUNT).contains(&count) {
            return Err(bad_cursor());
        }
        Ok(SetCursor {
            part,
            pos: ScanPos {
                scan,
                count,
                after: (!after.is_empty()).then(|| after.to_string()),
            },
        })
    }

    /// The cursor of `?cursor=`, if any.
    pub fn from_query(cursor: Option<&str>) -> AppResult<Option<SetCursor>> {
        cursor.map(SetCursor::decode).transpose()
    }
}

/// A newest-first position in one of two sorted sets (`part` 0 or 1), for walks that
/// pick the set on the first page and must keep to it (common followers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartScoreCursor {
    pub part: usize,
    pub at: ScoreCursor,
}

impl PartScoreCursor {
    pub fn encode(&self) -> String {
        hex::encode(format!(
            "{}|{}|{}",
            self.part, self.at.score, self.at.member
        ))
    }

    pub fn decode(text: &str) -> AppResult<PartScoreCursor> {
        let text = decode_text(text)?;
        let (part, rest) = text.split_once('|').ok_or_else(bad_cursor)?;
        let part = match part {
            "0" => 0,
            "1" => 1,
            _ => return Err(bad_cursor()),
        };
        let (score, member) = rest.split_once('|').ok_or_else(bad_cursor)?;
        let score = score.parse().map_err(|_| bad_cursor())?;
        if member.is_empty() {
            return Err(bad_cursor());
        }
        Ok(PartScoreCursor {
            part,
            at: ScoreCursor::new(score, member),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        let cursor = ScoreCursor::new(1_700_000_000_123, "p42");
        assert_eq!(ScoreCursor::decode(&cursor.encode()).unwrap(), cursor);
        for bad in ["", "zz", "00", &hex::encode("12"), &hex::encode("x|p1")] {
            assert!(ScoreCursor::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn set_cursors_round_trip_and_refuse_a_forged_count() {
        let cursor = SetCursor {
            part: 2,
            pos: ScanPos {
                scan: 123456,
                count: 100,
                after: Some("a|b".into()),
            },
        };
        assert_eq!(SetCursor::decode(&cursor.encode()).unwrap(), cursor);
        let start = SetCursor {
            part: 0,
            pos: ScanPos::start(20),
        };
        assert_eq!(SetCursor::decode(&start.encode()).unwrap(), start);
        for bad in ["0|0|1000000|", "0|0|0|", "99|0|10|", "x|0|10|", "0|0|10"] {
            assert!(SetCursor::decode(&hex::encode(bad)).is_err(), "{bad:?}");
        }
        let common = PartScoreCursor {
            part: 1,
            at: ScoreCursor::new(17, "42"),
        };
        assert_eq!(PartScoreCursor::decode(&common.encode()).unwrap(), common);
        assert!(PartScoreCursor::decode(&hex::encode("2|17|42")).is_err());
    }

    #[test]
    fn ties_are_ordered_by_member_like_redis_rev() {
        let cursor = ScoreCursor::new(10, "p5");
        assert!(cursor.is_before(9, "p9"));
        assert!(cursor.is_before(10, "p4"));
        assert!(!cursor.is_before(10, "p5"));
        assert!(!cursor.is_before(10, "p6"));
        assert!(!cursor.is_before(11, "p1"));
    }

    #[test]
    fn limits_are_bounded() {
        let query = |limit: &str| PageQuery {
            limit: Some(limit.to_string()),
            cursor: None,
        };
        assert_eq!(PageQuery::default().limit().unwrap(), DEFAULT_LIMIT);
        assert_eq!(query("100").limit().unwrap(), 100);
        for bad in ["0", "101", "-1", "x", ""] {
            assert!(query(bad).limit().is_err(), "{bad:?}");
        }
    }
}
