//! SQL dump redaction that still restores.
//!
//! Only values with findings change. A text column gets the operator's
//! output, escaped for its context (COPY text format, a SQL string); when
//! a constant (`tag`, `mask`, `remove`) replaces a whole value it is
//! numbered (`[SSN]#3`) so UNIQUE and PRIMARY KEY constraints, which
//! pg_dump restores after the data, still hold (use `hash` to keep joins
//! on such columns). A
//! column of another type cannot hold `[SSN]`: it gets NULL, or a neutral
//! value of its type (`0`, `1900-01-01`) when the column is NOT NULL. A
//! bytea value with a finding inside becomes NULL (or empty). Everything
//! else (schema, comments, psql meta-commands) is copied byte for byte.

use std::io::{self, BufRead, Write};
use std::ops::Range;

use crate::scan::DumpDialect;
use crate::scan::dump::{ColumnType, Unit};
use crate::{Operator, Redactor};

/// How a value is written back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Copy,
    Postgres,
    Mysql,
}

fn encode(plain: &[u8], syntax: Syntax, out: &mut Vec<u8>) {
    match syntax {
        Syntax::Copy => {
            for &b in plain {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
        // pg_dump turns standard_conforming_strings on: backslashes are
        // literal in '...' strings.
        Syntax::Postgres => {
            out.push(b'\'');
            for &b in plain {
                if b == b'\'' {
                    out.push(b'\'');
                }
                out.push(b);
            }
            out.push(b'\'');
        }
        Syntax::Mysql => {
            out.push(b'\'');
            for &b in plain {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\'' => out.extend_from_slice(b"\\'"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    0 => out.extend_from_slice(b"\\0"),
                    _ => out.push(b),
                }
            }
            out.push(b'\'');
        }
    }
}

/// What a non-text value becomes: NULL, or the type's neutral value when
/// the column refuses NULL.
fn blank(ty: Option<ColumnType>, syntax: Syntax, out: &mut Vec<u8>) {
    match ty.filter(|t| t.not_null).and_then(|t| t.neutral) {
        Some(v) => encode(v.as_bytes(), syntax, out),
        None if syntax == Syntax::Copy => out.extend_from_slice(b"\\N"),
        None => out.extend_from_slice(b"NULL"),
    }
}

impl Redactor {
    /// Redacts a SQL dump so that it still restores; returns the number of
    /// findings redacted. Reads one statement or COPY line at a time.
    ///
    /// ```
    /// use phisafe::{Redactor, Scanner};
    /// use phisafe::scan::DumpDialect;
    ///
    /// let dump = "CREATE TABLE p (name text, ssn text, dob date NOT NULL);\n\
    ///             COPY p (name, ssn, dob) FROM stdin;\n\
    ///             Zed\t219-09-9999\t1957-03-14\n\\.\n";
    /// let mut out = Vec::new();
    /// Redactor::new(Scanner::new()).redact_dump(dump.as_bytes(), &mut out, DumpDialect::Postgres)?;
    /// let out = String::from_utf8(out)?;
    /// assert!(out.contains("Zed\t[SSN]#1\t1900-01-01\n"), "{out}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn redact_dump<R: BufRead, W: Write>(
        &self,
        rdr: R,
        mut wtr: W,
        dialect: DumpDialect,
    ) -> io::Result<u64> {
        let mut scan = self.scanner().scan_dump(rdr, dialect);
        let mut count = 0;
        let mut out = Vec::new();
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        let mut plain = Vec::new();
        let mut serial = 0u64;
        while let Some(unit) = scan.read_unit()? {
            let (values, syntax): (Vec<_>, Syntax) = match unit {
                Unit::Other => {
                    wtr.write_all(scan.unit_bytes())?;
                    continue;
                }
                Unit::CopyRow(values) => (vec![values], Syntax::Copy),
                Unit::Insert(tuples) => {
                    let s = if scan.is_mysql() {
                        Syntax::Mysql
                    } else {
                        Syntax::Postgres
                    };
                    (tuples, s)
                }
            };
            edits.clear();
            for tuple in &values {
                for (i, v) in tuple.iter().enumerate() {
                    let Some((bytes, found, bytea)) =
                        scan.value_findings(i, v)
                    else {
                        continue;
                    };
                    if found.is_empty() {
                        continue;
                    }
                    count += found.len() as u64;
                    let ty = scan.column_type(i);
                    // Without a CREATE TABLE, a quoted value is taken as text.
                    let textual = ty.map_or(
                        syntax == Syntax::Copy
                            || scan.unit_bytes()[v.raw.start] == b'\'',
                        |t| t.textual,
                    );
                    let mut rep = Vec::new();
                    if textual && !bytea {
                        plain.clear();
                        self.apply(&bytes, 0, &found, &mut plain);
                        // A whole value replaced by a constant would break
                        // UNIQUE and PRIMARY KEY constraints on restore
                        // (pg_dump adds them after the data): number it.
                        let whole = found.len() == 1
                            && found[0].start() == 0
                            && found[0].end() == bytes.len();
                        let constant = matches!(
                            self.operator_for(found[0].entity()),
                            Operator::Tag | Operator::Mask | Operator::Remove
                        );
                        if whole && constant {
                            serial += 1;
                            plain.extend_from_slice(
                                format!("#{serial}").as_bytes(),
                            );
                        }
                        encode(&plain, syntax, &mut rep);
                    } else {
                        blank(ty, syntax, &mut rep);
                    }
                    edits.push((v.raw.clone(), rep));
                }
            }
            if edits.is_empty() {
                wtr.write_all(scan.unit_bytes())?;
                continue;
            }
            let raw = scan.unit_bytes();
            out.clear();
            let mut at = 0;
            for (range, rep) in &edits {
                out.extend_from_slice(&raw[at..range.start]);
                out.extend_from_slice(rep);
                at = range.end;
            }
            out.extend_from_slice(&raw[at..]);
            wtr.write_all(&out)?;
        }
        wtr.flush()?;
        Ok(count)
    }
}
