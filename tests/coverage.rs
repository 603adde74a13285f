//! Structure never hides text: the rules by which a structured reading
//! may drop a text-mode finding on purpose, the check built on them, and
//! generators of structured documents, shared by the integration test
//! (`tests/coverage.rs`) and the `structure_covers_text` fuzz target.

use phisafe::{Entity, Redactor, Scanner};

use crate::{Doc, Span, redact_doc, uncovered};

/// Why a structured reading drops a text-mode finding on purpose, by
/// name; `None` when nothing explains it.
fn deliberate(
    scanner: &Scanner,
    text: &str,
    f: &Span,
    column: &dyn Fn(usize) -> Option<String>,
) -> Option<&'static str> {
    let bytes = text.as_bytes();
    let after = &bytes[f.end..];
    // A name read across two fields (`Liu, Abraham\tPt Abraham`): each
    // field is read on its own, and the text finding glued them.
    if bytes[f.start..f.end].iter().any(|b| matches!(b, b'\t' | b'\n')) {
        return Some("spans-fields");
    }
    // A ZIP code after a state code in the field before it (`NY\t99285`):
    // the text reading took its evidence from another column; the
    // structured one reads the value under its own column's name (a CPT
    // code, say).
    let before = &bytes[..f.start];
    if f.entity == Entity::ZipCode
        && before.len() >= 3
        && matches!(before[before.len() - 1], b'\t' | b',' | b';' | b'|')
        && before[before.len() - 3..before.len() - 1]
            .iter()
            .all(u8::is_ascii_uppercase)
    {
        return Some("state-in-another-field");
    }
    // A date with a time of day in one value is an event's timestamp
    // (created_at, a log time), not a date of a person.
    let time = |b: &[u8]| {
        b.len() >= 4
            && b[0].is_ascii_digit()
            && (b[1] == b':' || (b[1].is_ascii_digit() && b[2] == b':'))
    };
    if f.entity == Entity::Date
        && matches!(after.first(), Some(b' ' | b'T'))
        && time(&after[1..])
    {
        return Some("datetime-value");
    }
    // The value's own key or column says what it is (`"order_id":
    // "132750094"`, an `orderno` column): a text scan read it by a context
    // word further off.
    let key = key_before(text, f.start)
        .map(str::to_string)
        .or_else(|| copy_column(text, f.start).map(str::to_string))
        .or_else(|| insert_column(text, f.start))
        .or_else(|| column(f.start));
    if let Some(key) = key {
        let value = &text[f.start..f.end];
        if !scanner
            .scan_field(&key, value.as_bytes())
            .iter()
            .any(|g| g.entity() == f.entity)
        {
            return Some("field-name-decides");
        }
    }
    None
}

/// The key of the JSON member or `key=value` pair whose value starts at
/// `at`, if the text there is one.
fn key_before(text: &str, at: usize) -> Option<&str> {
    let before = text[..at].trim_end_matches(['"', ' ', '\'']);
    let before = before.strip_suffix([':', '='])?.trim_end();
    let before = before.trim_end_matches(['"', '\'']);
    let start = before
        .rfind(|c: char| {
            !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        })
        .map_or(0, |i| i + 1);
    let key = &before[start..];
    (!key.is_empty()).then_some(key)
}

/// The text around `start..end`, for a failure's message.
fn around(text: &str, start: usize, end: usize) -> &str {
    let mut s = start.saturating_sub(80);
    let mut e = (end + 60).min(text.len());
    while !text.is_char_boundary(s) {
        s -= 1;
    }
    while !text.is_char_boundary(e) {
        e += 1;
    }
    &text[s..e]
}

/// The column of the COPY row field that holds `at`, if it is one.
fn copy_column(text: &str, at: usize) -> Option<&str> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let field = text[line_start..at].matches('\t').count();
    let copy = text[..line_start].rfind("\nCOPY ")?;
    // Not after the block's end.
    if text[copy..line_start].contains("\n\\.\n") {
        return None;
    }
    let header = &text[copy + 1..];
    let header = &header[..header.find('\n')?];
    let open = header.find('(')?;
    let close = header.find(')')?;
    let column = header[open + 1..close].split(',').nth(field)?;
    Some(column.trim().trim_matches('"'))
}

