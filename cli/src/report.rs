//! Report formats: table, JSON, JSON lines and SARIF.
//!
//! The JSON lines schema is stable (see README): one object per finding
//! with `path`, `line`, `start`, `end`, `entity`, `score`, `pattern` and
//! `preview`.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::PathBuf;

use phisafe::classify::ColumnSummary;
use phisafe::{Entity, Finding, Scanner};
use serde::Serialize;

#[derive(Clone, Copy)]
pub(crate) enum Format {
    Table,
    Json,
    Jsonl,
    Sarif,
}

/// A finding with its line and a preview.
pub(crate) struct Located {
    pub(crate) finding: Finding,
    pub(crate) line: u64,
    pub(crate) preview: String,
    /// The JSON Pointer of the value, for JSON inputs.
    pub(crate) pointer: Option<String>,
    /// Data row (1-based) and column (header name, or 1-based index), for
    /// delimited inputs.
    pub(crate) cell: Option<(u64, String)>,
}

/// The findings of one input, spooled to an anonymous temporary file so
/// memory does not grow with the number of findings (a dense
/// multi-gigabyte dump has millions), one line each, already rendered as
/// the report shows them: writing the report copies the lines, rather
/// than reading findings back to render them then (which held a dense
/// dump's scan to half its speed).
pub(crate) struct Spool {
    out: io::BufWriter<std::fs::File>,
    format: Format,
    path: String,
    count: u64,
    max_score: f32,
}

impl Spool {
    pub(crate) fn new(
        path: &std::path::Path,
        format: Format,
    ) -> io::Result<Spool> {
        Ok(Spool {
            out: io::BufWriter::new(tempfile::tempfile()?),
            format,
            path: path.display().to_string(),
            count: 0,
            max_score: 0.0,
        })
    }

    pub(crate) fn push(
        &mut self,
        scanner: &Scanner,
        l: Located,
    ) -> io::Result<()> {
        let row = Row {
            path: Cow::Borrowed(&self.path),
            line: l.line,
            start: l.finding.start(),
            end: l.finding.end(),
            entity: Cow::Borrowed(l.finding.entity().as_str()),
            score: (l.finding.score() * 100.0).round() / 100.0,
            pattern: Cow::Borrowed(scanner.pattern(l.finding.pattern()).id()),
            preview: l.preview,
            pointer: l.pointer,
            row: l.cell.as_ref().map(|c| c.0),
            column: l.cell.map(|c| c.1),
        };
        let w = &mut self.out;
        match self.format {
            Format::Json | Format::Jsonl => {
                serde_json::to_writer(&mut *w, &row)?
            }
            Format::Table => table_row(w, &row)?,
            Format::Sarif => {
                serde_json::to_writer(&mut *w, &sarif_result(&row))?
            }
        }
        w.write_all(b"\n")?;
        self.count += 1;
        self.max_score = self.max_score.max(l.finding.score());
        Ok(())
    }

    /// How many findings were spooled.
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// The best score spooled.
    pub(crate) fn max_score(&self) -> f32 {
        self.max_score
    }

    /// Calls `f` with each spooled row, without its newline.
    fn each_line(
        &mut self,
        mut f: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        use std::io::BufRead;
        let mut rdr = self.reader()?;
        let mut line = Vec::new();
        loop {
            line.clear();
            if rdr.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            f(line.strip_suffix(b"\n").unwrap_or(&line))?;
        }
    }

    fn reader(&mut self) -> io::Result<io::BufReader<std::fs::File>> {
        use std::io::Seek;
        self.out.flush()?;
        let mut file = self.out.get_ref().try_clone()?;
        file.seek(io::SeekFrom::Start(0))?;
        Ok(io::BufReader::with_capacity(1 << 16, file))
    }
}

pub(crate) struct FileReport {
    pub(crate) path: PathBuf,
    pub(crate) findings: Spool,
    /// Lines that could not be read as their format (JSON lines).
    pub(crate) line_errors: Vec<(u64, String)>,
    /// What stderr should say about how the input was read: nothing was
    /// lost, so these are not errors.
    pub(crate) notes: Vec<String>,
    /// Per-column counts, for structured inputs.
    pub(crate) columns: Option<phisafe::classify::Classifier>,
}

