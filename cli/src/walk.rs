//! Collecting inputs and scanning them in parallel.

use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

use phisafe::Scanner;
use phisafe::classify::Classifier;
use phisafe::format::dump::DumpDialect;
use phisafe::scan::Blocks;
use rayon::prelude::*;

use crate::InputFormat;
use crate::report::{FileReport, Located, Spool};
use phisafe::format::Format;

/// One input: a file path, or stdin.
pub(crate) struct Input {
    pub(crate) path: PathBuf,
    pub(crate) len: u64,
}

pub(crate) struct Inputs {
    pub(crate) files: Vec<Input>,
    pub(crate) errors: Vec<(PathBuf, String)>,
}

/// Expands directories recursively (sorted, symlinks to directories not
/// followed); `-` stands for stdin.
pub(crate) fn collect(paths: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs { files: Vec::new(), errors: Vec::new() };
    for p in paths {
        if p == Path::new("-") {
            inputs.files.push(Input { path: p.clone(), len: 0 });
        } else {
            visit(p, &mut inputs);
        }
    }
    inputs
}

fn visit(path: &Path, inputs: &mut Inputs) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            inputs.errors.push((path.to_path_buf(), e.to_string()));
            return;
        }
    };
    if meta.is_file() {
        inputs.files.push(Input { path: path.to_path_buf(), len: meta.len() });
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => {
            inputs.errors.push((path.to_path_buf(), e.to_string()));
            return;
        }
    };
    let mut children: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => {
                let is_link_dir = e.file_type().is_ok_and(|t| t.is_symlink())
                    && e.path().is_dir();
                if !is_link_dir {
                    children.push(e.path());
                }
            }
            Err(e) => inputs.errors.push((path.to_path_buf(), e.to_string())),
        }
    }
    children.sort();
    for c in children {
        visit(&c, inputs);
    }
}

/// Scans every input on the rayon pool; results come back in input order.
pub(crate) fn scan_all(
    scanner: &Scanner,
    files: &[Input],
    format: InputFormat,
    csv: &crate::CsvArgs,
    show_values: bool,
    report: crate::report::Format,
    progress: Option<&indicatif::ProgressBar>,
) -> Vec<Result<FileReport, (PathBuf, String)>> {
    files
        .par_iter()
        .map(|input| {
            let open = || -> io::Result<_> {
                let rdr = crate::input::open(&input.path, progress)?;
                Ok(io::BufReader::with_capacity(256 << 10, rdr))
            };
            let fresh = || match Spool::new(&input.path, report) {
                Ok(spool) => Ok(FileReport {
                    path: input.path.clone(),
                    findings: spool,
                    line_errors: Vec::new(),
                    notes: Vec::new(),
                    columns: None,
                }),
                Err(e) => Err((input.path.clone(), e.to_string())),
            };
            let mut report = fresh()?;
            let failed = |e: io::Error| (input.path.clone(), e.to_string());
            let mut rdr = open().map_err(failed)?;
            let chosen = crate::input::choose(format, &input.path, &mut rdr)
                .map_err(failed)?;
            match scan_as(
                scanner,
                rdr,
                chosen.format,
                csv,
                show_values,
                &mut report,
            ) {
                Ok(()) => {}
                // Detected, not asked for, and not that after all: read
                // the file again as text (stdin is never detected).
                Err(e)
                    if !chosen.told
                        && e.kind() == io::ErrorKind::InvalidData =>
                {
                    let note = format!(
                        "looked like {} but is not ({e}); read as text",
                        crate::input::name(chosen.format)
                    );
                    report = fresh()?;
                    report.notes.push(note);
                    let rdr = open().map_err(failed)?;
                    scan_text(scanner, rdr, show_values, &mut report)
                        .map_err(failed)?;
                }
                Err(e) => return Err(failed(e)),
            }
            if !chosen.told {
                // Each bad line was scanned as text: nothing was lost.
                for (line, e) in report.line_errors.drain(..) {
                    report
                        .notes
                        .push(format!("line {line}: {e}; read as text"));
                }
            }
            Ok(report)
        })
        .collect()
}

/// Scans one input as `format`.
fn scan_as(
    scanner: &Scanner,
    rdr: io::BufReader<impl Read + Send>,
    format: Format,
    csv: &crate::CsvArgs,
    show_values: bool,
    report: &mut FileReport,
) -> io::Result<()> {
    match format {
        Format::Json => scan_json(scanner, rdr, show_values, report),
        Format::JsonLines => scan_jsonl(scanner, rdr, show_values, report),
        Format::Csv | Format::Tsv => {
            let mut rdr = rdr;
            let opts = csv.options(scanner, format, rdr.fill_buf()?);
            scan_csv(scanner, rdr, opts, show_values, report)
        }
        Format::Dump(dialect) => {
            scan_dump(scanner, rdr, dialect, show_values, report)
        }
        _ => scan_text(scanner, rdr, show_values, report),
    }
}