/// The column of the INSERT value that starts at `at` (after its quote),
/// if the statement names its columns.
fn insert_column(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let open = line.find('(')?;
    let close = line.find(')')?;
    let names: Vec<&str> =
        line[open + 1..close].split(',').map(str::trim).collect();
    let values = line_start + line.find("VALUES (")? + "VALUES (".len();
    if at < values {
        return None;
    }
    let index = fields_before(&text[values..at], b',');
    names.get(index).map(|n| n.to_string())
}

/// How many `delim`s outside SQL or CSV quotes `prefix` holds.
fn fields_before(prefix: &str, delim: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for b in prefix.bytes() {
        match b {
            b'\'' | b'"' => quoted = !quoted,
            b if b == delim && !quoted => n += 1,
            _ => {}
        }
    }
    n
}

/// Checks `doc`, a structured document: every text-mode finding is
/// covered by the structured reading or explained by a rule, and none
/// survives `redact`. Adds one message per failure to `failures`.
pub fn check(
    scanner: &Scanner,
    redactor: &Redactor,
    doc: &Doc,
    failures: &mut Vec<String>,
) {
    if doc.format != "csv" {
        return check_with(scanner, redactor, doc, &|_| None, failures);
    }
    // A delimited file's column: by the sniffed dialect's header.
    let text = doc.text.as_str();
    let default = if doc.ext == "tsv" { b'\t' } else { b',' };
    let opts = scanner.sniff_csv(text.as_bytes(), default);
    let delim = opts.delimiter_byte();
    let header = opts
        .has_headers()
        .then(|| text.split('\n').nth(opts.skipped()))
        .flatten()
        .map(|h| {
            h.trim_end_matches('\r')
                .split(char::from(delim))
                .map(|c| c.trim_matches('"').to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let column = |at| csv_column(text, &header, delim, at);
    check_with(scanner, redactor, doc, &column, failures);
}

/// The name in `header` of the delimited field that starts at `at`.
pub fn csv_column(
    text: &str,
    header: &[impl AsRef<str>],
    delim: u8,
    at: usize,
) -> Option<String> {
    let line = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let i = fields_before(&text[line..at], delim);
    header.get(i).map(|n| n.as_ref().to_string())
}

/// Checks `doc`; `column` names the field of a value at an offset when
/// the document's own text cannot.
pub fn check_with(
    scanner: &Scanner,
    redactor: &Redactor,
    doc: &Doc,
    column: &dyn Fn(usize) -> Option<String>,
    failures: &mut Vec<String>,
) {
    let text = &doc.text;
    let out = redact_doc(redactor, doc);
    let out = String::from_utf8_lossy(&out);
    let mut explained = Vec::new();
    for f in uncovered(scanner, doc) {
        match deliberate(scanner, text, &f, column) {
            Some(_) => explained.push(&text[f.start..f.end]),
            None => failures.push(format!(
                "{} {}: {:?} {:?} not covered in {:?}",
                doc.id,
                doc.template,
                f.entity,
                &text[f.start..f.end],
                around(text, f.start, f.end)
            )),
        }
    }
    // What a text scan finds and structure covers is gone from the output:
    // a value may stay only as often as it stands in the input where no
    // text finding is, or where a rule keeps it.
    let found = scanner.scan(text.as_bytes());
    for f in &found {
        let value = &text[f.range()];
        if value.len() < 6 || explained.contains(&value) {
            continue;
        }
        let unfound = text
            .match_indices(value)
            .filter(|(i, _)| {
                !found.iter().any(|g| g.start() <= *i && *i < g.end())
            })
            .count();
        if out.matches(value).count() > unfound {
            failures.push(format!(
                "{} {}: {:?} {value:?} survives redact in {:?}",
                doc.id,
                doc.template,
                f.entity(),
                around(
                    &out,
                    out.find(value).unwrap_or(0),
                    out.find(value).unwrap_or(0) + value.len()
                )
            ));
        }
    }
}

/// Values a cell, a key's value or a line of text may hold.
pub const VALUES: &[&str] = &[
    "219-09-9999",
    "jo.quixote@clinic.example",
    "(415) 555-2671",
    "+14155552671",
    "1957-03-14",
    "03/14/1957",
    "Zed Quixote",
    "Quixote, Zed",
    "00:1a:2b:3c:4d:5e",
    "10.44.19.201",
    "AKIAIOSFODNN7EXAMPLQ",
    "4111 1111 1111 1111",
    "1234567893",
    "MRN 00482913",
    "4410 Elm Street",
    "pending",
    "42",
    "17.50",
    "x7f3a",
    "",
];

/// Column and key names, telling and not.
pub const NAMES: &[&str] = &[
    "id",
    "ssn",
    "email",
    "phone",
    "dob",
    "name",
    "notes",
    "status",
    "amount",
    "order_id",
    "created_at",
    "mac",
    "npi",
    "address",
    "comment",
];

/// A document of `format` and extension `ext` holding `text`.
pub fn doc(format: &str, ext: &str, text: String) -> Doc {
    Doc {
        id: 0,
        genre: "generated".into(),
        template: format.into(),
        format: format.into(),
        ext: ext.into(),
        text,
        labels: Vec::new(),
    }
}

/// A delimited export of `rows` under `names`: a preamble line that may
/// hold a value, a header or none, and `delim` between fields.
pub fn csv_doc(
    names: &[&str],
    rows: &[Vec<String>],
    delim: u8,
    header: bool,
    preamble: Option<&str>,
) -> Doc {
    let d = char::from(delim);
    let quote = |v: &str| match v.contains([d, '"', '\n', '\r']) {
        true => format!("\"{}\"", v.replace('"', "\"\"")),
        false => v.to_string(),
    };
    let mut text = String::new();
    if let Some(p) = preamble {
        text.push_str(&format!("Report for {p}\nGenerated by etl\n\n"));
    }
    if header {
        text.push_str(&names.join(&d.to_string()));
        text.push('\n');
    }
    for r in rows {
        let r: Vec<String> = r.iter().map(|v| quote(v)).collect();
        text.push_str(&r.join(&d.to_string()));
        text.push('\n');
    }
    let ext = if delim == b'\t' { "tsv" } else { "csv" };
    doc("csv", ext, text)
}

/// A JSON array of objects, or the same as JSON lines.
pub fn json_doc(names: &[&str], rows: &[Vec<String>], lines: bool) -> Doc {
    let objects: Vec<String> = rows
        .iter()
        .map(|r| {
            let map: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .zip(r)
                .map(|(k, v)| {
                    (k.to_string(), serde_json::Value::from(v.as_str()))
                })
                .collect();
            serde_json::Value::Object(map).to_string()
        })
        .collect();
    match lines {
        true => doc("jsonl", "jsonl", objects.join("\n") + "\n"),
        false => doc("json", "json", format!("[{}]", objects.join(",\n"))),
    }
}

/// A PostgreSQL script: a comment, COPY rows, an INSERT of the first
/// row, and psql output with a stray line.
pub fn sql_doc(
    names: &[&str],
    rows: &[Vec<String>],
    comment: &str,
    stray: &str,
) -> Doc {
    let mut text =
        format!("--\n-- PostgreSQL database dump\n-- Host: {comment}\n--\n\n");
    text.push_str(&format!(
        "COPY public.t ({}) FROM stdin;\n",
        names.join(", ")
    ));
    for r in rows {
        let r: Vec<String> = r
            .iter()
            .map(|v| if v.is_empty() { "\\N".to_string() } else { v.clone() })
            .collect();
        text.push_str(&r.join("\t"));
        text.push('\n');
    }
    text.push_str("\\.\n\n");
    if let Some(first) = rows.first() {
        let values: Vec<String> = first
            .iter()
            .map(|v| format!("'{}'", v.replace('\'', "''")))
            .collect();
        text.push_str(&format!(
            "INSERT INTO public.t ({}) VALUES ({});\n",
            names.join(", "),
            values.join(", ")
        ));
    }
    text.push_str(&format!("clinic=> SELECT 1;\nnote: {stray}\nDELETE 1\n"));
    doc("pg-dump", "sql", text)
}
