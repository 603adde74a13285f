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
//! bytea value with a finding inside becomes NULL (or empty). Text outside
//! values (comments, DDL, other statements, psql output) is redacted as
//! text, in place; the rest is copied byte for byte.

use std::io::{self, BufRead, Write};
use std::ops::Range;
use std::sync::Arc;

use super::{DumpDialect, DumpScan};
use crate::format::batch::{self, End};
use crate::format::dump::{ColumnType, Columns, OwnedUnit, text_findings};
use crate::redact::pieces;
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
    /// use phisafe::format::dump::DumpDialect;
    ///
    /// let dump = "CREATE TABLE p (name text, ssn text, dob date NOT NULL);\n\
    ///             COPY p (name, ssn, dob) FROM stdin;\n\
    ///             Zed\t219-09-9999\t1957-03-14\n\\.\n";
    /// let mut out = Vec::new();
    /// Redactor::new(Scanner::new()).redact_dump(dump.as_bytes(), &mut out, DumpDialect::Postgres)?;
    /// let out = String::from_utf8(out)?;
    /// assert!(out.contains("[PERSON]#1\t[SSN]#2\t1900-01-01\n"), "{out}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn redact_dump<R: BufRead, W: Write>(
        &self,
        rdr: R,
        mut wtr: W,
        dialect: DumpDialect,
    ) -> io::Result<u64> {
        let mut scan = self.scanner().scan_dump(rdr, dialect);
        let mysql = dialect == DumpDialect::Mysql;
        let mut columns = Arc::default();
        let mut out = Out::default();
        while let Some(unit) = scan.read_owned(&mut columns)? {
            let found = self.unit_findings(&unit);
            self.write_unit(&unit, found, mysql, &mut out, &mut wtr)?;
        }
        wtr.flush()?;
        Ok(out.count)
    }

    /// [`redact_dump`](Self::redact_dump) on the rayon pool, as a
    /// pipeline of batches of about a megabyte: while one batch's values
    /// are scanned in parallel, the next is read, and the previous one is
    /// written on the calling thread. The output is exactly the sequential
    /// one, numbering included.
    pub fn redact_dump_parallel<R: BufRead + Send, W: Write>(
        &self,
        rdr: R,
        mut wtr: W,
        dialect: DumpDialect,
    ) -> io::Result<u64> {
        use rayon::prelude::*;
        let mut scan = self.scanner().scan_dump(rdr, dialect);
        let mysql = dialect == DumpDialect::Mysql;
        let mut columns = Arc::default();
        let mut out = Out::default();
        batch::run(
            || read_batch(&mut scan, &mut columns),
            |units: &Vec<OwnedUnit>| {
                units
                    .par_iter()
                    .map(|u| self.unit_findings(u))
                    .collect::<Vec<_>>()
            },
            |units, found| {
                self.write_units(&units, found, mysql, &mut out, &mut wtr)
            },
        )?;
        wtr.flush()?;
        Ok(out.count)
    }

    fn write_units(
        &self,
        units: &[OwnedUnit],
        found: Vec<UnitFindings>,
        mysql: bool,
        out: &mut Out,
        wtr: &mut impl Write,
    ) -> io::Result<()> {
        for (unit, found) in units.iter().zip(found) {
            self.write_unit(unit, found, mysql, out, wtr)?;
        }
        Ok(())
    }

    /// The findings of every value of every row of `unit`, and of its
    /// text (offsets into the unit).
    fn unit_findings(&self, unit: &OwnedUnit) -> UnitFindings {
        let values = unit
            .tuples
            .iter()
            .map(|tuple| {
                tuple
                    .iter()
                    .enumerate()
                    .map(|(i, v)| unit.value_findings(self.scanner(), i, v))
                    .collect()
            })
            .collect();
        let text = text_findings(self.scanner(), &unit.bytes, &unit.text, 0);
        UnitFindings { values, text }
    }

    /// Writes `unit` with the values that have findings redacted.
    fn write_unit(
        &self,
        unit: &OwnedUnit,
        found: UnitFindings,
        mysql: bool,
        out: &mut Out,
        wtr: &mut impl Write,
    ) -> io::Result<()> {
        if unit.tuples.is_empty() && found.text.is_empty() {
            return wtr.write_all(&unit.bytes);
        }
        let syntax = match (unit.copy, mysql) {
            (true, _) => Syntax::Copy,
            (false, true) => Syntax::Mysql,
            (false, false) => Syntax::Postgres,
        };
        out.edits.clear();
        // Text outside values, in place.
        out.count += found.text.len() as u64;
        for r in &unit.text {
            let inside: Vec<_> = found
                .text
                .iter()
                .filter(|f| r.start <= f.start() && f.end() <= r.end)
                .flat_map(|f| {
                    structure_kept(&unit.bytes, f.range()).map(move |p| {
                        crate::Finding { start: p.start, end: p.end, ..*f }
                    })
                })
                .collect();
            if !inside.is_empty() {
                let mut rep = Vec::new();
                self.apply(&unit.bytes[r.clone()], r.start, &inside, &mut rep);
                out.edits.push((r.clone(), rep));
            }
        }
        for (tuple, found) in unit.tuples.iter().zip(found.values) {
            for (i, (v, value)) in tuple.iter().zip(found).enumerate() {
                let Some((bytes, found, bytea)) = value else {
                    continue;
                };
                if found.is_empty() {
                    continue;
                }
                out.count += found.len() as u64;
                let ty = unit.columns.types.get(i).copied().flatten();
                // Without a CREATE TABLE, a quoted value is taken as text.
                let textual = ty.map_or(
                    syntax == Syntax::Copy || unit.bytes[v.raw.start] == b'\'',
                    |t| t.textual,
                );
                let mut rep = Vec::new();
                if textual && !bytea {
                    out.plain.clear();
                    self.apply(&bytes, 0, &found, &mut out.plain);
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
                        out.serial += 1;
                        out.plain.extend_from_slice(
                            format!("#{}", out.serial).as_bytes(),
                        );
                    }
                    encode(&out.plain, syntax, &mut rep);
                } else {
                    blank(ty, syntax, &mut rep);
                }
                out.edits.push((v.raw.clone(), rep));
            }
        }
        if out.edits.is_empty() {
            return wtr.write_all(&unit.bytes);
        }
        out.edits.sort_by_key(|(r, _)| r.start);
        out.line.clear();
        let mut at = 0;
        for (range, rep) in &out.edits {
            out.line.extend_from_slice(&unit.bytes[at..range.start]);
            out.line.extend_from_slice(rep);
            at = range.end;
        }
        out.line.extend_from_slice(&unit.bytes[at..]);
        wtr.write_all(&out.line)
    }
}

