//! Report formats: table, JSON, JSON lines and SARIF.
//!
//! The JSON lines schema is stable (see README): one object per finding
//! with `path`, `line`, `start`, `end`, `entity`, `score`, `pattern` and
//! `preview`.

use std::io::{self, Write};
use std::path::PathBuf;

use phisafe::scan::ColumnSummary;
use phisafe::{Entity, Finding, Scanner};
use serde::Serialize;

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

pub(crate) struct FileReport {
    pub(crate) path: PathBuf,
    pub(crate) findings: Vec<Located>,
    /// Lines that could not be read as their format (JSON lines).
    pub(crate) line_errors: Vec<(u64, String)>,
    /// Per-column counts, for structured inputs.
    pub(crate) columns: Option<phisafe::scan::Classifier>,
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

#[derive(Serialize)]
struct JsonFinding<'a> {
    path: String,
    line: u64,
    start: usize,
    end: usize,
    entity: &'static str,
    score: f32,
    pattern: &'a str,
    preview: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<&'a str>,
}

fn json_findings<'a>(
    scanner: &'a Scanner,
    files: &'a [FileReport],
) -> impl Iterator<Item = JsonFinding<'a>> {
    files.iter().flat_map(move |file| {
        file.findings.iter().map(move |l| JsonFinding {
            path: file.path.display().to_string(),
            line: l.line,
            start: l.finding.start(),
            end: l.finding.end(),
            entity: l.finding.entity().as_str(),
            score: (l.finding.score() * 100.0).round() / 100.0,
            pattern: scanner.pattern(l.finding.pattern()).id(),
            preview: &l.preview,
            pointer: l.pointer.as_deref(),
            row: l.cell.as_ref().map(|c| c.0),
            column: l.cell.as_ref().map(|c| c.1.as_str()),
        })
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
fn table_columns(
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
    files: &[FileReport],
    failed: &[(PathBuf, String)],
    columns: &[ColumnSummary],
) -> io::Result<()> {
    match format {
        Format::Table => {
            table_columns(w, columns)?;
            for f in json_findings(scanner, files) {
                writeln!(
                    w,
                    "{}:{}{}  {}..{}  {:<15} {:.2}  {:<26} {}",
                    f.path,
                    f.line,
                    match (f.pointer, f.row, f.column) {
                        (Some(p), _, _) => format!(" {p}"),
                        (None, Some(r), Some(c)) => format!(" row {r} [{c}]"),
                        _ => String::new(),
                    },
                    f.start,
                    f.end,
                    f.entity,
                    f.score,
                    f.pattern,
                    f.preview
                )?;
            }
            let n: usize = files.iter().map(|f| f.findings.len()).sum();
            writeln!(
                w,
                "{n} finding(s) in {} input(s), {} error(s)",
                files.len(),
                failed.len()
            )
        }
        Format::Jsonl => {
            for f in json_findings(scanner, files) {
                serde_json::to_writer(&mut *w, &f)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        }
        Format::Json => {
            let errors: Vec<_> = failed
                .iter()
                .map(|(p, e)| {
                    serde_json::json!({"path": p.display().to_string(), "error": e})
                })
                .collect();
            let doc = serde_json::json!({
                "inputs_scanned": files.len(),
                "columns": json_columns(columns),
                "findings": json_findings(scanner, files).collect::<Vec<_>>(),
                "errors": errors,
            });
            serde_json::to_writer_pretty(&mut *w, &doc)?;
            w.write_all(b"\n")
        }
        Format::Sarif => sarif(w, scanner, files),
    }
}

/// SARIF 2.1.0. Messages name the entity and score, never the value:
/// SARIF files get uploaded to code-scanning services.
fn sarif(
    w: &mut dyn Write,
    scanner: &Scanner,
    files: &[FileReport],
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
    let results: Vec<_> = json_findings(scanner, files)
        .map(|f| {
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
            // Where the value lives in the data: table.column, a CSV
            // header, or a JSON Pointer.
            if let Some(name) = f.column.or(f.pointer) {
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
        })
        .collect();
    let doc = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "phisafe",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }]
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    w.write_all(b"\n")
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
