//! JSON redaction that keeps the document's shape: same keys, same array
//! lengths, strings stay strings. A number holding PHI becomes a string
//! (the redaction of a number is not a number).

use std::io::{self, BufRead, Read, Write};

use super::scan::{LineRest, read_line};
use crate::Redactor;
use crate::format::InputError;
use crate::format::json::stream::{Splitter, relocate};
use crate::format::json::{Scalar, Segment, walk_in};

/// Appends `bytes` as the inside of a JSON string.
fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1F => {
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes())
            }
            _ => out.push(b),
        }
    }
}

impl Redactor {
    /// Redacts JSON text, keeping it valid JSON of the same shape. Only
    /// string and number values change; keys, layout and whitespace stay.
    ///
    /// ```
    /// use phisafe::{Redactor, Scanner};
    ///
    /// let r = Redactor::new(Scanner::new());
    /// let out = r.redact_json(br#"{"ssn": 219099999, "note": "call 415-555-2671"}"#)?;
    /// assert_eq!(out, br#"{"ssn": "[SSN]", "note": "call [PHONE]"}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn redact_json(&self, text: &[u8]) -> Result<Vec<u8>, InputError> {
        self.redact_json_in(text, &[]).map(|(out, _)| out)
    }

    /// Redacts a JSON document of any size in bounded memory, element by
    /// element (see [`Scanner::scan_json_stream`]); the output is what
    /// [`Redactor::redact_json`] makes of the whole text. Returns how many
    /// values were changed. A syntax error stops it with an `InvalidData`
    /// error after the elements before it were written.
    ///
    /// [`Scanner::scan_json_stream`]: crate::Scanner::scan_json_stream
    pub fn redact_json_stream<R: Read, W: Write>(
        &self,
        rdr: R,
        mut wtr: W,
    ) -> io::Result<u64> {
        let mut split =
            Splitter::new(rdr, self.scanner().inner.json_max_depth);
        let mut changed = 0u64;
        while let Some(piece) = split.next()? {
            wtr.write_all(piece.gap)?;
            let Some(element) = piece.element else { break };
            let (out, n) = self
                .redact_json_in(element.bytes, &element.prefix)
                .map_err(|e| relocate(e, &element))?;
            wtr.write_all(&out)?;
            changed += n as u64;
        }
        wtr.flush()?;
        Ok(changed)
    }

    /// Redacts JSON lines, one document per line, in bounded memory. Each
    /// line keeps its shape and its line ending; blank lines are copied. A
    /// line that is not JSON is redacted as text rather than dropped or
    /// copied through, and so is a line too long to hold (over 64 MiB),
    /// as it streams by. Returns how many lines were not read as JSON.
    ///
    /// ```
    /// use phisafe::{Redactor, Scanner};
    ///
    /// let r = Redactor::new(Scanner::new());
    /// let input = "{\"ssn\": \"219-09-9999\"}\r\n[INFO] call 415-555-2671\n";
    /// let mut out = Vec::new();
    /// let not_json = r.redact_jsonl(input.as_bytes(), &mut out)?;
    /// assert_eq!(out, b"{\"ssn\": \"[SSN]\"}\r\n[INFO] call [PHONE]\n");
    /// assert_eq!(not_json, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn redact_jsonl<R: BufRead, W: Write>(
        &self,
        mut rdr: R,
        mut wtr: W,
    ) -> io::Result<u64> {
        let mut line = Vec::new();
        let mut not_json = 0;
        loop {
            line.clear();
            let (n, complete) = read_line(&mut rdr, &mut line)?;
            if n == 0 {
                wtr.flush()?;
                return Ok(not_json);
            }
            if !complete {
                // Too long to hold: redacted as text as it streams by.
                not_json += 1;
                self.redact_reader(LineRest::new(&line, &mut rdr), &mut wtr)?;
                continue;
            }
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            if body.trim_ascii().is_empty() {
                wtr.write_all(&line)?;
                continue;
            }
            match self.redact_json(body) {
                Ok(out) => wtr.write_all(&out)?,
                Err(_) => {
                    not_json += 1;
                    wtr.write_all(&self.redact(body))?;
                }
            }
            wtr.write_all(&line[body.len()..])?;
        }
    }

    /// Redacts a value at `prefix` of a larger document; also returns how
    /// many values changed.
    fn redact_json_in(
        &self,
        text: &[u8],
        prefix: &[Segment],
    ) -> Result<(Vec<u8>, usize), InputError> {
        let scanner = self.scanner();
        let mut edits: Vec<(std::ops::Range<usize>, Vec<u8>)> = Vec::new();
        let max_depth = scanner.inner.json_max_depth;
        walk_in(text, prefix, max_depth, |path, label, scalar| {
            let (bytes, raw, number) = match &scalar {
                Scalar::Str { raw, decoded: Some((bytes, _)) } => {
                    (&bytes[..], raw.clone(), false)
                }
                Scalar::Str { raw, decoded: None } => {
                    (&text[raw.clone()], raw.clone(), false)
                }
                Scalar::Number { raw } => {
                    (&text[raw.clone()], raw.clone(), true)
                }
            };
            let found = scanner.scan_scalar(path, label, bytes);
            if found.is_empty() {
                return;
            }
            let mut plain = Vec::new();
            self.apply(bytes, 0, &found, &mut plain);
            let mut rep = Vec::with_capacity(plain.len() + 2);
            if number {
                rep.push(b'"');
            }
            escape_into(&plain, &mut rep);
            if number {
                rep.push(b'"');
            }
            edits.push((raw, rep));
        })?;
        let mut out = Vec::with_capacity(text.len());
        let mut at = 0;
        let changed = edits.len();
        for (raw, rep) in edits {
            out.extend_from_slice(&text[at..raw.start]);
            out.extend_from_slice(&rep);
            at = raw.end;
        }
        out.extend_from_slice(&text[at..]);
        Ok((out, changed))
    }

    /// Redacts a parsed JSON value into a new value of the same shape.
    pub fn redact_json_value(
        &self,
        value: &serde_json::Value,
    ) -> serde_json::Value {
        let mut path = Vec::new();
        self.redact_value(value, &mut path, None)
    }

    fn redact_value(
        &self,
        value: &serde_json::Value,
        path: &mut Vec<Segment>,
        label: Option<&str>,
    ) -> serde_json::Value {
        use serde_json::Value;
        let scalar = |bytes: &[u8], path: &[Segment]| -> Option<String> {
            let found = self.scanner().scan_scalar(path, label, bytes);
            if found.is_empty() {
                return None;
            }
            let mut out = Vec::new();
            self.apply(bytes, 0, &found, &mut out);
            Some(String::from_utf8_lossy(&out).into_owned())
        };
        match value {
            Value::String(s) => Value::String(
                scalar(s.as_bytes(), path).unwrap_or_else(|| s.clone()),
            ),
            Value::Number(n) => match scalar(n.to_string().as_bytes(), path) {
                Some(s) => Value::String(s),
                None => Value::Number(n.clone()),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        path.push(Segment::Index(i));
                        let v = self.redact_value(v, path, None);
                        path.pop();
                        v
                    })
                    .collect(),
            ),
            Value::Object(map) => {
                // The walker's labels, in document order too.
                let mut label: Option<&str> = None;
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    path.push(Segment::Key(k.clone()));
                    out.insert(k.clone(), self.redact_value(v, path, label));
                    path.pop();
                    if let Value::String(s) = v
                        && crate::scan::hints::is_label_key(k.as_bytes())
                    {
                        label = Some(s);
                    }
                }
                Value::Object(out)
            }
            Value::Null | Value::Bool(_) => value.clone(),
        }
    }
}
