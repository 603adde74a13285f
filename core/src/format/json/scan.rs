//! Scanning JSON documents and JSON lines value by value.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::ops::Range;

use super::JsonFinding;
use super::syntax::{Scalar, Segment, folded_pointer, pointer, walk_in};
use crate::Entity;
use crate::format::{Format, InputError, InputErrorKind};
use crate::scan::engine::{Finding, Scanner};
use crate::scan::hints::{FieldHint, identifier_type, is_label_key};
use crate::scan::pattern::PatternId;

/// What a FHIR identifier's `type` object says its siblings hold, read as
/// the text walker reads it (`hints::type_label`): the last of its
/// `coding[].code` (HL7 table 0203) and `text`, in member order.
fn identifier_type_label(
    t: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    use serde_json::Value;
    let mut label = None;
    for (k, v) in t {
        match (k.as_str(), v) {
            ("text", Value::String(s)) => label = Some(s.clone()),
            ("coding", Value::Array(codings)) => {
                for c in codings {
                    if let Some(Value::String(code)) = c.get("code")
                        && let Some(name) = identifier_type(code)
                    {
                        label = Some(name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    label
}

/// Values that say nothing is there, including phisafe's own redactions
/// (`[SSN]`, `[SSN:9f86d081884c7d65]`), so redacted output scans clean.
pub(crate) fn placeholder(v: &[u8]) -> bool {
    let v = v.trim_ascii();
    if let Some(inner) =
        v.strip_prefix(b"[").and_then(|v| v.strip_suffix(b"]"))
    {
        let (name, tag) = match inner.iter().position(|&b| b == b':') {
            Some(i) => (&inner[..i], &inner[i + 1..]),
            None => (inner, &b""[..]),
        };
        if !name.is_empty()
            && name.iter().all(|b| b.is_ascii_uppercase() || *b == b'_')
            && tag.iter().all(u8::is_ascii_hexdigit)
        {
            return true;
        }
    }
    const EMPTY: &[&[u8]] = &[
        b"",
        b"null",
        b"none",
        b"n/a",
        b"na",
        b"unknown",
        b"redacted",
        b"-",
        b"--",
        b"***",
        b"[redacted]",
        b"<redacted>",
        b"0",
    ];
    // A statement's bind placeholder (`SET mrn = $1`, `?`, `%s`) stands
    // for a value logged elsewhere.
    let bind = match v {
        [b'$', n @ ..] => !n.is_empty() && n.iter().all(u8::is_ascii_digit),
        b"?" | b"%s" => true,
        _ => false,
    };
    bind || EMPTY.iter().any(|e| v.eq_ignore_ascii_case(e))
}

/// What [`Scanner::walk_value`] calls for each scalar: its path, the label
/// a sibling gave it, and its text.
pub(crate) type ScalarVisit<'a> =
    dyn FnMut(&[Segment], Option<&str>, &[u8]) + 'a;

impl Scanner {
    /// What the keys of `path` say about its value: the nearest key, or
    /// the parent key read with it; for a generic key (`value`, `text`),
    /// else the label a sibling gave it (`"system": ".../us-ssn"`, read
    /// by its last part).
    fn key_hint(&self, path: &[Segment], label: Option<&str>) -> FieldHint {
        let mut keys = path.iter().rev().filter_map(|s| match s {
            Segment::Key(k) => Some(k),
            Segment::Index(_) => None,
        });
        let Some(near) = keys.next() else { return FieldHint::Unknown };
        let parent = keys.next().map(|p| p.as_bytes());
        let hint = self.inner.fields.hint_path(parent, near.as_bytes());
        match label {
            // A generic key (`value`, `id`) is what its sibling's label
            // says; a label naming an entity outranks even `id`'s "no PHI".
            Some(label)
                if matches!(hint, FieldHint::Unknown | FieldHint::NotPhi)
                    && crate::scan::hints::is_generic(near.as_bytes()) =>
            {
                match self.inner.fields.label_hint(label) {
                    FieldHint::Entity(p) => FieldHint::Entity(p),
                    other if hint == FieldHint::Unknown => other,
                    _ => hint,
                }
            }
            // DICOM JSON: `{"00100010": {"vr": "PN", "Value": [...]}}`,
            // read under `Value` only (not `vr`).
            _ if hint == FieldHint::Unknown => {
                let at = path.iter().rposition(
                    |s| matches!(s, Segment::Key(k) if k == "Value"),
                );
                let person = ["Alphabetic", "Ideographic", "Phonetic"]
                    .contains(&near.as_str());
                at.and_then(|i| i.checked_sub(1))
                    .and_then(|i| match &path[i] {
                        Segment::Key(k) => {
                            self.inner.dicom.tag_rule(k.as_bytes(), person)
                        }
                        Segment::Index(_) => None,
                    })
                    .map_or(hint, FieldHint::Entity)
            }
            _ => hint,
        }
    }

    /// Scans one field value whose name is `field` (a table column, a CSV
    /// header, a JSON key): the name is context, as header names and keys
    /// are for [`Scanner::scan_csv`] and [`Scanner::scan_json`], so a value
    /// under `last_name` is a PERSON even where no pattern matches it.
    /// Offsets are into `value`.
    ///
    /// ```
    /// use phisafe::{Entity, Scanner};
    ///
    /// let scanner = Scanner::new();
    /// let found = scanner.scan_field("last_name", b"Quixote");
    /// assert_eq!(found[0].entity(), Entity::Person);
    /// assert!(scanner.scan(b"Quixote").is_empty());
    /// ```
    pub fn scan_field(&self, field: &str, value: &[u8]) -> Vec<Finding> {
        self.scan_scalar(&[Segment::Key(field.to_string())], None, value)
    }

    /// Scans one scalar; findings have offsets into `value`.
    pub(crate) fn scan_scalar(
        &self,
        path: &[Segment],
        label: Option<&str>,
        value: &[u8],
    ) -> Vec<Finding> {
        self.scan_hinted(self.key_hint(path, label), value)
    }

    /// The key hint a value under field `name` gets: for callers that
    /// scan many values of one field and look it up once.
    pub(crate) fn field_hint(&self, name: &str) -> FieldHint {
        self.inner.fields.hint(name.as_bytes())
    }

    /// What a table cell says of the cell after it when it is a label
    /// (`Date of Birth`, `MRN`), as a record exported a field per row
    /// writes it, read as a key in text is read: an entity, no PHI
    /// (`created_at`: its dates are event times), or nothing.
    pub(crate) fn label_cell_hint(&self, cell: &[u8]) -> FieldHint {
        let cell = cell.trim_ascii();
        // A field name has letters, and digits only at its end
        // (`Address Line 1`); `Unit 5 rear lot` is a value.
        let end = cell
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        let head = &cell[..end];
        let label = (2..=48).contains(&cell.len())
            && cell.iter().any(u8::is_ascii_alphabetic)
            && !head.iter().any(u8::is_ascii_digit)
            && head.iter().filter(|&&b| b == b' ').count() < 5;
        if !label {
            return FieldHint::Unknown;
        }
        let mut words = crate::scan::hints::WordBuf::default();
        self.inner.fields.hint_key(cell, &mut words, true)
    }

    /// [`Scanner::scan_scalar`] with the path's key hint already looked up.
    /// The first key class of `entity` (a `[[key]]` table of the pack):
    /// how a column of that entity's values is read.
    pub(crate) fn key_class(&self, entity: Entity) -> Option<usize> {
        let patterns = self.patterns();
        (self.inner.n_regex..patterns.len()).find(|&i| {
            patterns[i].entity() == entity && !patterns[i].keys.is_empty()
        })
    }

    pub(crate) fn scan_hinted(
        &self,
        hint: FieldHint,
        value: &[u8],
    ) -> Vec<Finding> {
        let mut found = self.scan(value);
        if hint == FieldHint::NotPhi {
            // An event time or an id of a thing: a date in it is not a
            // patient's, and a bare number reading is not evidence enough.
            found.retain(|f| {
                !crate::scan::hints::gives_way(
                    f.entity(),
                    f.score(),
                    &value[f.range()],
                )
            });
        }
        if let FieldHint::Entity(hint) = hint {
            let p = self.pattern(PatternId(hint as u32));
            // The key is context for findings of its own entity.
            for f in found.iter_mut().filter(|f| f.entity() == p.entity()) {
                f.score = f.score.max(p.score());
            }
            // Covered when a finding of the key's entity spans the value:
            // a pattern that stops short (at a non-ASCII letter, before a
            // route number) leaves the rest to the key.
            let body = value.trim_ascii();
            let lead = value.len() - value.trim_ascii_start().len();
            let covered = found.iter().any(|f| {
                f.entity() == p.entity()
                    && f.start() <= lead
                    && f.end() >= lead + body.len()
            });
            let alnum = value
                .iter()
                .filter(|b| b.is_ascii_alphanumeric() || **b >= 0x80)
                .count();
            let valid = p.validator.is_none_or(|v| {
                v.check(value, 0..value.len(), self.inner.names)
            });
            if !covered
                && valid
                && !placeholder(value)
                && alnum >= p.min_length
                && p.score() >= self.min_score()
            {
                // The hint covers the whole value; findings inside it of
                // other kinds stay (nested facts).
                found.retain(|f| {
                    f.entity() != p.entity()
                        && (f.start() > 0 || f.end() < value.len())
                });
                found.insert(
                    0,
                    Finding {
                        entity: p.entity(),
                        start: 0,
                        end: value.len(),
                        score: p.score(),
                        pattern: PatternId(hint as u32),
                    },
                );
            }
        }
        found
    }

    /// Scans JSON text. Findings' offsets are bytes into `text`.
    ///
    /// ```
    /// use phisafe::{Entity, Scanner};
    ///
    /// let doc = br#"{"patient": {"last_name": "Okonkwo", "ssn": 219099999}}"#;
    /// let found = Scanner::new().scan_json(doc)?;
    /// let got: Vec<(&str, Entity)> =
    ///     found.iter().map(|f| (f.pointer(), f.finding().entity())).collect();
    /// assert_eq!(
    ///     got,
    ///     [("/patient/last_name", Entity::Person), ("/patient/ssn", Entity::Ssn)]
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scan_json(
        &self,
        text: &[u8],
    ) -> Result<Vec<JsonFinding>, InputError> {
        self.scan_json_paths(text, None)
    }

    /// [`Scanner::scan_json`], also collecting the folded pointer of every
    /// scalar when `paths` is given.
    fn scan_json_paths(
        &self,
        text: &[u8],
        paths: Option<&mut Vec<String>>,
    ) -> Result<Vec<JsonFinding>, InputError> {
        self.scan_json_in(text, &[], 0, paths)
    }

    /// Scans a value at `prefix` of a larger document, its first byte at
    /// stream offset `base`.
    pub(crate) fn scan_json_in(
        &self,
        text: &[u8],
        prefix: &[Segment],
        base: usize,
        mut paths: Option<&mut Vec<String>>,
    ) -> Result<Vec<JsonFinding>, InputError> {
        let mut out = Vec::new();
        let depth = self.inner.json_max_depth;
        walk_in(text, prefix, depth, |path, label, scalar| {
            let (bytes, map, raw) = match &scalar {
                Scalar::Str { raw, decoded: Some((bytes, map)) } => {
                    (&bytes[..], Some(map), raw.clone())
                }
                Scalar::Str { raw, decoded: None }
                | Scalar::Number { raw } => {
                    (&text[raw.clone()], None, raw.clone())
                }
            };
            let found = self.scan_scalar(path, label, bytes);
            // Each string is built once per value and moved into the last
            // finding: most values hold one finding or none.
            let folded = match (paths.as_deref_mut(), found.is_empty()) {
                (Some(paths), true) => {
                    paths.push(folded_pointer(path));
                    return;
                }
                (Some(paths), false) => {
                    let folded = folded_pointer(path);
                    paths.push(folded.clone());
                    folded
                }
                (None, true) => return,
                (None, false) => folded_pointer(path),
            };
            let ptr = pointer(path);
            let last = found.len() - 1;
            let mut strings = Some((ptr, folded));
            for (i, f) in found.into_iter().enumerate() {
                let (start, end) = match map {
                    Some(map) => (base + map[f.start], base + map[f.end]),
                    None => {
                        (base + raw.start + f.start, base + raw.start + f.end)
                    }
                };
                let (pointer, folded) = if i == last {
                    strings.take().expect("taken once, at the last finding")
                } else {
                    strings.clone().expect("present until the last finding")
                };
                let finding = Finding { start, end, ..f };
                out.push(JsonFinding { finding, pointer, folded });
            }
        })?;
        Ok(out)
    }

    /// Scans a parsed JSON value. Findings' offsets are bytes into the
    /// string value (or the number's text) their pointer names.
    pub fn scan_json_value(
        &self,
        value: &serde_json::Value,
    ) -> Vec<JsonFinding> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        self.walk_value(value, &mut path, None, &mut |path, label, bytes| {
            let found = self.scan_scalar(path, label, bytes);
            if !found.is_empty() {
                let (ptr, folded) = (pointer(path), folded_pointer(path));
                out.extend(found.into_iter().map(|finding| JsonFinding {
                    finding,
                    pointer: ptr.clone(),
                    folded: folded.clone(),
                }));
            }
        });
        out
    }

    pub(crate) fn walk_value(
        &self,
        value: &serde_json::Value,
        path: &mut Vec<Segment>,
        label: Option<&str>,
        visit: &mut ScalarVisit<'_>,
    ) {
        use serde_json::Value;
        // serde_json's own parser limits nesting (128 by default), so a
        // parsed value is never deep enough to exhaust the stack here.
        match value {
            Value::String(s) => visit(path, label, s.as_bytes()),
            Value::Number(n) => visit(path, label, n.to_string().as_bytes()),
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(Segment::Index(i));
                    self.walk_value(v, path, None, visit);
                    path.pop();
                }
            }
            Value::Object(map) => {
                // Labels as the text walker gives them, in member order:
                // what a FHIR identifier's `type` says is kept.
                let mut label: Option<Cow<'_, str>> = None;
                let mut typed = false;
                for (k, v) in map {
                    path.push(Segment::Key(k.clone()));
                    self.walk_value(v, path, label.as_deref(), visit);
                    path.pop();
                    match v {
                        Value::String(s)
                            if !typed && is_label_key(k.as_bytes()) =>
                        {
                            label = Some(Cow::Borrowed(s));
                        }
                        Value::Object(t) if k == "type" => {
                            if let Some(l) = identifier_type_label(t) {
                                label = Some(Cow::Owned(l));
                                typed = true;
                            }
                        }
                        _ => {}
                    }
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// Scans JSON lines on the rayon pool: the stream is read in batches of
    /// a few megabytes, cut at line breaks into pieces scanned in parallel,
    /// and `each` sees every non-blank line in order, exactly as
    /// [`JsonlScan::next_line`] would give it. Memory is bounded by the
    /// batch size (and the longest line).
    pub fn scan_jsonl_parallel<R: io::Read>(
        &self,
        mut rdr: R,
        mut each: impl FnMut(JsonlLine<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        use rayon::prelude::*;
        // Small enough that a batch's results stay in cache until handed
        // out (4 MiB batches measured a third slower on one thread).
        const BATCH: usize = 1 << 20;
        const PIECE: usize = 64 << 10;
        let mut buf: Vec<u8> = Vec::new();
        // Stream offset of buf[0], and lines before it.
        let (mut base, mut lines_before) = (0usize, 0u64);
        let mut eof = false;
        loop {
            while !eof && buf.len() < BATCH {
                let old = buf.len();
                buf.resize(old + (256 << 10), 0);
                let n = loop {
                    match rdr.read(&mut buf[old..]) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        r => break r,
                    }
                };
                let n = match n {
                    Ok(n) => n,
                    Err(e) => {
                        buf.truncate(old);
                        return Err(e);
                    }
                };
                buf.truncate(old + n);
                eof = n == 0;
            }
            if buf.is_empty() {
                return Ok(());
            }
            let cut = match memchr::memrchr(b'\n', &buf) {
                _ if eof => buf.len(),
                Some(i) => i + 1,
                // One line longer than a batch: read on (up to MAX_LINE,
                // where the sequential reader gives up too).
                None if buf.len() <= MAX_LINE => {
                    let more = buf.len() + BATCH;
                    while !eof && buf.len() < more {
                        let old = buf.len();
                        buf.resize(old + (256 << 10), 0);
                        let n = rdr.read(&mut buf[old..])?;
                        buf.truncate(old + n);
                        eof = n == 0;
                    }
                    continue;
                }
                None => {
                    // Too long: hand it to the sequential reader, which
                    // reports and skips it.
                    let chained =
                        io::Cursor::new(std::mem::take(&mut buf)).chain(rdr);
                    let mut seq = self.scan_jsonl(io::BufReader::new(chained));
                    seq.line = lines_before;
                    seq.offset = base;
                    while let Some(line) = seq.next_line() {
                        each(line?)?;
                    }
                    return Ok(());
                }
            };
            let mut bounds = vec![0];
            let mut at = PIECE;
            while at < cut {
                let end = memchr::memchr(b'\n', &buf[at..cut])
                    .map_or(cut, |i| at + i + 1);
                bounds.push(end);
                at = end + PIECE;
            }
            if bounds.last() != Some(&cut) {
                bounds.push(cut);
            }
            let batch = &buf[..cut];
            let pieces: Vec<Vec<ParLine>> = bounds
                .par_windows(2)
                .map(|w| self.jsonl_piece(batch, w[0]..w[1], base))
                .collect();
            let mut number = lines_before;
            for (piece, w) in pieces.into_iter().zip(bounds.windows(2)) {
                for l in piece {
                    each(JsonlLine {
                        number: number + l.rel_line,
                        offset: base + l.range.start,
                        bytes: &batch[l.range.clone()],
                        result: l.result.map_err(|e| InputError {
                            format: Format::JsonLines,
                            line: number + l.rel_line,
                            ..e
                        }),
                        paths: l.paths,
                        text: l.text,
                    })?;
                }
                number += memchr::memchr_iter(b'\n', &batch[w[0]..w[1]])
                    .count() as u64;
            }
            // A last line without a newline still counts as a line.
            if eof && !batch.ends_with(b"\n") {
                number += 1;
            }
            lines_before = number;
            base += cut;
            buf.drain(..cut);
        }
    }

    /// Scans the lines of `batch[range]`; findings' offsets are from the
    /// stream start (`base` is the stream offset of `batch[0]`).
    /// Scans one JSON line (terminator included) that starts at stream
    /// offset `offset`: its findings, or its error (line 1 of the line),
    /// and the folded pointers of its values. Both JSON lines readers call
    /// this, so they cannot drift apart.
    fn scan_jsonl_line(
        &self,
        line: &[u8],
        offset: usize,
    ) -> (Result<Vec<JsonFinding>, InputError>, Vec<String>, Vec<Finding>)
    {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let mut paths = Vec::new();
        let result =
            self.scan_json_paths(body, Some(&mut paths)).map(|found| {
                found
                    .into_iter()
                    .map(|mut f| {
                        f.finding = f.finding.offset_by(offset);
                        f
                    })
                    .collect()
            });
        paths.sort();
        paths.dedup();
        // A line that is not JSON is still somebody's data: scan it as
        // text so that nothing in it goes unreported.
        let text = match result {
            Ok(_) => Vec::new(),
            Err(_) => self
                .scan(line)
                .into_iter()
                .map(|f| f.offset_by(offset))
                .collect(),
        };
        (result, paths, text)
    }

    fn jsonl_piece(
        &self,
        batch: &[u8],
        range: Range<usize>,
        base: usize,
    ) -> Vec<ParLine> {
        let mut out = Vec::new();
        let mut rel_line = 0;
        let mut at = range.start;
        while at < range.end {
            let end = memchr::memchr(b'\n', &batch[at..range.end])
                .map_or(range.end, |i| at + i + 1);
            rel_line += 1;
            let line = &batch[at..end];
            if !line.trim_ascii().is_empty() {
                let (result, paths, text) =
                    self.scan_jsonl_line(line, base + at);
                out.push(ParLine {
                    rel_line,
                    range: at..end,
                    result,
                    paths,
                    text,
                });
            }
            at = end;
        }
        out
    }

    /// Scans JSON lines. Each item is one non-blank line: its 1-based line
    /// number and its findings (offsets from the start of the stream), or
    /// the error that line had. A bad line does not stop the scan.
    pub fn scan_jsonl<R: BufRead>(&self, rdr: R) -> JsonlScan<'_, R> {
        JsonlScan {
            scanner: self,
            rdr,
            line: 0,
            offset: 0,
            buf: Vec::new(),
            done: false,
        }
    }
}

/// The lines of a JSON lines stream and their findings; see
/// [`Scanner::scan_jsonl`].
pub struct JsonlScan<'s, R> {
    scanner: &'s Scanner,
    rdr: R,
    line: u64,
    offset: usize,
    buf: Vec<u8>,
    done: bool,
}

/// The longest line read as JSON; a longer one is scanned as text, in
/// bounded memory, and reported. (Small in unit tests, to reach it.)
#[cfg(not(test))]
pub(crate) const MAX_LINE: usize = 64 << 20;
#[cfg(test)]
pub(crate) const MAX_LINE: usize = 4 << 10;

/// A line scanned by a worker of [`Scanner::scan_jsonl_parallel`].
struct ParLine {
    /// 1-based line within its piece.
    rel_line: u64,
    range: Range<usize>,
    result: Result<Vec<JsonFinding>, InputError>,
    paths: Vec<String>,
    text: Vec<Finding>,
}

/// One line of a JSON lines stream; see [`JsonlScan::next_line`].
pub struct JsonlLine<'a> {
    /// 1-based line number.
    pub number: u64,
    /// Offset of the line's first byte from the start of the stream.
    pub offset: usize,
    /// The line's bytes, newline included (empty if it was too long).
    pub bytes: &'a [u8],
    /// Its findings (offsets from the start of the stream), or its error.
    pub result: Result<Vec<JsonFinding>, InputError>,
    /// The pointers of every string and number in the line, array indices
    /// folded to `*` (see [`JsonFinding::folded_pointer`]),
    /// each once: the columns a per-column summary counts.
    pub paths: Vec<String>,
    /// A line that is not JSON, or too long to read as JSON, is scanned
    /// as text: its findings (offsets from the start of the stream); empty
    /// for a JSON line.
    pub text: Vec<Finding>,
}

/// Shows the position, never the line's bytes.
impl<R> fmt::Debug for JsonlScan<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonlScan")
            .field("line", &self.line)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

/// Shows the findings' places and the line's length, never its bytes.
impl fmt::Debug for JsonlLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonlLine")
            .field("number", &self.number)
            .field("offset", &self.offset)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("result", &self.result)
            .field("paths", &self.paths.len())
            .field("text", &self.text)
            .finish()
    }
}

impl<R: BufRead> JsonlScan<'_, R> {
    /// The next non-blank line with its bytes, or `None` at the end.
    pub fn next_line(&mut self) -> Option<io::Result<JsonlLine<'_>>> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            let (n, complete) = match read_line(&mut self.rdr, &mut self.buf) {
                Ok(r) => r,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if n == 0 {
                self.done = true;
                return None;
            }
            self.line += 1;
            let offset = self.offset;
            self.offset += n;
            let number = self.line;
            if !complete {
                // Too long to read as JSON: scanned as text as it streams
                // by, so no byte of it goes unscanned.
                let scanner = self.scanner;
                let mut rest = LineRest::new(&self.buf, &mut self.rdr);
                let mut text = Vec::new();
                for f in scanner.scan_reader(&mut rest) {
                    match f {
                        Ok(f) => text.push(f.offset_by(offset)),
                        Err(e) => {
                            self.done = true;
                            return Some(Err(e));
                        }
                    }
                }
                self.offset = offset + rest.given;
                let err = InputError::new(
                    Format::JsonLines,
                    InputErrorKind::TooLong(MAX_LINE),
                    number,
                    Some(1),
                    "the line is too long to read as JSON; it was scanned as text",
                );
                return Some(Ok(JsonlLine {
                    number,
                    offset,
                    bytes: &[],
                    result: Err(err),
                    paths: Vec::new(),
                    text,
                }));
            }
            if self.buf.trim_ascii().is_empty() {
                continue;
            }
            let (result, paths, text) =
                self.scanner.scan_jsonl_line(&self.buf, offset);
            let result = result.map_err(|e| InputError {
                format: Format::JsonLines,
                line: number,
                ..e
            });
            return Some(Ok(JsonlLine {
                number,
                offset,
                bytes: &self.buf,
                result,
                paths,
                text,
            }));
        }
    }
}