/// The value with every letter and digit masked but the last two, unless
/// values are to be shown. Non-ASCII characters are masked whole.
pub(crate) fn preview(value: &[u8], show: bool) -> String {
    let text = String::from_utf8_lossy(value);
    if show {
        return text.into_owned();
    }
    let keep_from = text.chars().filter(|c| c.is_alphanumeric()).count();
    let keep_from = keep_from.saturating_sub(2);
    let mut seen = 0;
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                seen += 1;
                if seen > keep_from && c.is_ascii() { c } else { '*' }
            } else {
                c
            }
        })
        .collect()
}

/// One finding as reported: the JSON lines schema. Borrowed: a spool
/// writes millions, with the same path, entity and pattern.
#[derive(Serialize)]
struct Row<'a> {
    path: Cow<'a, str>,
    line: u64,
    start: usize,
    end: usize,
    entity: Cow<'a, str>,
    score: f32,
    pattern: Cow<'a, str>,
    preview: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
}

/// Calls `f` with every spooled row of every input, in input order.
fn each_line(
    files: &mut [FileReport],
    mut f: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    for file in files {
        file.findings.each_line(&mut f)?;
    }
    Ok(())
}

/// One finding as a line of the table report.
fn table_row(w: &mut dyn Write, f: &Row<'_>) -> io::Result<()> {
    let place = match (&f.pointer, f.row, &f.column) {
        (Some(p), _, _) => format!(" {p}"),
        (None, Some(r), Some(c)) => format!(" row {r} [{c}]"),
        _ => String::new(),
    };
    write!(
        w,
        "{}:{}{place}  {}..{}  {:<15} {:.2}  {:<26} {}",
        f.path,
        f.line,
        f.start,
        f.end,
        f.entity,
        f.score,
        f.pattern,
        f.preview
    )
}

/// Writes the spooled lines of every input, separated by `sep`.
fn join_lines(
    w: &mut dyn Write,
    files: &mut [FileReport],
    sep: &[u8],
) -> io::Result<()> {
    let mut first = true;
    each_line(files, |line| {
        if !first {
            w.write_all(sep)?;
        }
        first = false;
        w.write_all(line)
    })
}

#[derive(Serialize)]
struct JsonColumn<'a> {
    column: &'a str,
    rows: u64,
    rows_with_findings: u64,
    share: f64,
    classification: Option<&'static str>,
    entities: Vec<serde_json::Value>,
}

fn json_columns(columns: &[ColumnSummary]) -> Vec<JsonColumn<'_>> {
    columns
        .iter()
        .map(|c| JsonColumn {
            column: c.column(),
            rows: c.rows(),
            rows_with_findings: c.rows_with_findings(),
            share: (c.share() * 1000.0).round() / 1000.0,
            classification: c.classification().map(|e| e.as_str()),
            entities: c
                .entities()
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "entity": e.entity.as_str(),
                        "rows": e.rows,
                        "mean_score": (e.mean_score * 100.0).round() / 100.0,
                    })
                })
                .collect(),
        })
        .collect()
}

/// Per-column summaries come first in the table: they are what a data
/// owner reads before any single finding.
pub(crate) fn table_columns(
    w: &mut dyn Write,
    columns: &[ColumnSummary],
) -> io::Result<()> {
    if columns.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "{:<32} {:>9} {:>9} {:>7}  {:<15} entities",
        "column", "rows", "with PHI", "share", "class"
    )?;
    for c in columns {
        let entities: Vec<String> = c
            .entities()
            .iter()
            .map(|e| format!("{} {} ({:.2})", e.entity, e.rows, e.mean_score))
            .collect();
        writeln!(
            w,
            "{:<32} {:>9} {:>9} {:>6.1}%  {:<15} {}",
            c.column(),
            c.rows(),
            c.rows_with_findings(),
            100.0 * c.share(),
            c.classification().map_or("-", |e| e.as_str()),
            entities.join(", ")
        )?;
    }
    writeln!(w)
}

