//! Overlap resolution.
//!
//! Two findings conflict when they overlap, unless one lies strictly inside
//! the other and they are of different entity types: an SSN in a URL's query
//! string is a second fact, while a number read as both a phone and an SSN
//! is one fact read two ways. Within each group of transitively overlapping
//! findings, the best (higher score, then longer, then earlier, then lower
//! pattern index) wins and conflicting ones are dropped; first, a reading
//! of one entity that lies inside a wider reading of the same entity gives
//! way to it and lends it its score, so no part of the wide one is left in
//! the text. Working group by group keeps the outcome independent of where
//! a stream was cut.

use crate::Finding;

fn conflict(a: &Finding, b: &Finding) -> bool {
    let overlap = a.start < b.end && b.start < a.end;
    if !overlap {
        return false;
    }
    let a_in_b = b.start <= a.start && a.end <= b.end;
    let b_in_a = a.start <= b.start && b.end <= a.end;
    let same_span = a.start == b.start && a.end == b.end;
    !(a.entity != b.entity && (a_in_b || b_in_a) && !same_span)
}

/// Resolves one overlap group, appending survivors to `out` in start order.
/// Groups up to this size merge nested readings of one entity; larger
/// ones (only hostile input makes them) skip that quadratic step.
const MERGE_NESTED: usize = 256;

fn resolve_group(group: &mut [Finding], out: &mut Vec<Finding>) {
    if group.len() == 1 {
        out.push(group[0]);
        return;
    }
    // One entity read narrow and wide (`jo@clinic.ex` inside the value of
    // `email=`): the wide reading covers the narrow one and stays, with
    // the better score. Keeping the narrow one would leave the rest of
    // the wide one in the text.
    let mut nested = 0;
    if group.len() <= MERGE_NESTED {
        for i in 0..group.len() {
            let inner = group[i];
            let outer = group.iter().position(|o| {
                o.score != f32::NEG_INFINITY
                    && o.entity == inner.entity
                    && o.start <= inner.start
                    && inner.end <= o.end
                    && (o.start, o.end) != (inner.start, inner.end)
            });
            if let Some(o) = outer {
                group[o].score = group[o].score.max(inner.score);
                group[i].score = f32::NEG_INFINITY;
                nested += 1;
            }
        }
    }
    group.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
            .then(a.pattern.cmp(&b.pattern))
    });
    let first = out.len();
    for f in &group[..group.len() - nested] {
        if out[first..].iter().all(|kept| !conflict(kept, f)) {
            out.push(*f);
        }
    }
    out[first..]
        .sort_by_key(|f| (f.start, std::cmp::Reverse(f.end), f.pattern));
}

/// Resolves the groups of `raw` (sorted by start) that are closed: those
/// that no finding starting at or after `horizon` can join. Survivors are
/// appended to `out`; returns how many raw findings were consumed.
pub(crate) fn resolve(
    raw: &mut [Finding],
    horizon: usize,
    out: &mut Vec<Finding>,
) -> usize {
    let mut start = 0;
    while start < raw.len() {
        let mut end = start + 1;
        let mut max_end = raw[start].end;
        while end < raw.len() && raw[end].start < max_end {
            max_end = max_end.max(raw[end].end);
            end += 1;
        }
        if end == raw.len() && horizon < max_end {
            break;
        }
        resolve_group(&mut raw[start..end], out);
        start = end;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entity, PatternId};

    fn f(entity: Entity, start: usize, end: usize, score: f32) -> Finding {
        Finding { entity, start, end, score, pattern: PatternId(0) }
    }

    fn run(mut raw: Vec<Finding>) -> Vec<(Entity, usize, usize)> {
        raw.sort_by_key(|f| f.start);
        let mut out = Vec::new();
        let n = resolve(&mut raw, usize::MAX, &mut out);
        assert_eq!(n, raw.len());
        out.iter().map(|f| (f.entity, f.start, f.end)).collect()
    }

    #[test]
    fn competing_readings_keep_the_best() {
        let got = run(vec![
            f(Entity::Phone, 0, 10, 0.6),
            f(Entity::Npi, 0, 10, 0.9),
        ]);
        assert_eq!(got, vec![(Entity::Npi, 0, 10)]);
        // Equal score: the longer reading wins.
        let got =
            run(vec![f(Entity::Date, 0, 8, 0.8), f(Entity::Date, 0, 14, 0.8)]);
        assert_eq!(got, vec![(Entity::Date, 0, 14)]);
    }

    #[test]
    fn a_wide_reading_of_one_entity_covers_a_narrow_one() {
        // The narrow reading scores higher, but keeping it alone would
        // leave the rest of the wide one in the text.
        let mut raw = vec![
            f(Entity::Email, 0, 30, 0.85),
            f(Entity::Email, 6, 18, 0.95),
            f(Entity::Email, 8, 12, 0.9),
        ];
        let mut out = Vec::new();
        resolve(&mut raw, usize::MAX, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].start, out[0].end, out[0].score), (0, 30, 0.95));
    }

    #[test]
    fn nested_other_entity_is_kept() {
        let got =
            run(vec![f(Entity::Url, 0, 40, 0.9), f(Entity::Ssn, 25, 36, 0.9)]);
        assert_eq!(got, vec![(Entity::Url, 0, 40), (Entity::Ssn, 25, 36)]);
        // Crossing spans conflict even across entities.
        let got = run(vec![
            f(Entity::Phone, 0, 10, 0.5),
            f(Entity::Ssn, 5, 15, 0.9),
        ]);
        assert_eq!(got, vec![(Entity::Ssn, 5, 15)]);
    }

    #[test]
    fn open_group_waits_for_horizon() {
        let mut raw =
            vec![f(Entity::Ssn, 0, 5, 0.9), f(Entity::Ssn, 10, 20, 0.9)];
        let mut out = Vec::new();
        assert_eq!(resolve(&mut raw, 15, &mut out), 1);
        assert_eq!(out.len(), 1);
    }
}
