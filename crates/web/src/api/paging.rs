//! Cursor paging: a list answers one page and an opaque `next_cursor` to ask for the next.
//! Clients must not build cursors themselves; what one holds may change between versions.

use super::problem::Problem;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Where a page starts and how long it is.
pub struct Window {
    pub offset: u32,
    pub limit: u32,
}

impl PageParams {
    pub fn window(&self) -> Result<Window, Problem> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let offset = match &self.cursor {
            None => 0,
            Some(c) => decode(c).ok_or_else(|| {
                Problem::field(
                    "cursor",
                    "is not a cursor this API gave out: pass the `next_cursor` of the previous page unchanged",
                )
            })?,
        };
        Ok(Window { offset, limit })
    }
}

fn decode(cursor: &str) -> Option<u32> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("o:")?
        .parse()
        .ok()
}

fn encode(offset: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

/// A cursor for lists paged by position in time (the audit log): the last item's time and id,
/// so events written meanwhile neither repeat nor go missing.
pub fn encode_keyset(at_ms: i64, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("k:{at_ms}.{id}"))
}

pub fn decode_keyset(cursor: &str) -> Option<(i64, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let (at, id) = std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("k:")?
        .split_once('.')?;
    Some((at.parse().ok()?, id.parse().ok()?))
}

/// A cursor for lists paged by a row (the PBX users): the last item's id, so the next page
/// starts after it in the list's order wherever it now stands.
pub fn encode_after(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("a:{id}"))
}

pub fn decode_after(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("a:")?
        .parse()
        .ok()
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// How many items the whole list has.
    pub total: u64,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    pub fn new(items: Vec<T>, total: u64, window: &Window) -> Self {
        let end = u64::from(window.offset) + items.len() as u64;
        let next_cursor = (end < total)
            .then(|| u32::try_from(end).ok().map(encode))
            .flatten();
        Self {
            items,
            total,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_a_forged_one_is_refused() {
        let p = PageParams {
            cursor: Some(encode(150)),
            limit: Some(50),
        };
        assert_eq!(p.window().map(|w| w.offset).ok(), Some(150));
        let forged = PageParams {
            cursor: Some("150".into()),
            limit: None,
        };
        assert!(forged.window().is_err());
        let page = Paged::new(
            vec![1, 2],
            4,
            &Window {
                offset: 0,
                limit: 2,
            },
        );
        assert_eq!(page.next_cursor.as_deref().and_then(decode), Some(2));
        let last = Paged::new(
            vec![3, 4],
            4,
            &Window {
                offset: 2,
                limit: 2,
            },
        );
        assert!(last.next_cursor.is_none());
        assert_eq!(decode_keyset(&encode_keyset(17, 4)), Some((17, 4)));
        assert_eq!(decode_keyset(&encode(150)), None);
        assert_eq!(decode_after(&encode_after(-3)), Some(-3));
        assert_eq!(decode_after(&encode(150)), None);
    }
}
