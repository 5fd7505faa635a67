//! Stable ring IDs across runs: today's rings take the IDs of yesterday's rings they continue,
//! matched by member overlap, and the changes are reported as births, deaths, merges, splits
//! and membership changes, so investigators can follow a ring over weeks.
//!
//! Members are external account IDs (indices change between runs; IDs do not). Today's ring `T`
//! and a previous ring `P` are linked when their overlap is at least `min_share` of either one.
//! Links are then assigned greedily by overlap (largest first, ties by previous ID and today's
//! index), each previous ID going to at most one of today's rings. A ring that takes no ID gets a
//! new one derived from its members, so the same input always gives the same IDs.

use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// A ring of an earlier run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PreviousRing {
    /// Its ID.
    pub id: String,
    /// Member account IDs.
    pub members: Vec<String>,
}

/// A change between the previous run and today's.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RingEvent {
    /// A ring continuing no previous ring.
    Born {
        /// Its new ID.
        id: String,
    },
    /// A previous ring that nothing continues.
    Died {
        /// Its ID.
        id: String,
    },
    /// Several previous rings continue as one.
    Merged {
        /// The ID the merged ring kept.
        into: String,
        /// The other previous rings it absorbed.
        from: Vec<String>,
    },
    /// A previous ring continues as several.
    Split {
        /// The previous ring, whose ID one part kept.
        from: String,
        /// The other parts' IDs.
        into: Vec<String>,
    },
    /// A continuing ring gained or lost members.
    MembersChanged {
        /// Its ID.
        id: String,
        /// Accounts that joined.
        joined: Vec<String>,
        /// Accounts that left.
        left: Vec<String>,
    },
}

/// Today's IDs, in the order of `today`, and the events.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Lineage {
    /// ID of each of today's rings.
    pub ids: Vec<String>,
    /// Births, deaths, merges, splits and membership changes, in a stable order.
    pub events: Vec<RingEvent>,
}

