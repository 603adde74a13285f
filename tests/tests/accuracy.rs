//! Precision and recall per entity on the synthetic corpus.
//!
//! A finding counts as correct when it overlaps a labelled span of the same
//! entity; a label counts as found when some finding of its entity overlaps
//! it. Overlap rather than exact spans, because for redaction what matters
//! is that the value is covered, and labels and patterns may disagree on a
//! trailing character without either being wrong. Spans are checked exactly
//! by the pattern examples.

use std::collections::BTreeMap;

use phisafe::{Entity, Scanner};
use serde::Deserialize;

#[derive(Deserialize)]
struct Doc {
    id: u64,
    text: String,
    labels: Vec<Label>,
}

#[derive(Deserialize)]
struct Label {
    entity: String,
    start: usize,
    end: usize,
}

#[derive(Default, Debug)]
struct Counts {
    tp_labels: usize,
    labels: usize,
    tp_findings: usize,
    findings: usize,
}

/// (precision, recall) floors. Aims: 0.90 / 0.95 for pattern-shaped
/// entities, 0.85 for PERSON and STREET_ADDRESS, which rely on
/// dictionaries and cues.
fn floors(e: Entity) -> (f64, f64) {
    match e {
        Entity::Person | Entity::StreetAddress => (0.85, 0.85),
        _ => (0.90, 0.95),
    }
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

#[test]
fn precision_and_recall_per_entity() {
    let corpus = include_str!("../data/corpus.jsonl");
    let scanner = Scanner::new();
    let mut counts: BTreeMap<Entity, Counts> = BTreeMap::new();
    let mut misses: Vec<String> = Vec::new();
    let mut docs = 0;
    for line in corpus.lines() {
        let doc: Doc = serde_json::from_str(line).unwrap();
        docs += 1;
        let labels: Vec<(Entity, (usize, usize))> = doc
            .labels
            .iter()
            .map(|l| (l.entity.parse().unwrap(), (l.start, l.end)))
            .collect();
        let found = scanner.scan(doc.text.as_bytes());
        for &(e, span) in &labels {
            let c = counts.entry(e).or_default();
            c.labels += 1;
            let hit = found.iter().any(|f| {
                f.entity() == e && overlaps((f.start(), f.end()), span)
            });
            if hit {
                c.tp_labels += 1;
            } else {
                misses.push(format!(
                    "doc {} missed {e} {:?}",
                    doc.id,
                    &doc.text[span.0..span.1]
                ));
            }
        }
        for f in &found {
            let c = counts.entry(f.entity()).or_default();
            c.findings += 1;
            let right = labels.iter().any(|&(e, span)| {
                e == f.entity() && overlaps((f.start(), f.end()), span)
            });
            if right {
                c.tp_findings += 1;
            } else {
                misses.push(format!(
                    "doc {} false {} {:?} via {}",
                    doc.id,
                    f.entity(),
                    &doc.text[f.range()],
                    scanner.pattern(f.pattern()).id()
                ));
            }
        }
    }
    assert!(docs >= 300, "the corpus has {docs} documents");
    let mut report = String::new();
    let mut failed = Vec::new();
    for &e in Entity::ALL {
        let c = counts.get(&e).expect("every entity is in the corpus");
        assert!(c.labels >= 20, "{e}: only {} labels", c.labels);
        let precision = c.tp_findings as f64 / c.findings.max(1) as f64;
        let recall = c.tp_labels as f64 / c.labels as f64;
        let (p_floor, r_floor) = floors(e);
        report.push_str(&format!(
            "{:<15} precision {precision:.3} recall {recall:.3} \
             ({} labels, {} findings)\n",
            e.as_str(),
            c.labels,
            c.findings
        ));
        if precision < p_floor || recall < r_floor {
            failed.push(e);
        }
    }
    println!("{report}");
    assert!(
        failed.is_empty(),
        "below floor: {failed:?}\n{report}\nfirst misses:\n{}",
        misses.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}