/// A value's decoded bytes, findings and whether it was bytea; `None` for
/// NULL.
type ValueFindings = Option<(Vec<u8>, Vec<crate::Finding>, bool)>;

/// Per row, per value; and the findings of the unit's text.
struct UnitFindings {
    values: Vec<Vec<ValueFindings>>,
    text: Vec<crate::Finding>,
}

/// What redacting a dump carries from unit to unit.
#[derive(Default)]
struct Out {
    count: u64,
    /// Numbers whole values replaced by a constant, across the dump.
    serial: u64,
    edits: Vec<(Range<usize>, Vec<u8>)>,
    plain: Vec<u8>,
    line: Vec<u8>,
}

/// About a megabyte of units.
fn read_batch<R: BufRead>(
    scan: &mut DumpScan<'_, R>,
    columns: &mut Arc<Columns>,
) -> (Vec<OwnedUnit>, End) {
    let mut units = Vec::new();
    let mut bytes = 0;
    while bytes < 1 << 20 {
        match scan.read_owned(columns) {
            Ok(Some(unit)) => {
                bytes += unit.bytes.len();
                units.push(unit);
            }
            Ok(None) => return (units, End::Done),
            Err(e) => return (units, End::Failed(e)),
        }
    }
    (units, End::More)
}

/// Words whose place decides how a statement is read (`COPY t (...) FROM
/// stdin`, `INSERT INTO t VALUES`). None is PHI.
const KEYWORDS: [&[u8]; 6] =
    [b"COPY", b"FROM", b"INSERT", b"INTO", b"STDIN", b"VALUES"];

/// The pieces of the text finding `hay[span]` to replace: a finding may
/// cross the bytes that decide where a string, statement, tuple or value
/// ends (a value in an HL7 line, `5'1`), or run over a keyword (a value
/// read after `mrn = '` up to `... VALUES (1, '`). Those bytes and words
/// stay, so the dump reads as the same statements and rows after.
fn structure_kept(
    hay: &[u8],
    span: Range<usize>,
) -> impl Iterator<Item = Range<usize>> + '_ {
    let sep = |b| {
        matches!(
            b,
            b'\''
                | b'"'
                | b'`'
                | b'\\'
                | b';'
                | b'('
                | b')'
                | b','
                | b'\n'
                | b'\r'
        )
    };
    pieces(hay, span, sep).flat_map(move |piece| {
        let mut out = Vec::new();
        let mut at = piece.start;
        let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
        let mut i = piece.start;
        while i < piece.end {
            if !word(&hay[i]) {
                i += 1;
                continue;
            }
            let end =
                i + hay[i..piece.end].iter().take_while(|b| word(b)).count();
            let bounded = (i == 0 || !word(&hay[i - 1]))
                && hay.get(end).is_none_or(|b| !word(b));
            let w = &hay[i..end];
            if bounded && KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                out.extend(trimmed(hay, at..i));
                at = end;
            }
            i = end;
        }
        out.extend(trimmed(hay, at..piece.end));
        out
    })
}

/// `hay[r]` without the spaces around it, if anything is left.
fn trimmed(hay: &[u8], r: Range<usize>) -> Option<Range<usize>> {
    let s = &hay[r.clone()];
    let start =
        r.start + s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let end =
        r.end - s.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
    (start < end).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::structure_kept;

    #[test]
    fn pieces_keep_quotes_separators_and_keywords() {
        let hay = b"x mrn = 'K2091 (FROM stdin; 5'1, Maria Lopez";
        let got: Vec<_> = structure_kept(hay, 9..hay.len())
            .map(|r| std::str::from_utf8(&hay[r]).unwrap())
            .collect();
        assert_eq!(got, ["K2091", "5", "1", "Maria Lopez"]);
        // A keyword inside a word is no keyword.
        let hay = b"FROMAGE INTOLERANT";
        let got: Vec<_> = structure_kept(hay, 0..hay.len()).collect();
        assert_eq!((got.len(), got.first()), (1, Some(&(0..hay.len()))));
    }
}