/// A new ring's ID: a hash of its sorted members, so a rerun names it the same.
pub fn new_ring_id(members: &[String]) -> String {
    let mut sorted: Vec<&str> = members.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let digest = Sha256::digest(sorted.join("\n").as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("ring-{hex}")
}

/// Matches `today`'s rings (member IDs) to `previous` ones; see the module docs.
pub fn match_rings(previous: &[PreviousRing], today: &[Vec<String>], min_share: f64) -> Lineage {
    let sets_prev: Vec<HashSet<&str>> = previous
        .iter()
        .map(|p| p.members.iter().map(String::as_str).collect())
        .collect();
    let sets_today: Vec<HashSet<&str>> = today
        .iter()
        .map(|t| t.iter().map(String::as_str).collect())
        .collect();
    // (overlap, previous index, today index) of every linked pair.
    let mut links = Vec::new();
    for (i, p) in sets_prev.iter().enumerate() {
        for (j, t) in sets_today.iter().enumerate() {
            let overlap = p.intersection(t).count();
            let linked = overlap > 0
                && (overlap as f64 >= min_share * p.len() as f64
                    || overlap as f64 >= min_share * t.len() as f64);
            if linked {
                links.push((overlap, i, j));
            }
        }
    }
    links.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| previous[a.1].id.cmp(&previous[b.1].id))
            .then_with(|| a.2.cmp(&b.2))
    });
    let mut kept_by: Vec<Option<usize>> = vec![None; previous.len()];
    let mut continues: Vec<Option<usize>> = vec![None; today.len()];
    for &(_, i, j) in &links {
        if kept_by[i].is_none() && continues[j].is_none() {
            kept_by[i] = Some(j);
            continues[j] = Some(i);
        }
    }
    let ids: Vec<String> = (0..today.len())
        .map(|j| match continues[j] {
            Some(i) => previous[i].id.clone(),
            None => new_ring_id(&today[j]),
        })
        .collect();

    let mut events = Vec::new();
    for j in 0..today.len() {
        let linked_prev: Vec<usize> = links.iter().filter(|l| l.2 == j).map(|l| l.1).collect();
        match continues[j] {
            None if linked_prev.is_empty() => events.push(RingEvent::Born { id: ids[j].clone() }),
            None => {} // a split-off part, reported with its split below
            Some(i) => {
                let mut from: Vec<String> = linked_prev
                    .iter()
                    .filter(|&&k| k != i && kept_by[k].is_none())
                    .map(|&k| previous[k].id.clone())
                    .collect();
                from.sort();
                if !from.is_empty() {
                    events.push(RingEvent::Merged {
                        into: ids[j].clone(),
                        from,
                    });
                }
                let mut joined: Vec<String> = sets_today[j]
                    .difference(&sets_prev[i])
                    .map(|s| s.to_string())
                    .collect();
                let mut left: Vec<String> = sets_prev[i]
                    .difference(&sets_today[j])
                    .map(|s| s.to_string())
                    .collect();
                joined.sort();
                left.sort();
                if !joined.is_empty() || !left.is_empty() {
                    events.push(RingEvent::MembersChanged {
                        id: ids[j].clone(),
                        joined,
                        left,
                    });
                }
            }
        }
    }
    for (i, p) in previous.iter().enumerate() {
        let linked_today: Vec<usize> = links.iter().filter(|l| l.1 == i).map(|l| l.2).collect();
        if linked_today.is_empty() {
            events.push(RingEvent::Died { id: p.id.clone() });
            continue;
        }
        let mut into: Vec<String> = linked_today
            .iter()
            .filter(|&&j| kept_by[i] != Some(j) && continues[j].is_none())
            .map(|&j| ids[j].clone())
            .collect();
        into.sort();
        if kept_by[i].is_some() && !into.is_empty() {
            events.push(RingEvent::Split {
                from: p.id.clone(),
                into,
            });
        }
    }
    Lineage { ids, events }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(prefix: &str, range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| format!("{prefix}{i}")).collect()
    }

    fn prev(id: &str, members: Vec<String>) -> PreviousRing {
        PreviousRing {
            id: id.into(),
            members,
        }
    }

    #[test]
    fn a_continuing_ring_keeps_its_id_and_reports_who_joined_and_left() {
        let previous = [prev("ring-a", ring("u", 0..10))];
        let today = [ring("u", 2..12)];
        let l = match_rings(&previous, &today, 0.5);
        assert_eq!(l.ids, ["ring-a"]);
        assert_eq!(
            l.events,
            [RingEvent::MembersChanged {
                id: "ring-a".into(),
                joined: vec!["u10".into(), "u11".into()],
                left: vec!["u0".into(), "u1".into()],
            }]
        );
        assert!(
            match_rings(&previous, &[ring("u", 0..10)], 0.5)
                .events
                .is_empty()
        );
    }

    #[test]
    fn births_and_deaths() {
        let previous = [prev("ring-old", ring("x", 0..5))];
        let today = [ring("y", 0..5)];
        let l = match_rings(&previous, &today, 0.5);
        assert_eq!(l.ids, [new_ring_id(&today[0])]);
        assert!(l.ids[0].starts_with("ring-") && l.ids[0] != "ring-old");
        assert_eq!(
            l.events,
            [
                RingEvent::Born {
                    id: l.ids[0].clone()
                },
                RingEvent::Died {
                    id: "ring-old".into()
                }
            ]
        );
        // The same members in another order get the same new ID.
        let mut shuffled = today[0].clone();
        shuffled.reverse();
        assert_eq!(new_ring_id(&shuffled), l.ids[0]);
    }

    #[test]
    fn merges_keep_the_larger_overlap_and_splits_name_their_parts() {
        let previous = [
            prev("ring-a", ring("u", 0..6)),
            prev("ring-b", ring("u", 6..10)),
        ];
        let merged = match_rings(&previous, &[ring("u", 0..10)], 0.5);
        assert_eq!(merged.ids, ["ring-a"]);
        assert!(merged.events.contains(&RingEvent::Merged {
            into: "ring-a".into(),
            from: vec!["ring-b".into()],
        }));

        let previous = [prev("ring-c", ring("v", 0..10))];
        let today = [ring("v", 0..4), ring("v", 4..10)];
        let split = match_rings(&previous, &today, 0.5);
        assert_eq!(split.ids[1], "ring-c", "the larger part keeps the ID");
        assert_eq!(split.ids[0], new_ring_id(&today[0]));
        assert_eq!(
            split.events,
            [
                RingEvent::MembersChanged {
                    id: "ring-c".into(),
                    joined: vec![],
                    left: ring("v", 0..4),
                },
                RingEvent::Split {
                    from: "ring-c".into(),
                    into: vec![split.ids[0].clone()],
                }
            ]
        );
    }
}
