//! Groups delta over many groups. Group delta is scoped by object id only
//! (`$filter=id eq '…' or id eq '…'`), and that filter is bounded: Graph refuses more than 15
//! `or` clauses (`Request_UnsupportedQuery` "… Max allowed: 15", seen in public reports; the
//! limit is not documented) and URLs have a length limit. So the tracked groups go in chunks,
//! each chunk is its own delta round, and the round's [`DeltaLink`] holds one link per chunk,
//! separated by a space (URLs never contain one). A round over one chunk stores a plain link,
//! as before. When the tenant refuses even 15 ("Max allowed: N" with a smaller N), the rounds
//! start again with N ids each and the tenant's client keeps N.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::types::{DeltaLink, DeltaPage, DeltaStart, GroupChange};
use super::{DeltaStream, GraphDirectory, delta};
use crate::directory::wire::GroupWire;
use crate::error::MicrosoftError;
use crate::odata::{literal, query};
use crate::tenant::TenantCore;

/// Most group ids in one `$filter`, unless the tenant said it takes fewer.
pub(crate) const GROUPS_PER_ROUND: usize = 15;
/// Longest query string sent (a common server default; Graph documents none).
const MAX_QUERY_LEN: usize = 2000;
const SELECT: &str = "id,displayName,members";

/// The query of a groups delta over `ids` (all groups when empty).
pub(crate) fn round_query(ids: &[String]) -> String {
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

/// Splits the tracked groups into rounds of at most `per_round` ids and a query short enough.
pub(crate) fn rounds(ids: &[String], per_round: usize) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for id in ids {
        current.push(id.clone());
        let too_long = round_query(&current).len() > MAX_QUERY_LEN;
        if current.len() > per_round.max(1) || (too_long && current.len() > 1) {
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

/// The limit in Graph's refusal of a `$filter` with too many `or` clauses ("… Max allowed:
/// 15."), when it is that refusal.
fn max_allowed(e: &MicrosoftError) -> Option<usize> {
    match e {
        MicrosoftError::Rejected {
            status: 400,
            code,
            message,
            ..
        } => filter_limit(code, message),
        _ => None,
    }
}

/// The limit named by a 400 answer's Graph error code and message, if it is the refusal of a
/// `$filter` with too many `or` clauses.
pub(crate) fn filter_limit(code: &str, message: &str) -> Option<usize> {
    if !code.eq_ignore_ascii_case("Request_UnsupportedQuery") {
        return None;
    }
    let (_, after) = message.split_once("Max allowed:")?;
    after
        .trim()
        .trim_end_matches('.')
        .trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
}

/// Builds the rounds again with at most this many ids each (fresh starts only).
type Rebuild = Box<dyn Fn(usize) -> Vec<DeltaStream<GroupChange>> + Send>;

/// Pages of several delta rounds in turn; the last page carries every round's link.
struct Chain {
    rounds: VecDeque<DeltaStream<GroupChange>>,
    current: Option<DeltaStream<GroupChange>>,
    links: Vec<String>,
    /// Rounds per `$filter` size, and the size in use, when the rounds start fresh.
    rebuild: Option<(Rebuild, usize)>,
    /// A page was handed out: starting again would repeat it.
    yielded: bool,
}

fn chain(
    rounds: Vec<DeltaStream<GroupChange>>,
    rebuild: Option<(Rebuild, usize)>,
) -> DeltaStream<GroupChange> {
    let state = Chain {
        rounds: rounds.into(),
        current: None,
        links: Vec::new(),
        rebuild,
        yielded: false,
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
                    st.yielded = true;
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
                Some(Err(e)) => {
                    // The tenant takes fewer ids per filter than the rounds hold: start
                    // again with its limit (nothing was handed out yet, so nothing repeats).
                    let smaller = max_allowed(&e)
                        .filter(|n| !st.yielded && st.rebuild.as_ref().is_some_and(|(_, per)| n < per));
                    if let (Some(n), Some((rebuild, per))) = (smaller, st.rebuild.as_mut()) {
                        tracing::info!(limit = n, "Graph takes fewer group ids per delta filter; tracking the groups in smaller rounds");
                        *per = n;
                        st.rounds = rebuild(n).into();
                        st.current = None;
                        st.links.clear();
                        continue;
                    }
                    return Some((Err(e), None));
                }
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
        let open = |core: Arc<TenantCore>, first: Result<String, MicrosoftError>| {
            delta(core, first, what.into(), GroupWire::into_change)
        };
        if let DeltaStart::Resume(link) = &start {
            let streams = link
                .as_str()
                .split_whitespace()
                .map(|l| open(self.core.clone(), self.core.graph_link(l, what)))
                .collect();
            return chain(streams, None);
        }
        let core = self.core.clone();
        let ids = group_ids.to_vec();
        let build = move |per_round: usize| -> Vec<DeltaStream<GroupChange>> {
            let directory = GraphDirectory { core: core.clone() };
            rounds(&ids, per_round)
                .iter()
                .map(|chunk| {
                    let fresh = core.graph_url(&format!("/groups/delta?{}", round_query(chunk)));
                    open(core.clone(), directory.start_url(&start, fresh, what))
                })
                .collect()
        };
        let tenant = self.core.clone();
        let per_round = tenant
            .learned
            .groups_per_round()
            .unwrap_or(GROUPS_PER_ROUND);
        let first = build(per_round);
        let rebuild: Rebuild = Box::new(move |n| {
            tenant.learned.set_groups_per_round(n);
            build(n)
        });
        chain(first, Some((rebuild, per_round)))
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
        assert_eq!(rounds(&[], 15), vec![Vec::<String>::new()]);
        assert_eq!(rounds(&ids(15), 15).len(), 1);
        assert_eq!(rounds(&ids(15), 10).len(), 2);
        let r = rounds(&ids(300), GROUPS_PER_ROUND);
        assert_eq!(r.len(), 20);
        assert!(r.iter().all(|c| c.len() <= GROUPS_PER_ROUND));
        assert_eq!(r.concat(), ids(300));
        assert!(r.iter().all(|c| round_query(c).len() <= MAX_QUERY_LEN));
    }
}

#[cfg(test)]
mod refusal_tests {
    use super::*;

    #[test]
    fn the_limit_is_read_from_graphs_refusal_only() {
        let refusal = |code: &str, message: &str| MicrosoftError::Rejected {
            what: "track changes to the sync groups".into(),
            status: 400,
            code: code.into(),
            message: message.into(),
            request_id: None,
        };
        assert_eq!(
            max_allowed(&refusal(
                "Request_UnsupportedQuery",
                "Too many child clauses specified in search filter expression containing 'OR' operators: 15. Max allowed: 10."
            )),
            Some(10)
        );
        assert_eq!(
            max_allowed(&refusal("Request_UnsupportedQuery", "Unsupported query.")),
            None
        );
        assert_eq!(
            max_allowed(&refusal("BadRequest", "Max allowed: 10.")),
            None
        );
    }
}
