//! Which records a pass audits: a slice of the desired set that rotates through it.
//!
//! Kamailio's set changes only through Teamline's RPC and through restarts (a restart is seen
//! in `core.uptime` and answered with a full read). Anything else — a record removed, changed
//! or disabled at the gateway's console — is found by auditing: each pass reads a bounded
//! slice of records back one by one (`uac.reg_info`) and repairs what differs. The slice
//! starts after the last record audited, in id order, and wraps around, so a record wanted
//! throughout is audited within [`passes_per_lap`] passes whatever is added or removed
//! meanwhile (the cursor is an id, not a position).

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::ops::Bound;

/// How many records a pass audits by default: about 0.1 s of `uac.reg_info` calls on a
/// 2-core machine, and 10 000 records audited every 40 passes (80 s at the default 2-s tick).
pub const DEFAULT_AUDIT_PER_PASS: usize = 250;

/// The rotation's position: the last id audited.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    after: Option<String>,
}

impl AuditCursor {
    /// The next `size` ids of `ids` (sorted, as a map's keys are) after the cursor, wrapping
    /// around to the start; every id once when there are no more than `size`. Moves the
    /// cursor to the last id returned.
    pub fn next_slice<'a, K, V>(&mut self, ids: &'a BTreeMap<K, V>, size: usize) -> Vec<&'a str>
    where
        K: Borrow<str> + Ord,
    {
        if ids.len() <= size {
            self.after = None;
            return ids.keys().map(Borrow::borrow).collect();
        }
        let after = match &self.after {
            Some(a) => ids.range::<str, _>((Bound::Excluded(a.as_str()), Bound::Unbounded)),
            None => ids.range::<str, _>(..),
        };
        let slice: Vec<&str> = after
            .chain(ids.iter())
            .take(size)
            .map(|(k, _)| k.borrow())
            .collect();
        self.after = slice.last().map(|s| (*s).to_owned());
        slice
    }
}

/// How many passes audit every one of `records` records, `per_pass` at a time.
pub fn passes_per_lap(records: usize, per_pass: usize) -> usize {
    records.div_ceil(per_pass.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(n: usize) -> BTreeMap<String, ()> {
        (0..n).map(|i| (format!("r{i:04}"), ())).collect()
    }

    #[test]
    fn a_small_set_is_audited_whole_every_pass() {
        let set = ids(3);
        let mut c = AuditCursor::default();
        for _ in 0..3 {
            assert_eq!(c.next_slice(&set, 5), vec!["r0000", "r0001", "r0002"]);
        }
    }

    #[test]
    fn slices_rotate_through_the_set_and_wrap_around() {
        let set = ids(10);
        let mut c = AuditCursor::default();
        assert_eq!(
            c.next_slice(&set, 4),
            vec!["r0000", "r0001", "r0002", "r0003"]
        );
        assert_eq!(
            c.next_slice(&set, 4),
            vec!["r0004", "r0005", "r0006", "r0007"]
        );
        // The end of the set: the slice goes on from the start, still 4 records.
        assert_eq!(
            c.next_slice(&set, 4),
            vec!["r0008", "r0009", "r0000", "r0001"]
        );
        assert_eq!(
            c.next_slice(&set, 4),
            vec!["r0002", "r0003", "r0004", "r0005"]
        );
    }

    #[test]
    fn every_record_is_audited_within_one_lap() {
        let set = ids(1003);
        let per_pass = 250;
        let lap = passes_per_lap(set.len(), per_pass);
        assert_eq!(lap, 5);
        let mut c = AuditCursor::default();
        // From any starting point: a lap always covers the whole set.
        c.next_slice(&set, 17);
        let mut seen = BTreeSet::new();
        for _ in 0..lap {
            let slice = c.next_slice(&set, per_pass);
            assert_eq!(slice.len(), per_pass, "every pass costs the same");
            seen.extend(slice);
        }
        assert_eq!(seen.len(), set.len());
    }

    #[test]
    fn records_added_or_removed_meanwhile_do_not_make_others_wait_longer() {
        let mut set = ids(100);
        let mut c = AuditCursor::default();
        c.next_slice(&set, 30); // r0000..r0029
        // The cursor's own record goes, and records come before and after it.
        set.remove("r0029");
        set.insert("r0015a".into(), ());
        set.insert("r0050a".into(), ());
        let next = c.next_slice(&set, 30);
        assert_eq!(next.first(), Some(&"r0030"), "goes on where it stopped");
        assert!(next.contains(&"r0050a"));
        let lap = passes_per_lap(set.len(), 30);
        let mut seen: BTreeSet<&str> = next.into_iter().collect();
        for _ in 1..lap {
            seen.extend(c.next_slice(&set, 30));
        }
        assert_eq!(seen.len(), set.len(), "one lap still covers every record");
    }

    #[test]
    fn an_empty_set_audits_nothing() {
        let set = ids(0);
        assert!(AuditCursor::default().next_slice(&set, 10).is_empty());
        assert_eq!(passes_per_lap(0, 10), 1);
    }
}