impl<R: BufRead> Iterator for JsonlScan<'_, R> {
    type Item = io::Result<(u64, Result<Vec<JsonFinding>, InputError>)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_line().map(|r| r.map(|line| (line.number, line.result)))
    }
}

/// Reads up to and including a newline into `buf`, but no more than
/// `MAX_LINE` bytes in all. Returns the bytes consumed and whether the
/// line is complete (else the rest of it is still in `rdr`).
pub(crate) fn read_line<R: BufRead>(
    rdr: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<(usize, bool)> {
    let mut consumed = 0;
    loop {
        let avail = match rdr.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok((consumed, true));
        }
        let (take, end) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        if take > room {
            buf.extend_from_slice(&avail[..room]);
            rdr.consume(room);
            return Ok((consumed + room, false));
        }
        buf.extend_from_slice(&avail[..take]);
        rdr.consume(take);
        consumed += take;
        if end {
            return Ok((consumed, true));
        }
    }
}

/// A line too long to hold, as a reader: `head` (read already), then
/// `rdr` up to and including the next newline. Counts what it gives.
pub(crate) struct LineRest<'a, R> {
    head: &'a [u8],
    rdr: &'a mut R,
    ended: bool,
    /// Bytes given so far.
    pub(crate) given: usize,
}

impl<'a, R: BufRead> LineRest<'a, R> {
    pub(crate) fn new(head: &'a [u8], rdr: &'a mut R) -> LineRest<'a, R> {
        LineRest { head, rdr, ended: false, given: 0 }
    }
}

