//! RFC 2782's order of SRV targets: lowest priority first; within one priority, a weighted
//! random order (zero-weight targets first in the list before drawing, so they are picked
//! rarely but not never).

use rand::{Rng, RngExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvTarget {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

pub fn order_srv<R: Rng + ?Sized>(mut records: Vec<SrvTarget>, rng: &mut R) -> Vec<SrvTarget> {
    records.sort_by_key(|r| r.priority);
    let mut out = Vec::with_capacity(records.len());
    let mut rest = records.as_slice();
    while let Some(first) = rest.first() {
        let end = rest
            .iter()
            .position(|r| r.priority != first.priority)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(end);
        let mut group: Vec<SrvTarget> = group.to_vec();
        group.sort_by_key(|r| r.weight != 0);
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = rng.random_range(0..=total);
            let mut running = 0u32;
            let idx = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(idx));
        }
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn t(priority: u16, weight: u16, target: &str) -> SrvTarget {
        SrvTarget {
            priority,
            weight,
            port: 5060,
            target: target.to_owned(),
        }
    }

    #[test]
    fn lower_priority_always_comes_first() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let o = order_srv(
                vec![t(20, 100, "c"), t(10, 1, "a"), t(10, 1, "b"), t(30, 0, "d")],
                &mut rng,
            );
            let prios: Vec<u16> = o.iter().map(|r| r.priority).collect();
            assert_eq!(prios, vec![10, 10, 20, 30]);
        }
    }

    #[test]
    fn weight_decides_how_often_a_target_is_first() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut heavy_first = 0;
        let mut zero_first = 0;
        for _ in 0..4000 {
            let o = order_srv(
                vec![t(10, 90, "heavy"), t(10, 10, "light"), t(10, 0, "zero")],
                &mut rng,
            );
            assert_eq!(o.len(), 3);
            match o[0].target.as_str() {
                "heavy" => heavy_first += 1,
                "zero" => zero_first += 1,
                _ => {}
            }
        }
        // 90 of 100 (+1 for the zero-weight draw) in expectation; generous bounds.
        assert!((3200..3900).contains(&heavy_first), "{heavy_first}");
        assert!(zero_first < 200, "{zero_first}");
    }
}
