//! Scores the default scanner and redactor on the labelled corpus.
//!
//! ```sh
//! cargo run --release -p phisafe-tests --example eval -- [DOCS] [--templates] [--notes N] [--grep WORD] [--cover] [--redact-min-score S]
//! ```
//!
//! Prints recall, precision, leak (gold values with no covered byte) and
//! survival (gold values left in `redact` output) per entity and genre,
//! then the first N misses and false findings (those containing WORD).

#![allow(clippy::print_stdout, reason = "a report printer")]

use phisafe::{Redactor, Scanner};
use phisafe_tests::{Scores, load, redact_doc, scan_doc, uncovered};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let docs = args.first().and_then(|a| a.parse().ok()).unwrap_or(3000);
    let templates = args.iter().any(|a| a == "--templates");
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let notes: usize =
        flag("--notes").and_then(|n| n.parse().ok()).unwrap_or(0);
    let grep = flag("--grep");
    let cover = args.iter().any(|a| a == "--cover");
    let corpus = load(docs);
    let scanner = Scanner::new();
    // `--redact-min-score S`: the redactor's threshold, to weigh a
    // recall-first redactor against the report's threshold.
    let redact_scanner = match flag("--redact-min-score")
        .and_then(|s| s.parse().ok())
    {
        Some(s) => {
            Scanner::builder().min_score(s).build().expect("a valid threshold")
        }
        None => scanner.clone(),
    };
    let redactor = Redactor::new(redact_scanner);
    let mut scores = Scores::default();
    let t = std::time::Instant::now();
    let mut bytes = 0;
    for doc in &corpus {
        let found = scan_doc(&scanner, doc);
        let out = redact_doc(&redactor, doc);
        bytes += doc.text.len();
        scores.add(doc, &found, Some(&out));
    }
    println!("{}", scores.report(templates));
    if cover {
        // Text-mode findings that the structured reading does not cover.
        let mut by: std::collections::BTreeMap<String, (usize, Vec<String>)> =
            Default::default();
        for doc in &corpus {
            for f in uncovered(&scanner, doc) {
                let e = by
                    .entry(format!("{} {}", doc.genre, doc.template))
                    .or_default();
                e.0 += 1;
                if e.1.len() < 4 {
                    let a = f.start.saturating_sub(30);
                    let b = (f.end + 10).min(doc.text.len());
                    let ctx =
                        String::from_utf8_lossy(&doc.text.as_bytes()[a..b]);
                    e.1.push(format!(
                        "{:?} {:?} in {ctx:?}",
                        f.entity,
                        &doc.text[f.start..f.end]
                    ));
                }
            }
        }
        for (k, (n, ex)) in by {
            println!("uncovered {k}: {n}");
            for e in ex {
                println!("    {e}");
            }
        }
    }
    println!("{} documents, {bytes} bytes, {:.2?}", corpus.len(), t.elapsed());
    let mut shown = 0;
    for n in &scores.notes {
        if grep.as_ref().is_none_or(|g| n.contains(g.as_str()))
            && shown < notes
        {
            println!("{n}");
            shown += 1;
        }
    }
}