impl<R: BufRead> Read for LineRest<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if !self.head.is_empty() {
            let n = self.head.len().min(out.len());
            out[..n].copy_from_slice(&self.head[..n]);
            self.head = &self.head[n..];
            self.given += n;
            return Ok(n);
        }
        if self.ended {
            return Ok(0);
        }
        let avail = loop {
            match self.rdr.fill_buf() {
                Ok(b) => break b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        let (len, newline) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        let n = len.min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.ended = len == 0 || (newline && n == len);
        self.rdr.consume(n);
        self.given += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entity, Redactor};

    fn found(text: &str) -> Vec<(String, Entity, String)> {
        Scanner::new()
            .scan_json(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|f| {
                let value = text[f.finding().range()].to_string();
                (f.pointer().to_string(), f.finding().entity(), value)
            })
            .collect()
    }

    #[test]
    fn pointers_and_offsets_into_the_text() {
        let text = r#"{"note": "caf\u00e9 SSN 219-09-9999", "a/b": {"x~y": [1, "jo@clinic.example"]}}"#;
        assert_eq!(
            found(text),
            [
                ("/note".into(), Entity::Ssn, "219-09-9999".into()),
                (
                    "/a~1b/x~0y/1".into(),
                    Entity::Email,
                    "jo@clinic.example".into()
                ),
            ]
        );
        // An escape inside the finding: the raw span covers it.
        let text = r#"{"n": "SSN 219\u002d09-9999!"}"#;
        assert_eq!(
            found(text),
            [("/n".into(), Entity::Ssn, r"219\u002d09-9999".into())]
        );
    }

    #[test]
    fn keys_are_hints_whatever_their_spelling() {
        for key in ["patientName", "patient_name", "PATIENT-NAME"] {
            let text = format!(r#"{{"{key}": "Zed Quixote"}}"#);
            let got = found(&text);
            assert_eq!(got.len(), 1, "{key}");
            assert_eq!(got[0].1, Entity::Person);
            assert_eq!(got[0].2, "Zed Quixote");
        }
        // Parent and child keys read together; arrays in between are fine.
        let got = found(
            r#"{"patient": {"name": "Zed Quixote"}, "ssn": [219099999]}"#,
        );
        assert_eq!(
            got,
            [
                ("/patient/name".into(), Entity::Person, "Zed Quixote".into()),
                ("/ssn/0".into(), Entity::Ssn, "219099999".into()),
            ]
        );
        // The key raises the score of what a pattern found under it.
        let s = Scanner::new();
        let bare = s.scan(b"1957-03-14")[0].score();
        let keyed = s.scan_json(br#"{"dob": "1957-03-14"}"#).unwrap();
        assert!(keyed[0].finding().score() > bare);
        // A row key under patient_id is not a record number.
        assert!(found(r#"{"patient_id": 7}"#).is_empty());
        // A field that holds no PHI overrules a bare number's reading, not
        // a shaped value's.
        assert!(
            found(r#"{"order_id": "219099999", "note": "ssn"}"#).is_empty()
        );
        assert_eq!(found(r#"{"order_id": "219-09-9999"}"#).len(), 1);
        // Placeholders and other keys say nothing.
        assert!(
            found(
                r#"{"ssn": "N/A", "dob": null, "product": {"name": "Gauze"}}"#
            )
            .is_empty()
        );
        // The entity filter applies to hints too.
        let s = Scanner::builder().entities([Entity::Email]).build().unwrap();
        assert!(s.scan_json(br#"{"ssn": 219099999}"#).unwrap().is_empty());
    }

    #[test]
    fn glued_short_abbreviations_after_a_role() {
        let s = Scanner::new();
        let dl = s.field_hint("owner_dl");
        assert_ne!(dl, FieldHint::Unknown);
        for name in ["ownerdl", "patientdlno", "OWNERDL"] {
            assert_eq!(s.field_hint(name), dl, "{name}");
        }
        // Not after a role word, and not inside other words.
        for name in ["handl", "xdl", "modl"] {
            assert_eq!(s.field_hint(name), FieldHint::Unknown, "{name}");
        }
    }

    #[test]
    fn siblings_label_generic_values() {
        // FHIR identifiers and telecoms: the system says what the value is.
        let got = found(
            r#"{"identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "219099999"}, {"system": "urn:oid:2.16.840.1.113883.4.1|mrn", "value": "A-77120"}], "telecom": [{"system": "phone", "use": "home", "value": "415 555 2671"}]}"#,
        );
        let entities: Vec<_> =
            got.iter().map(|g| (g.1, g.2.as_str())).collect();
        assert!(entities.contains(&(Entity::Ssn, "219099999")), "{got:?}");
        assert!(
            entities.contains(&(Entity::Phone, "415 555 2671")),
            "{got:?}"
        );
        assert!(entities.contains(&(Entity::Mrn, "A-77120")), "{got:?}");
        // HL7 OIDs name the system as FHIR and CDA write them; other
        // OIDs say nothing.
        let got = found(
            r#"[{"system": "urn:oid:2.16.840.1.113883.4.1", "value": "219099998"}, {"system": "urn:oid:2.16.840.1.113883.4.3.25", "value": "S12345678"}, {"system": "2.16.840.1.113883.4.927", "value": "1EG4TE5MK73"}, {"system": "urn:oid:2.16.840.1.113883.4.6", "value": "1234567893"}, {"system": "urn:oid:2.16.840.1.113883.4.11", "value": "20240101"}]"#,
        );
        let entities: Vec<_> =
            got.iter().map(|g| (g.1, g.2.as_str())).collect();
        for want in [
            (Entity::Ssn, "219099998"),
            (Entity::DriverLicense, "S12345678"),
            (Entity::HealthPlanId, "1EG4TE5MK73"),
            (Entity::Npi, "1234567893"),
        ] {
            assert!(entities.contains(&want), "{want:?} in {got:?}");
        }
        assert!(!entities.iter().any(|e| e.1 == "20240101"), "{got:?}");
        // As in text (`type=DL number=...`): `number` and even `id` (no
        // PHI on its own) take what their sibling's type says.
        let got = found(
            r#"[{"documentType": "passport", "id": "912803456"}, {"type": "order", "id": "912803457"}]"#,
        );
        let entities: Vec<_> =
            got.iter().map(|g| (g.1, g.2.as_str())).collect();
        assert_eq!(entities, [(Entity::Passport, "912803456")], "{got:?}");
        // A reference names its resource's type.
        let got = found(
            r#"{"generalPractitioner": [{"reference": "Practitioner/1985", "display": "Dr. June Vo"}]}"#,
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            (got[0].1, got[0].2.as_str()),
            (Entity::Person, "Dr. June Vo")
        );
        // A label says nothing of a value under a key that has its own
        // meaning, nor of values outside its object.
        let got = found(
            r#"{"type": "ssn", "note": "routine", "x": {"value": "219099999z"}}"#,
        );
        assert!(got.is_empty(), "{got:?}");
        // The parsed-value walker gives the same labels.
        let text = r#"{"system": "phone", "value": "415 555 2671"}"#;
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let got = Scanner::new().scan_json_value(&value);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].finding().entity(), Entity::Phone);
    }

    #[test]
    fn a_fhir_identifier_type_names_its_value() {
        // HL7 table 0203 codes and the type's text; a local system OID
        // after the type does not undo what the type said.
        let text = r#"{"identifier": [{"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "system": "urn:oid:1.2.36.146.595.217.0.1", "value": "0843875"}, {"type": {"text": "Driver's license number"}, "value": "TR558102"}, {"type": {"coding": [{"code": "XX"}]}, "system": "urn:oid:1.2.3", "value": "77120553"}, {"type": {"coding": [{"code": "SS"}]}, "value": "219099999"}]}"#;
        let got = found(text);
        let entities: Vec<_> =
            got.iter().map(|g| (g.1, g.2.as_str())).collect();
        assert_eq!(
            entities,
            [
                (Entity::Mrn, "0843875"),
                (Entity::DriverLicense, "TR558102"),
                (Entity::Ssn, "219099999"),
            ],
            "{got:?}"
        );
        // The type names only its own identifier's values.
        let got = found(
            r#"[{"type": {"coding": [{"code": "MR"}]}}, {"value": "0843875"}]"#,
        );
        assert!(got.is_empty(), "{got:?}");
        // The parsed-value walker gives the same labels.
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let parsed: Vec<_> = Scanner::new()
            .scan_json_value(&value)
            .iter()
            .map(|f| (f.finding().entity(), f.pointer().to_string()))
            .collect();
        let walked: Vec<_> = got_pointers(text);
        assert_eq!(parsed, walked);
    }

    fn got_pointers(text: &str) -> Vec<(Entity, String)> {
        Scanner::new()
            .scan_json(text.as_bytes())
            .unwrap()
            .iter()
            .map(|f| (f.finding().entity(), f.pointer().to_string()))
            .collect()
    }

    #[test]
    fn dicom_json_values_are_read_by_tag() {
        // PS3.18 JSON: the tag is the key, values sit under `Value`.
        let text = r#"{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Quixote^Zed^^Dr"}]}, "00100020": {"vr": "LO", "Value": ["ZQ-4471"]}, "00080060": {"vr": "CS", "Value": ["MR"]}}"#;
        let got = found(text);
        let values: Vec<_> = got.iter().map(|g| g.2.as_str()).collect();
        assert!(values.contains(&"Quixote^Zed^^Dr"), "{got:?}");
        assert!(values.contains(&"ZQ-4471"), "{got:?}");
        assert!(!values.contains(&"MR"), "{got:?}");
        // `vr` is not the value.
        assert!(got.iter().all(|g| !g.0.ends_with("/vr")), "{got:?}");
    }

    #[test]
    fn a_key_covers_what_a_pattern_found_only_in_part() {
        // The name pattern stops at a non-ASCII letter; the key reads the
        // value whole, once.
        for (key, value) in [
            ("patientName", "Suzette Nguyễn"),
            ("streetAddress", "4410 County Road 12"),
        ] {
            let text = format!(r#"{{"{key}": "{value}"}}"#);
            let got = found(&text);
            assert_eq!(got.len(), 1, "{got:?}");
            assert_eq!(got[0].2, value, "{got:?}");
        }
    }

    #[test]
    fn key_hint_examples() {
        let scanner = Scanner::new();
        for p in scanner.patterns().iter().filter(|p| !p.keys().is_empty()) {
            assert!(!p.examples().is_empty(), "{}", p.id());
            for ex in p.examples() {
                let start = ex.find('«').unwrap();
                let end = ex.find('»').unwrap() - '«'.len_utf8();
                let text = ex.replace(['«', '»'], "");
                let got = scanner.scan_json(text.as_bytes()).unwrap();
                assert!(
                    got.iter().any(|f| f.finding().range() == (start..end)
                        && f.finding().entity() == p.entity()),
                    "{}: {ex}",
                    p.id()
                );
            }
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let err = Scanner::new().scan_json(deep.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), InputErrorKind::TooDeep(128));
        assert_eq!((err.line(), err.column()), (1, Some(129)));
        assert!(err.to_string().contains("json_max_depth"));
        let ok = "[".repeat(100) + &"]".repeat(100);
        assert!(Scanner::new().scan_json(ok.as_bytes()).is_ok());
        let s = Scanner::builder().json_max_depth(1000).build().unwrap();
        let deep = "[".repeat(900) + "\"219-09-9999 SSN\"" + &"]".repeat(900);
        assert_eq!(s.scan_json(deep.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn malformed_json_is_located() {
        let cases = [
            ("{\n  \"a\": tru }", 2, 8),
            ("{\"a\": 1,}", 1, 9),
            ("[1 2]", 1, 4),
            ("{\"a\": \"x", 1, 9),
            ("{} x", 1, 4),
            ("", 1, 1),
            ("{\"a\": \"\\q\"}", 1, 8),
            ("{\"a\" 1}", 1, 6),
            ("[01.]", 1, 5),
        ];
        for (text, line, column) in cases {
            let err = Scanner::new().scan_json(text.as_bytes()).unwrap_err();
            assert_eq!(
                (err.line(), err.column()),
                (line, Some(column)),
                "{text:?}: {err}"
            );
            assert_eq!(err.kind(), InputErrorKind::Syntax);
            assert!(err.to_string().starts_with("invalid JSON at line"));
        }
        // Messages never repeat the document.
        let err =
            Scanner::new().scan_json(b"{\"ssn\": 219-09-9999}").unwrap_err();
        assert!(!err.to_string().contains("219"), "{err}");
    }

    #[test]
    fn line_rest_reads_to_the_newline_whatever_the_buffer() {
        let mut rdr: &[u8] = b"cd\nef";
        let mut rest = LineRest::new(b"ab", &mut rdr);
        let mut got = Vec::new();
        let mut one = [0u8; 1];
        // An empty buffer reads nothing and ends nothing.
        assert_eq!(rest.read(&mut []).unwrap(), 0);
        while rest.read(&mut one).unwrap() == 1 {
            got.push(one[0]);
        }
        assert_eq!((&got[..], rest.given), (&b"abcd\n"[..], 5));
        assert_eq!(rdr, b"ef");
    }

    /// A line longer than `MAX_LINE` (4 KiB in unit tests, 64 MiB
    /// otherwise) is scanned as text, every byte of it, and the lines
    /// after it are read as before, at the right offsets.
    #[test]
    fn a_line_too_long_for_json_is_scanned_as_text() {
        let filler = "x".repeat(MAX_LINE);
        let long = format!(
            "{{\"note\": \"ssn 219-09-9999 {filler} call 415-555-2671\"}}\n"
        );
        let text =
            format!("{{\"a\": 1}}\n{long}{{\"ssn\": \"536-22-1837\"}}\n");
        let scanner = Scanner::new();
        for chunk in [7, 1000, 1 << 16] {
            let rdr = io::BufReader::with_capacity(chunk, text.as_bytes());
            let mut scan = scanner.scan_jsonl(rdr);
            let mut seen = Vec::new();
            while let Some(line) = scan.next_line() {
                let line = line.unwrap();
                if line.number == 2 {
                    let err = line.result.as_ref().unwrap_err();
                    assert_eq!(err.kind(), InputErrorKind::TooLong(MAX_LINE));
                    assert!(line.bytes.is_empty());
                }
                let found = line.result.as_deref().unwrap_or(&[]);
                seen.extend(found.iter().map(|f| f.finding().range()));
                seen.extend(line.text.iter().map(|f| f.range()));
            }
            let values: Vec<_> =
                seen.iter().map(|r| &text[r.clone()]).collect();
            assert_eq!(
                values,
                ["219-09-9999", "415-555-2671", "536-22-1837"],
                "chunk {chunk}"
            );
        }
        // The parallel reader hands such a line to the sequential one.
        let mut values = Vec::new();
        scanner
            .scan_jsonl_parallel(text.as_bytes(), |line| {
                let found = line.result.as_deref().unwrap_or(&[]);
                values.extend(
                    found
                        .iter()
                        .map(|f| text[f.finding().range()].to_string()),
                );
                values.extend(
                    line.text.iter().map(|f| text[f.range()].to_string()),
                );
                Ok(())
            })
            .unwrap();
        assert_eq!(values, ["219-09-9999", "415-555-2671", "536-22-1837"]);
        // Redaction streams it as text, the lines around it as JSON.
        let r = crate::Redactor::new(Scanner::new());
        let mut out = Vec::new();
        let not_json = r.redact_jsonl(text.as_bytes(), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(not_json, 1);
        assert!(
            out.starts_with("{\"a\": 1}\n{\"note\": \"ssn [SSN] x"),
            "{}",
            &out[..80]
        );
        assert!(out.ends_with("call [PHONE]\"}\n{\"ssn\": \"[SSN]\"}\n"));
        assert_eq!(out.len(), text.len() - 11 - 12 - 11 + 5 + 7 + 5);
    }

    #[test]
    fn jsonl_reports_bad_lines_and_goes_on() {
        let text = "{\"email\": \"jo@clinic.example\"}\n{\"broken\": \n\n{\"ssn\": 219099999}\n";
        let items: Vec<_> = Scanner::new()
            .scan_jsonl(text.as_bytes())
            .collect::<io::Result<Vec<_>>>()
            .unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].0, 1);
        let first = items[0].1.as_ref().unwrap();
        assert_eq!(&text[first[0].finding().range()], "jo@clinic.example");
        assert_eq!(items[1].0, 2);
        let err = items[1].1.as_ref().unwrap_err();
        assert_eq!((err.line(), err.column()), (2, Some(12)));
        assert_eq!(err.format(), Format::JsonLines);
        assert_eq!(items[2].0, 4);
        let last = items[2].1.as_ref().unwrap();
        assert_eq!(&text[last[0].finding().range()], "219099999");
    }

    #[test]
    fn folded_pointers_fold_indices_not_numeric_keys() {
        let text = br#"{"2024": [{"email": "jo@clinic.example"}]}"#;
        let found = Scanner::new().scan_json(text).unwrap();
        assert_eq!(found[0].pointer(), "/2024/0/email");
        assert_eq!(found[0].folded_pointer(), "/2024/*/email");
        let scanner = Scanner::new();
        let mut lines = scanner.scan_jsonl(&text[..]);
        let line = lines.next_line().unwrap().unwrap();
        assert_eq!(line.paths, ["/2024/*/email"]);
    }

    #[test]
    fn value_and_text_agree() {
        let text = r#"{"patient": {"lastName": "Okonkwo", "contact": [{"phone": "(415) 555-2671"}], "ssn": 219099999}}"#;
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let s = Scanner::new();
        let from_text: Vec<_> = s
            .scan_json(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|f| (f.pointer().to_string(), f.finding().entity()))
            .collect();
        let from_value: Vec<_> = s
            .scan_json_value(&value)
            .into_iter()
            .map(|f| (f.pointer().to_string(), f.finding().entity()))
            .collect();
        let mut a = from_text.clone();
        let mut b = from_value;
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(from_text.len(), 3);
    }

    /// Same keys, same array lengths, strings stay strings.
    fn same_shape(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter().all(|(k, v)| {
                        y.get(k).is_some_and(|w| same_shape(v, w))
                    })
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len()
                    && x.iter().zip(y).all(|(v, w)| same_shape(v, w))
            }
            (Value::String(_), Value::String(_)) => true,
            (Value::Number(_), Value::Number(_) | Value::String(_)) => true,
            (x, y) => x == y,
        }
    }

    #[test]
    fn redacted_json_keeps_its_shape() {
        let text = r#"{
  "id": "9dfb369b-ab13-4fae-8276-55daa05f1119",
  "patient": {"name": "Zed Quixote", "dob": "1957-03-14", "ssn": 219099999,
              "contact": [{"phone": "(415) 555-2671"}, {"email": "jo@clinic.example"}],
              "note": "quote \" and tab\t SSN 219-09-9999 \u00e9"},
  "visits": 3, "active": true, "tags": []
}"#;
        let r = Redactor::new(Scanner::new());
        let out = r.redact_json(text.as_bytes()).unwrap();
        let before: serde_json::Value = serde_json::from_str(text).unwrap();
        let after: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(
            same_shape(&before, &after),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert!(Scanner::new().scan_json(&out).unwrap().is_empty());
        assert_eq!(after["patient"]["ssn"], "[SSN]");
        assert_eq!(after["visits"], 3);
        assert_eq!(after["patient"]["note"], "quote \" and tab\t SSN [SSN] é");
        // The parsed-value path gives the same document.
        assert_eq!(r.redact_json_value(&before), after);
    }

    #[test]
    fn jsonl_redaction_keeps_every_line_and_its_ending() {
        let input = concat!(
            "{\"ssn\": \"219-09-9999\"}\r\n",
            "\n",
            "   \r\n",
            "[2024-08-30 11:02:44,918: INFO] mrn=00482913 phone 415-555-2671\n",
            "{\"note\": \"DOB 03/14/1957\", \"n\": 3}",
        );
        let r = Redactor::new(Scanner::new());
        let mut out = Vec::new();
        let not_json = r.redact_jsonl(input.as_bytes(), &mut out).unwrap();
        assert_eq!(not_json, 1);
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.split_inclusive('\n').collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert_eq!(lines[0], "{\"ssn\": \"[SSN]\"}\r\n");
        assert_eq!(lines[1], "\n");
        assert_eq!(lines[2], "   \r\n");
        assert!(lines[3].starts_with("[2024-08-30"), "{out}");
        for leaked in ["219-09-9999", "00482913", "415-555-2671", "03/14/1957"]
        {
            assert!(!out.contains(leaked), "{leaked} survived: {out}");
        }
        // The last line has no newline in, and none out.
        let last: serde_json::Value = serde_json::from_str(lines[4]).unwrap();
        assert_eq!(last["n"], 3);
    }

    #[test]
    fn jsonl_redaction_matches_per_line_redaction() {
        let docs = [
            r#"{"patient": {"name": "Zed Quixote", "email": "jo@clinic.example"}}"#,
            r#"[1, "SSN 219-09-9999", {"npi": "1245319599"}]"#,
            r#""a bare string with 415-555-2671""#,
        ];
        let r = Redactor::new(Scanner::new());
        let mut out = Vec::new();
        let input = docs.join("\n") + "\n";
        assert_eq!(r.redact_jsonl(input.as_bytes(), &mut out).unwrap(), 0);
        let mut want = Vec::new();
        for d in docs {
            want.extend(r.redact_json(d.as_bytes()).unwrap());
            want.push(b'\n');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }
}
