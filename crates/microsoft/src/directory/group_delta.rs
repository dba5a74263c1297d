//! Groups delta over many groups. Group delta is scoped by object id only
//! (`$filter=id eq '…' or id eq '…'`), and that filter is bounded: Graph refuses more than 15
//! `or` clauses (`Request_UnsupportedQuery` "… Max allowed: 15", seen in public reports; the
//! limit is not documented) and URLs have a length limit. So the tracked groups go in chunks,
//! each chunk is its own delta round, and the round's [`DeltaLink`] holds one link per chunk,
//! separated by a space (URLs never contain one). A round over one chunk stores a plain link,
//! as before.

use std::collections::VecDeque;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::types::{DeltaLink, DeltaPage, DeltaStart, GroupChange};
use super::{DeltaStream, GraphDirectory, delta};
use crate::directory::wire::GroupWire;
use crate::error::MicrosoftError;
use crate::odata::{literal, query};

/// Most group ids in one `$filter`.
pub(crate) const GROUPS_PER_ROUND: usize = 15;
/// Longest query string sent (a common server default; Graph documents none).
const MAX_QUERY_LEN: usize = 2000;
const SELECT: &str = "id,displayName,members";

/// The query of a groups delta over `ids` (all groups when empty).
fn round_query(ids: &[String]) -> String {
    if ids.is_empty() {
        return query(&[("$select", SELECT)]);
    }
    let filter = ids
        .iter()
        .map(|id| format!("id eq {}", literal(id)))
        .collect::<Vec<_>>()
        .join(" or ");
    query(&[("$select", SELECT), ("$filter", &filter)])
}

/// Splits the tracked groups into rounds small enough for Graph's filter limits.
pub(crate) fn rounds(ids: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for id in ids {
        current.push(id.clone());
        let too_long = round_query(&current).len() > MAX_QUERY_LEN;
        if current.len() > GROUPS_PER_ROUND || (too_long && current.len() > 1) {
            let last = current.pop();
            out.push(std::mem::take(&mut current));
            current.extend(last);
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// Pages of several delta rounds in turn; the last page carries every round's link.
struct Chain {
    rounds: VecDeque<DeltaStream<GroupChange>>,
    current: Option<DeltaStream<GroupChange>>,
    links: Vec<String>,
}

fn chain(rounds: Vec<DeltaStream<GroupChange>>) -> DeltaStream<GroupChange> {
    let state = Chain {
        rounds: rounds.into(),
        current: None,
        links: Vec::new(),
    };
    futures::stream::unfold(Some(state), |state| async move {
        let mut st = state?;
        loop {
            let stream = match st.current.as_mut() {
                Some(s) => s,
                None => {
                    st.current = Some(st.rounds.pop_front()?);
                    continue;
                }
            };
            match stream.next().await {
                Some(Ok(mut page)) => {
                    if let Some(link) = page.delta_link.take() {
                        st.links.push(link.0);
                        st.current = None;
                        if st.rounds.is_empty() {
                            page.delta_link = Some(DeltaLink(st.links.join(" ")));
                            return Some((Ok(page), None));
                        }
                    }
                    return Some((Ok(page), Some(st)));
                }
                Some(Err(e)) => return Some((Err(e), None)),
                // A round that ended without a link was already reported as an error.
                None => return None,
            }
        }
    })
    .boxed()
}

impl GraphDirectory {
    pub(crate) fn chunked_groups_delta(
        &self,
        start: DeltaStart,
        group_ids: &[String],
    ) -> BoxStream<'static, Result<DeltaPage<GroupChange>, MicrosoftError>> {
        let what = "track changes to the sync groups";
        let firsts: Vec<Result<String, MicrosoftError>> = match &start {
            DeltaStart::Resume(link) => link
                .as_str()
                .split_whitespace()
                .map(|l| self.core.graph_link(l, what))
                .collect(),
            DeltaStart::Initial | DeltaStart::Latest => rounds(group_ids)
                .iter()
                .map(|ids| {
                    let fresh = self
                        .core
                        .graph_url(&format!("/groups/delta?{}", round_query(ids)));
                    self.start_url(&start, fresh, what)
                })
                .collect(),
        };
        let streams = firsts
            .into_iter()
            .map(|first| {
                delta(
                    self.core.clone(),
                    first,
                    what.into(),
                    GroupWire::into_change,
                )
            })
            .collect();
        chain(streams)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
            .collect()
    }

    #[test]
    fn groups_are_tracked_in_rounds_of_at_most_fifteen() {
        assert_eq!(rounds(&[]), vec![Vec::<String>::new()]);
        assert_eq!(rounds(&ids(15)).len(), 1);
        let r = rounds(&ids(300));
        assert_eq!(r.len(), 20);
        assert!(r.iter().all(|c| c.len() <= GROUPS_PER_ROUND));
        assert_eq!(r.concat(), ids(300));
        assert!(r.iter().all(|c| round_query(c).len() <= MAX_QUERY_LEN));
    }
}
