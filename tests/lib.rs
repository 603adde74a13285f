//! The synthetic labelled corpus and the measures taken on it.
//!
//! `scripts/gen_corpus.py` writes the corpus (every value invented); this
//! crate loads it (generating it under `target/corpus/` when the generator
//! changed) and scores a scanner's findings and a redactor's output
//! against its gold labels. The integration tests (`tests/`), the CLI's
//! end-to-end leak test and `examples/eval.rs` all measure through here.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use phisafe::format::Format;
use phisafe::format::csv::CsvOptions;
use phisafe::{Entity, Redactor, Scanner};
use serde::Deserialize;

pub mod coverage;

/// One labelled document.
#[derive(Debug, Deserialize)]
pub struct Doc {
    /// Index in the corpus.
    pub id: u64,
    /// `note`, `log`, `hl7`, `dicom`, `json` or `table`.
    pub genre: String,
    /// The template or format that wrote it.
    pub template: String,
    /// How the text is meant to be read: `text`, `json`, `jsonl`, `csv`,
    /// `pg-dump`, `mysql-dump` or `sql`.
    pub format: String,
    /// The extension a file of it would carry (`csv`, `tsv`, `sql` ...).
    pub ext: String,
    /// The document.
    pub text: String,
    /// Gold spans, UTF-8 byte offsets.
    pub labels: Vec<Label>,
}