pub(crate) fn write(
    w: &mut dyn Write,
    format: Format,
    scanner: &Scanner,
    files: &mut [FileReport],
    failed: &[(PathBuf, String)],
    columns: &[ColumnSummary],
) -> io::Result<()> {
    match format {
        Format::Table => {
            table_columns(w, columns)?;
            each_line(files, |line| {
                w.write_all(line)?;
                w.write_all(b"\n")
            })?;
            let n: u64 = files.iter().map(|f| f.findings.len()).sum();
            writeln!(
                w,
                "{n} finding(s) in {} input(s), {} error(s)",
                files.len(),
                failed.len()
            )
        }
        Format::Jsonl => each_line(files, |line| {
            w.write_all(line)?;
            w.write_all(b"\n")
        }),
        Format::Json => {
            // Written piecewise so findings stream from the spools.
            let errors: Vec<_> = failed
                .iter()
                .map(|(p, e)| {
                    serde_json::json!({"path": p.display().to_string(), "error": e})
                })
                .collect();
            write!(w, "{{\"inputs_scanned\":{},\"columns\":", files.len())?;
            serde_json::to_writer(&mut *w, &json_columns(columns))?;
            w.write_all(b",\"findings\":[")?;
            join_lines(w, files, b",")?;
            w.write_all(b"],\"errors\":")?;
            serde_json::to_writer(&mut *w, &errors)?;
            w.write_all(b"}\n")
        }
        Format::Sarif => sarif(w, scanner, files),
    }
}

/// SARIF 2.1.0. Messages name the entity and score, never the value:
/// SARIF files get uploaded to code-scanning services.
fn sarif(
    w: &mut dyn Write,
    scanner: &Scanner,
    files: &mut [FileReport],
) -> io::Result<()> {
    // One rule per entity type: code-scanning services group results by
    // rule, and "SSN" is what a reader triages, not a pattern id.
    let mut entities: Vec<Entity> =
        scanner.patterns().iter().map(|p| p.entity()).collect();
    entities.sort();
    entities.dedup();
    let rules: Vec<_> = entities
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.as_str(),
                "name": e.as_str(),
                "shortDescription": {"text": format!("{e} found")},
            })
        })
        .collect();
    let tool = serde_json::json!({"driver": {
        "name": "phisafe",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    }});
    w.write_all(
        b"{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\
          \"version\":\"2.1.0\",\"runs\":[{\"tool\":",
    )?;
    serde_json::to_writer(&mut *w, &tool)?;
    w.write_all(b",\"results\":[")?;
    join_lines(w, files, b",")?;
    w.write_all(b"]}]}\n")
}

/// One finding as a SARIF result.
fn sarif_result(f: &Row<'_>) -> serde_json::Value {
    let mut location = serde_json::json!({
        "physicalLocation": {
            "artifactLocation": {"uri": f.path},
            "region": {
                "startLine": f.line,
                "byteOffset": f.start,
                "byteLength": f.end - f.start,
            }
        }
    });
    // Where the value lives in the data: table.column, a CSV header, or a
    // JSON Pointer.
    if let Some(name) = f.column.as_ref().or(f.pointer.as_ref()) {
        location["logicalLocations"] = serde_json::json!([{
            "fullyQualifiedName": name,
            "kind": "member",
        }]);
    }
    serde_json::json!({
        "ruleId": f.entity,
        "level": if f.score >= 0.8 { "error" } else { "warning" },
        "message": {"text": format!("{} (score {:.2})", f.entity, f.score)},
        "locations": [location],
        "properties": {"pattern": f.pattern, "score": f.score},
    })
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn previews_mask_all_but_two() {
        assert_eq!(preview(b"219-09-9999", false), "***-**-**99");
        assert_eq!(preview(b"219-09-9999", true), "219-09-9999");
        assert_eq!(preview("José".as_bytes(), false), "**s*");
    }
}