/// Newlines in one text, counted forward from the last position asked
/// for: findings come in order, and counting from the text's start for
/// each was quadratic in a large JSON element or a multi-row INSERT.
#[derive(Default)]
struct Lines {
    at: usize,
    newlines: u64,
}

impl Lines {
    /// How many newlines `text` has before byte `at`; `text` is the same
    /// text as at the last call, or the count starts over.
    fn before(&mut self, text: &[u8], at: usize) -> u64 {
        if at < self.at {
            *self = Lines::default();
        }
        let passed = memchr::memchr_iter(b'\n', &text[self.at..at]);
        self.newlines += passed.count() as u64;
        self.at = at;
        self.newlines
    }
}

/// A file's per-column summary, with one buffer for the column names it
/// is keyed by: a name is built for every value of every row.
#[derive(Default)]
struct Columns {
    classifier: Classifier,
    name: String,
}

impl Columns {
    /// Counts one JSON row (a line, or an element of a document): each of
    /// its paths, with the findings there.
    fn observe_json(
        &mut self,
        table: &str,
        paths: &[String],
        found: &[phisafe::format::json::JsonFinding],
    ) {
        for path in paths {
            let here = found
                .iter()
                .filter(|f| f.folded_pointer() == path)
                .map(|f| (f.finding().entity(), f.finding().score()));
            self.name.clear();
            self.name.push_str(table);
            self.name.push_str(path);
            self.classifier.observe(&self.name, here);
        }
    }

    /// Counts one row of a table: each of its `values` columns, named
    /// `table.name` (or `table.N`, 1-based, where the input names no
    /// column), with the findings at that position.
    fn observe_row(
        &mut self,
        table: &str,
        names: &[std::sync::Arc<str>],
        values: usize,
        found: &[(usize, phisafe::Entity, f32)],
    ) {
        use std::fmt::Write as _;
        for i in 0..values {
            self.name.clear();
            self.name.push_str(table);
            self.name.push('.');
            match names.get(i) {
                Some(n) if !n.is_empty() => self.name.push_str(n),
                _ => {
                    let _ = write!(self.name, "{}", i + 1);
                }
            }
            let hits = found.iter().filter(|f| f.0 == i).map(|f| (f.1, f.2));
            self.classifier.observe(&self.name, hits);
        }
    }
}

/// A JSON document is streamed element by element, in bounded memory; the
/// items of its arrays of records (at the top, or under objects at any
/// depth) are the rows of its per-column summary. Errors are located in
/// the whole document.
fn scan_json(
    scanner: &Scanner,
    rdr: impl Read,
    show_values: bool,
    report: &mut FileReport,
) -> io::Result<()> {
    let table = table_name(&report.path);
    let mut columns = Columns::default();
    let result = scanner.scan_json_stream(rdr, |e| {
        columns.observe_json(&table, &e.paths, &e.findings);
        let mut lines = Lines::default();
        for jf in e.findings {
            let f = *jf.finding();
            let rel = f.start() - e.offset..f.end() - e.offset;
            let located = Located {
                finding: f,
                line: e.line + lines.before(e.bytes, rel.start),
                preview: crate::report::preview(&e.bytes[rel], show_values),
                pointer: Some(jf.pointer().to_string()),
                cell: None,
            };
            report.findings.push(scanner, located)?;
        }
        Ok(())
    });
    report.columns = Some(columns.classifier);
    result
}

/// JSON lines: a bad line is recorded and the rest still scanned.
fn scan_jsonl(
    scanner: &Scanner,
    rdr: impl Read,
    show_values: bool,
    report: &mut FileReport,
) -> io::Result<()> {
    let table = table_name(&report.path);
    let mut columns = Columns::default();
    // Lines are scanned on the rayon pool and handed back in order.
    scanner.scan_jsonl_parallel(rdr, |line| {
        // A finding of this line, located: offsets are the stream's.
        let locate = |f: phisafe::Finding, pointer: Option<String>| {
            let rel = f.start() - line.offset..f.end() - line.offset;
            Located {
                finding: f,
                line: line.number,
                preview: crate::report::preview(&line.bytes[rel], show_values),
                pointer,
                cell: None,
            }
        };
        match &line.result {
            Ok(found) => {
                columns.observe_json(&table, &line.paths, found);
                for jf in found {
                    let ptr = Some(jf.pointer().to_string());
                    report
                        .findings
                        .push(scanner, locate(*jf.finding(), ptr))?;
                }
            }
            Err(e) => {
                report.line_errors.push((line.number, e.to_string()));
                // The line was scanned as text instead.
                for &f in &line.text {
                    report.findings.push(scanner, locate(f, None))?;
                }
            }
        }
        Ok(())
    })?;
    report.columns = Some(columns.classifier);
    Ok(())
}

/// The table name of a file for per-column summaries: its stem.
fn table_name(path: &Path) -> String {
    if path == Path::new("-") {
        return "stdin".into();
    }
    let name = crate::input::logical(path).file_name();
    let name = name.map(|n| n.to_string_lossy().into_owned());
    let name = name.unwrap_or_default();
    name.split('.').next().unwrap_or_default().to_string()
}