/// A gold span.
#[derive(Debug, Deserialize)]
pub struct Label {
    /// Canonical entity name.
    pub entity: String,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Label {
    /// The label's entity.
    pub fn entity(&self) -> Entity {
        self.entity.parse().expect("the generator writes canonical names")
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The corpus of `docs` documents, generated once per generator version
/// under `target/corpus/` (or read from `$PHISAFE_CORPUS`).
pub fn load(docs: usize) -> Vec<Doc> {
    let path = match std::env::var_os("PHISAFE_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => generate(docs),
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(|l| {
            serde_json::from_str(l).expect("the generator writes valid lines")
        })
        .collect()
}

fn generate(docs: usize) -> PathBuf {
    let root = root();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut sources = vec![root.join("scripts/gen_corpus.py")];
    let mut pkg: Vec<PathBuf> = std::fs::read_dir(root.join("scripts/corpus"))
        .expect("scripts/corpus exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    pkg.sort();
    sources.extend(pkg);
    for p in ["core/patterns/names/first.txt", "core/patterns/names/last.txt"]
    {
        sources.push(root.join(p));
    }
    for s in &sources {
        std::fs::read(s).expect("generator source").hash(&mut h);
    }
    docs.hash(&mut h);
    let dir = root.join("target/corpus");
    let out = dir.join(format!("corpus-{docs}-{:016x}.jsonl", h.finish()));
    if out.exists() {
        return out;
    }
    std::fs::create_dir_all(&dir).expect("target/corpus");
    let tmp = out.with_extension("tmp");
    let file = std::fs::File::create(&tmp).expect("corpus temp file");
    let status = Command::new("python3")
        .arg(root.join("scripts/gen_corpus.py"))
        .args(["--docs", &docs.to_string()])
        .stdout(file)
        .status()
        .expect("python3 runs scripts/gen_corpus.py (Python 3.10 or later)");
    assert!(status.success(), "scripts/gen_corpus.py failed");
    std::fs::rename(&tmp, &out).expect("rename corpus");
    out
}

/// A finding reduced to what scoring needs.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    /// Its entity.
    pub entity: Entity,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Counts for one entity.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Gold labels.
    pub labels: usize,
    /// Gold labels overlapped by a finding of their entity.
    pub found: usize,
    /// Gold labels with no byte covered by any finding.
    pub leaked: usize,
    /// Findings.
    pub findings: usize,
    /// Findings overlapping a gold label of their entity.
    pub correct: usize,
    /// Gold labels whose text survives in the redacted output.
    pub survived: usize,
}

impl Counts {
    /// Share of gold labels found with their entity.
    pub fn recall(&self) -> f64 {
        self.found as f64 / self.labels.max(1) as f64
    }
    /// Share of findings that are right.
    pub fn precision(&self) -> f64 {
        self.correct as f64 / self.findings.max(1) as f64
    }
    /// Share of gold labels with no covered byte.
    pub fn leak(&self) -> f64 {
        self.leaked as f64 / self.labels.max(1) as f64
    }
    /// Share of gold labels left whole in redacted output.
    pub fn survival(&self) -> f64 {
        self.survived as f64 / self.labels.max(1) as f64
    }
    fn add(&mut self, o: &Counts) {
        self.labels += o.labels;
        self.found += o.found;
        self.leaked += o.leaked;
        self.findings += o.findings;
        self.correct += o.correct;
        self.survived += o.survived;
    }
}

/// Scores of a corpus run, by entity and by genre.
#[derive(Debug, Default)]
pub struct Scores {
    /// Per entity.
    pub by_entity: BTreeMap<Entity, Counts>,
    /// Per genre (all entities).
    pub by_genre: BTreeMap<String, Counts>,
    /// Per template (all entities).
    pub by_template: BTreeMap<String, Counts>,
    /// Bytes outside every gold label.
    pub innocent_bytes: usize,
    /// Of those, bytes inside some finding.
    pub innocent_covered: usize,
    /// Misses and false findings, one line each, for diagnosis.
    pub notes: Vec<String>,
}

impl Scores {
    /// Scores one document: its findings and (if given) its redaction.
    pub fn add(&mut self, doc: &Doc, found: &[Span], redacted: Option<&[u8]>) {
        let text = doc.text.as_bytes();
        let mut per: BTreeMap<Entity, Counts> = BTreeMap::new();
        for l in &doc.labels {
            let e = l.entity();
            let c = per.entry(e).or_default();
            c.labels += 1;
            let span = (l.start, l.end);
            if found
                .iter()
                .any(|f| f.entity == e && overlaps((f.start, f.end), span))
            {
                c.found += 1;
            }
            let covered =
                found.iter().any(|f| overlaps((f.start, f.end), span));
            let value = &text[l.start..l.end];
            if !covered {
                c.leaked += 1;
                self.notes.push(format!(
                    "{} {} missed {e} {:?}",
                    doc.id,
                    doc.template,
                    String::from_utf8_lossy(value)
                ));
            } else if !found
                .iter()
                .any(|f| f.entity == e && overlaps((f.start, f.end), span))
            {
                self.notes.push(format!(
                    "{} {} mislabelled {e} {:?}",
                    doc.id,
                    doc.template,
                    String::from_utf8_lossy(value)
                ));
            }
            if let Some(out) = redacted
                && survives(text, &doc.labels, l, out)
            {
                c.survived += 1;
            }
        }
        for f in found {
            let c = per.entry(f.entity).or_default();
            c.findings += 1;
            let right = doc.labels.iter().any(|l| {
                l.entity() == f.entity
                    && overlaps((f.start, f.end), (l.start, l.end))
            });
            if right {
                c.correct += 1;
            } else {
                let gold = doc
                    .labels
                    .iter()
                    .any(|l| overlaps((f.start, f.end), (l.start, l.end)));
                if !gold {
                    self.notes.push(format!(
                        "{} {} false {} {:?}",
                        doc.id,
                        doc.template,
                        f.entity,
                        String::from_utf8_lossy(
                            &text[f.start.min(text.len())
                                ..f.end.min(text.len())]
                        )
                    ));
                }
            }
        }
        let mut gold = vec![false; text.len()];
        for l in &doc.labels {
            gold[l.start..l.end].iter_mut().for_each(|g| *g = true);
        }
        let mut hit = vec![false; text.len()];
        for f in found {
            hit[f.start.min(text.len())..f.end.min(text.len())]
                .iter_mut()
                .for_each(|h| *h = true);
        }
        for (g, h) in gold.iter().zip(&hit) {
            if !g {
                self.innocent_bytes += 1;
                self.innocent_covered += usize::from(*h);
            }
        }
        for (e, c) in per {
            self.by_entity.entry(e).or_default().add(&c);
            self.by_genre.entry(doc.genre.clone()).or_default().add(&c);
            self.by_template.entry(doc.template.clone()).or_default().add(&c);
        }
    }

    /// All entities together.
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for c in self.by_entity.values() {
            t.add(c);
        }
        t
    }

    /// Share of innocent bytes that were covered by findings.
    pub fn overmask(&self) -> f64 {
        self.innocent_covered as f64 / self.innocent_bytes.max(1) as f64
    }

    /// A table of the scores.
    pub fn report(&self, templates: bool) -> String {
        let mut s = String::new();
        let row = |s: &mut String, name: &str, c: &Counts| {
            let _ = writeln!(
                s,
                "{name:<22} labels {:>6}  recall {:.3}  precision {:.3}  leak {:.3}  survive {:.3}",
                c.labels,
                c.recall(),
                c.precision(),
                c.leak(),
                c.survival()
            );
        };
        for (e, c) in &self.by_entity {
            row(&mut s, e.as_str(), c);
        }
        s.push('\n');
        for (g, c) in &self.by_genre {
            row(&mut s, g, c);
        }
        if templates {
            s.push('\n');
            for (g, c) in &self.by_template {
                row(&mut s, g, c);
            }
        }
        s.push('\n');
        row(&mut s, "ALL", &self.total());
        let _ = writeln!(s, "innocent bytes redacted: {:.4}", self.overmask());
        s
    }
}

/// Whether a label's text is left in redacted output: it occurs there more
/// often than the input has it outside gold labels.
fn survives(text: &[u8], labels: &[Label], l: &Label, out: &[u8]) -> bool {
    let value = &text[l.start..l.end];
    if value.is_empty() {
        return false;
    }
    let in_out = count(out, value);
    if in_out == 0 {
        return false;
    }
    // Occurrences in the input not inside any gold label of this value.
    let mut background = 0;
    let mut at = 0;
    while let Some(i) = find(&text[at..], value) {
        let s = at + i;
        let e = s + value.len();
        if !labels.iter().any(|g| g.start <= s && e <= g.end) {
            background += 1;
        }
        at = s + 1;
    }
    in_out > background
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    memchr::memmem::find_iter(hay, needle).count()
}

/// Scans a document as `phisafe scan` reads a file with its extension.
pub fn scan_doc(scanner: &Scanner, doc: &Doc) -> Vec<Span> {
    let text = doc.text.as_bytes();
    let span = |f: &phisafe::Finding| Span {
        entity: f.entity(),
        start: f.start(),
        end: f.end(),
    };
    let as_text = || scanner.scan(text).iter().map(span).collect();
    match format(doc) {
        // A detected document that does not parse is read as text.
        Format::Json => match scanner.scan_json(text) {
            Ok(v) => v.iter().map(|f| span(f.finding())).collect(),
            Err(_) => as_text(),
        },
        Format::JsonLines => {
            let mut out = Vec::new();
            let mut lines = scanner.scan_jsonl(text);
            while let Some(Ok(line)) = lines.next_line() {
                if let Ok(found) = &line.result {
                    out.extend(found.iter().map(|f| span(f.finding())));
                }
                out.extend(line.text.iter().map(span));
            }
            out
        }
        f @ (Format::Csv | Format::Tsv) => scanner
            .scan_csv(text, csv_options(scanner, f, text))
            .filter_map(Result::ok)
            .map(|f| span(f.finding()))
            .collect(),
        Format::Dump(dialect) => {
            let mut out = Vec::new();
            let mut rows = scanner.scan_dump(text, dialect);
            while let Some(Ok(row)) = rows.next_row() {
                out.extend(row.findings.iter().map(|f| span(f.finding())));
            }
            out
        }
        _ => as_text(),
    }
}

/// The findings of a text-mode scan of `doc` that its structured reading
/// (the one `phisafe scan` picks) does not cover, letter and digit for
/// letter and digit: what structure would hide. Empty for a document read as text.
pub fn uncovered(scanner: &Scanner, doc: &Doc) -> Vec<Span> {
    let text = doc.text.as_bytes();
    if matches!(format(doc), Format::Text) {
        return Vec::new();
    }
    let mut covered = vec![false; text.len()];
    for f in scan_doc(scanner, doc) {
        covered[f.start..f.end].iter_mut().for_each(|c| *c = true);
    }
    // Letters and digits must be covered; a separator between two
    // values that a text finding spans (`First\tLast`) holds nothing.
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b >= 0x80;
    scanner
        .scan(text)
        .iter()
        .filter(|f| {
            !(f.start()..f.end()).all(|i| covered[i] || !word(&text[i]))
        })
        .map(|f| Span { entity: f.entity(), start: f.start(), end: f.end() })
        .collect()
}

/// Redacts a document as `phisafe redact` does a file with its extension.
pub fn redact_doc(redactor: &Redactor, doc: &Doc) -> Vec<u8> {
    let text = doc.text.as_bytes();
    let mut out = Vec::new();
    let ok = match format(doc) {
        Format::Json => {
            if redactor.redact_json_stream(text, &mut out).is_err() {
                out = redactor.redact(text);
            }
            true
        }
        Format::JsonLines => {
            for line in doc.text.split_inclusive('\n') {
                let body = line.trim_end_matches('\n');
                match redactor.redact_json(body.as_bytes()) {
                    Ok(r) => out.extend_from_slice(&r),
                    Err(_) => out
                        .extend_from_slice(&redactor.redact(body.as_bytes())),
                }
                if line.ends_with('\n') {
                    out.push(b'\n');
                }
            }
            true
        }
        f @ (Format::Csv | Format::Tsv) => {
            let opts = csv_options(redactor.scanner(), f, text);
            redactor.redact_csv(text, &mut out, opts).is_ok()
        }
        Format::Dump(dialect) => {
            redactor.redact_dump(text, &mut out, dialect).is_ok()
        }
        _ => {
            out = redactor.redact(text);
            true
        }
    };
    if !ok {
        out.clear();
    }
    out
}

/// The dialect the CLI sniffs from a file's first 256 KiB.
fn csv_options(scanner: &Scanner, f: Format, text: &[u8]) -> CsvOptions {
    let default = if f == Format::Tsv { b'\t' } else { b',' };
    scanner.sniff_csv(&text[..text.len().min(256 << 10)], default)
}

/// The CLI's choice of reader for a file: by extension, else by content.
fn format(doc: &Doc) -> Format {
    let name = format!("doc.{}", doc.ext);
    let head = doc.text.as_bytes();
    match Format::from_path(std::path::Path::new(&name)) {
        Some(Format::Dump(_)) => Format::Dump(Format::dump_dialect(head)),
        Some(f) => f,
        None => Format::detect(head),
    }
}
