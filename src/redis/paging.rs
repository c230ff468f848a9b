//! The Redis side of paging: the sorted-set windows a page is read from.
//!
//! Two shapes of list, one ZRANGE each:
//! - lists scored by numeric id (products, orders): [`IdRange`] asks `ZRANGE … BYSCORE`
//!   for one more id than the page holds, so the caller knows whether another follows;
//! - lists read newest first by time (posts, follows, timelines, activity):
//!   [`newest_first`] asks `ZRANGE … BYSCORE REV … WITHSCORES` from the cursor's score
//!   down and drops the entries tied with the cursor ([`Window`]), fetching more in
//!   the rare case ties used up the slack.
//!
//! The cursors themselves (what a client sends back) are HTTP's business and live in
//! [`crate::pagination`]; this module only builds the commands, runs them and filters
//! the replies.

use redis::{Cmd, Value};

use crate::error::AppResult;
use crate::pagination::ScoreCursor;
use crate::redis::Redis;
use crate::redis::batch::Batch;

/// Extra entries fetched beyond a page so that entries tied with the cursor's score
/// (which the filter drops) rarely force a second fetch.
const TIE_SLACK: usize = 8;

/// `ZRANGE key <from> <to> BYSCORE [REV] LIMIT 0 <count> [WITHSCORES]`: the one
/// ZRANGE every page read uses. `from` is the bound on the side the page starts at
/// (`+inf`/`-inf` for the first page).
fn zrange_by_score(key: &str, from: String, newest_first: bool, count: usize, scores: bool) -> Cmd {
    let mut cmd = redis::cmd("ZRANGE");
    cmd.arg(key).arg(from);
    if newest_first {
        cmd.arg("-inf").arg("BYSCORE").arg("REV");
    } else {
        cmd.arg("+inf").arg("BYSCORE");
    }
    cmd.arg("LIMIT").arg(0).arg(count);
    if scores {
        cmd.arg("WITHSCORES");
    }
    cmd
}

/// A validated page request: how many, and after which score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub limit: usize,
    /// Only items strictly past this score (in the list's direction) belong to the page.
    pub after: Option<u64>,
}

impl IdRange {
    /// The `ZRANGE … BYSCORE [REV] LIMIT 0 n` command for this page of `key`: one more
    /// item than the page holds, so the caller knows whether another page follows.
    pub fn zrange(&self, key: &str, newest_first: bool) -> Cmd {
        let from = match (self.after, newest_first) {
            (Some(score), _) => format!("({score}"),
            (None, true) => "+inf".to_string(),
            (None, false) => "-inf".to_string(),
        };
        zrange_by_score(key, from, newest_first, self.limit + 1, false)
    }

    /// Splits the `limit + 1` ids of [`IdRange::zrange`] into this page's ids and the
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

/// `ZRANGE key <max> -inf BYSCORE REV LIMIT 0 <count> WITHSCORES`: up to `count`
/// entries from the cursor's score down (inclusive: entries tied with the cursor are
/// removed by [`Window::from_reply`]).
fn newest_first_cmd(key: &str, after: Option<&ScoreCursor>, count: usize) -> Cmd {
    let max = after.map_or_else(|| "+inf".to_string(), |c| c.score.to_string());
    zrange_by_score(key, max, true, count, true)
}

/// How many entries to ask for to fill a page of `limit` (+1 tells whether there is a
/// next page).
fn first_fetch(limit: usize) -> usize {
    limit + 1 + TIE_SLACK
}

/// Entries of one sorted set after a cursor, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// `(member, score)`, newest first, strictly after the cursor.
    pub entries: Vec<(String, i64)>,
    /// True when Redis may hold more entries than were fetched.
    pub truncated: bool,
}

impl Window {
    /// Parses a [`newest_first_cmd`] reply for `fetched` entries and drops what is not
    /// strictly after `after`.
    pub fn from_reply(
        reply: Value,
        after: Option<&ScoreCursor>,
        fetched: usize,
    ) -> redis::RedisResult<Window> {
        let raw: Vec<(String, f64)> = redis::from_redis_value(reply)?;
        let truncated = raw.len() >= fetched;
        let entries = raw
            .into_iter()
            .map(|(member, score)| (member, score as i64))
            .filter(|(member, score)| after.is_none_or(|c| c.is_before(*score, member)))
            .collect();
        Ok(Window { entries, truncated })
    }

    /// True when ties with the cursor ate the slack, so the window holds fewer than
    /// `want` entries while Redis may hold more: fetch again with a larger count.
    pub fn needs_more(&self, want: usize) -> bool {
        self.truncated && self.entries.len() < want
    }
}

/// Reads the entries of the sorted set `key` after `after`, newest first, enough for a
/// page of `limit` plus one (which tells whether another page follows). When `owner`
/// is given (a key in the same slot, e.g. the user hash of `user:{id}:followers`), its
/// existence is checked in the same pipeline and `None` means it does not exist.
pub(crate) async fn newest_first(
    redis: &Redis,
    key: &str,
    owner: Option<&str>,
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Option<Window>> {
    let mut fetch = first_fetch(limit);
    loop {
        // Through the client-side cache (a key it does not track goes to Redis): the
        // newest page of a timeline or a post's comments is read far more often than
        // the set changes. Owner and set share a slot: one round trip on a miss.
        let mut reads = Vec::with_capacity(2);
        if let Some(owner) = owner {
            reads.push((owner.to_string(), redis::cmd("EXISTS").arg(owner).clone()));
        }
        reads.push((key.to_string(), newest_first_cmd(key, after, fetch)));
        let mut replies = redis.read_cached(reads).await?;
        let window_reply = replies.pop().unwrap_or(redis::Value::Nil);
        if let Some(exists) = replies.pop()
            && !redis::from_redis_value::<bool>(exists)?
        {
            return Ok(None);
        }
        let window = Window::from_reply(window_reply, after, fetch)?;
        if !window.needs_more(limit + 1) {
            return Ok(Some(window));
        }
        // Entries tied with the cursor's score used up the slack: ask for more.
        fetch *= 4;
    }
}

/// [`newest_first`] over many sorted sets (any slots) after the same cursor: one
/// batch, plus a retry for the rare set whose ties with the cursor ate the slack.
pub(crate) async fn newest_first_many(
    redis: &Redis,
    keys: &[String],
    after: Option<&ScoreCursor>,
    limit: usize,
) -> AppResult<Vec<Window>> {
    let fetch = first_fetch(limit);
    let mut batch = Batch::new();
    for key in keys {
        batch.add(key.clone(), newest_first_cmd(key, after, fetch));
    }
    let mut windows = Vec::with_capacity(keys.len());
    for (key, reply) in keys.iter().zip(batch.run(&redis.conn).await?) {
        let window = Window::from_reply(reply, after, fetch)?;
        windows.push(if window.needs_more(limit + 1) {
            newest_first(redis, key, None, after, limit)
                .await?
                .unwrap_or_default()
        } else {
            window
        });
    }
    Ok(windows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagination::PageQuery;

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
            IdRange {
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
        let page = IdRange {
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