/// Delimited text: findings carry row and column, and each column is
/// classified.
fn scan_csv(
    scanner: &Scanner,
    rdr: impl BufRead,
    opts: phisafe::format::csv::CsvOptions,
    show_values: bool,
    report: &mut FileReport,
) -> io::Result<()> {
    let table = table_name(&report.path);
    let mut columns = Columns::default();
    // Records are scanned on the rayon pool and handed back in order.
    scanner.scan_csv_parallel(rdr, opts, |rec| {
        if rec.row > 0 {
            let found: Vec<_> = rec
                .findings
                .iter()
                .filter_map(|f| {
                    let c = f.column()?;
                    Some((c, f.finding().entity(), f.finding().score()))
                })
                .collect();
            columns.observe_row(&table, rec.headers, rec.fields, &found);
        }
        let mut lines = Lines::default();
        for cf in rec.findings {
            let f = *cf.finding();
            let rel = f.start() - rec.offset..f.end() - rec.offset;
            let line = rec.line + lines.before(rec.bytes, rel.start);
            // Text outside the fields (a preamble, the header) has no cell.
            let cell = cf.column().map(|c| {
                let column = match cf.header() {
                    Some(h) if !h.is_empty() => h.to_string(),
                    _ => (c + 1).to_string(),
                };
                (cf.row(), column)
            });
            report.findings.push(
                scanner,
                Located {
                    finding: f,
                    line,
                    preview: crate::report::preview(
                        &rec.bytes[rel],
                        show_values,
                    ),
                    pointer: None,
                    cell,
                },
            )?;
        }
        Ok(())
    })?;
    report.columns = Some(columns.classifier);
    Ok(())
}

/// SQL dumps: findings carry table, column and row; each column is
/// classified.
fn scan_dump(
    scanner: &Scanner,
    rdr: impl Read + Send,
    dialect: DumpDialect,
    show_values: bool,
    report: &mut FileReport,
) -> io::Result<()> {
    let rdr = io::BufReader::with_capacity(256 << 10, rdr);
    let mut columns = Columns::default();
    // The rows of one INSERT share its bytes: count on from row to row.
    let (mut lines, mut unit) = (Lines::default(), None);
    scanner.scan_dump_parallel(rdr, dialect, |row| {
        if unit != Some(row.offset) {
            (lines, unit) = (Lines::default(), Some(row.offset));
        }
        let found: Vec<_> = row
            .findings
            .iter()
            .map(|f| (f.position(), f.finding().entity(), f.finding().score()))
            .collect();
        columns.observe_row(row.table, row.columns, row.values, &found);
        for df in &row.findings {
            let f = *df.finding();
            let rel = f.start() - row.offset..f.end() - row.offset;
            let line = row.line + lines.before(row.bytes, rel.start);
            let located = Located {
                finding: f,
                line,
                preview: crate::report::preview(&row.bytes[rel], show_values),
                pointer: None,
                // Named as the per-column summary names it; text between
                // rows (no table) has no cell.
                cell: (!df.table().is_empty()).then(|| {
                    (
                        df.row(),
                        match df.column() {
                            Some(c) => format!("{}.{c}", df.table()),
                            None => {
                                format!("{}.{}", df.table(), df.position() + 1)
                            }
                        },
                    )
                }),
            };
            report.findings.push(scanner, located)?;
        }
        Ok(())
    })?;
    report.columns = Some(columns.classifier);
    Ok(())
}

/// Bytes read at a time from a text input: four pieces for the pool.
const TEXT_CHUNK: usize = 4 << 20;

fn scan_text<R: Read>(
    scanner: &Scanner,
    rdr: R,
    show_values: bool,
    report: &mut FileReport,
) -> io::Result<()> {
    // Large reads, each block's candidates found on every core: one big
    // file scans in parallel, in bounded memory (the findings are those
    // of a sequential scan).
    let mut blocks = Blocks::new(scanner, rdr, TEXT_CHUNK).parallel(true);
    // Line of the first byte of the current block, 1-based.
    let mut line = 1u64;
    while let Some(b) = blocks.next_block()? {
        let mut lines = Lines::default();
        for f in b.findings {
            let rel = f.start() - b.offset;
            let value = &b.bytes[rel..f.end() - b.offset];
            let located = Located {
                finding: *f,
                line: line + lines.before(b.bytes, rel),
                preview: crate::report::preview(value, show_values),
                pointer: None,
                cell: None,
            };
            report.findings.push(scanner, located)?;
        }
        line += lines.before(b.bytes, b.bytes.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn lines_count_forward_and_start_over_when_asked_for_an_earlier_byte() {
        let text = b"a\nbb\n\nccc\nd";
        let naive =
            |at: usize| text[..at].iter().filter(|&&b| b == b'\n').count();
        let mut lines = Lines::default();
        for at in [0, 1, 2, 5, 6, 6, 10, 3, 0, 11, 7] {
            assert_eq!(lines.before(text, at), naive(at) as u64, "byte {at}");
        }
    }
}
