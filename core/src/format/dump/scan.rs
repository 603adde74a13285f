//! Scanning a dump's rows with their column hints, one by one or in
//! parallel batches.

use std::io::{self, BufRead};
use std::ops::Range;
use std::sync::Arc;

use super::syntax::{
    Columns, DumpReader, Next, OwnedUnit, Unit, Value, bytea_hex, decode,
    in_order, text_ranges,
};
use super::{DumpDialect, DumpFinding, DumpRow};
use crate::scan::engine::{Finding, Scanner};
use crate::scan::hints::FieldHint;

/// The rows and findings of a dump; see [`Scanner::scan_dump`].
#[derive(Debug)]
pub struct DumpScan<'s, R> {
    scanner: &'s Scanner,
    reader: DumpReader<R>,
    /// The key hint of each of the reader's columns, and the
    /// `columns_version` they were looked up for.
    hints: Vec<FieldHint>,
    hints_version: u64,
}

/// The findings of `unit[ranges]` scanned as text, offsets moved by
/// `offset`.
pub(crate) fn text_findings(
    scanner: &Scanner,
    unit: &[u8],
    ranges: &[Range<usize>],
    offset: usize,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in ranges {
        out.extend(
            scanner
                .scan(&unit[r.clone()])
                .into_iter()
                .map(|f| f.offset_by(offset + r.start)),
        );
    }
    out
}

impl Scanner {
    /// Reads a SQL dump row by row in bounded memory (one statement or COPY
    /// line at a time). A custom-format `pg_dump` archive is an error that
    /// says how to convert it.
    ///
    /// ```
    /// use phisafe::{Entity, Scanner};
    /// use phisafe::format::dump::DumpDialect;
    ///
    /// let dump = "COPY public.patients (id, last_name, ssn) FROM stdin;\n\
    ///             1\tQuixote\t219099999\n\\.\n";
    /// let scanner = Scanner::new();
    /// let mut rows = scanner.scan_dump(dump.as_bytes(), DumpDialect::Postgres);
    /// let row = rows.next_row().unwrap()?;
    /// let got: Vec<_> = row
    ///     .findings
    ///     .iter()
    ///     .map(|f| (f.table(), f.column(), f.row(), f.finding().entity()))
    ///     .collect();
    /// assert_eq!(got, [
    ///     ("public.patients", Some("last_name"), 1, Entity::Person),
    ///     ("public.patients", Some("ssn"), 1, Entity::Ssn),
    /// ]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scan_dump<R: BufRead>(
        &self,
        rdr: R,
        dialect: DumpDialect,
    ) -> DumpScan<'_, R> {
        DumpScan {
            scanner: self,
            reader: DumpReader::new(rdr, dialect),
            hints: Vec::new(),
            hints_version: 0,
        }
    }
}

impl<R: BufRead> DumpScan<'_, R> {
    /// Looks up the key hints of the reader's columns if they changed.
    fn sync_hints(&mut self) {
        if self.hints_version != self.reader.columns_version {
            let scanner = self.scanner;
            self.hints = self
                .reader
                .columns
                .iter()
                .map(|c| scanner.field_hint(c))
                .collect();
            self.hints_version = self.reader.columns_version;
        }
    }

    /// The next row with its findings, or `None` at the end of the dump.
    /// Text between rows that holds findings comes as a row of no values
    /// (see [`DumpRow`]).
    pub fn next_row(&mut self) -> Option<io::Result<DumpRow<'_>>> {
        loop {
            match self.reader.advance(true) {
                Ok(Some(Next::Row(values))) => {
                    return Some(Ok(self.row(values)));
                }
                Ok(Some(Next::Text(ranges))) => {
                    let found = text_findings(
                        self.scanner,
                        &self.reader.buf,
                        &ranges,
                        self.reader.offset,
                    );
                    if !found.is_empty() {
                        return Some(Ok(self.text_row(found)));
                    }
                }
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The findings in the current unit's text as a row of no values.
    fn text_row(&self, found: Vec<Finding>) -> DumpRow<'_> {
        DumpRow {
            table: &self.reader.no_table,
            columns: &[],
            row: 0,
            line: self.reader.line,
            offset: self.reader.offset,
            bytes: &self.reader.buf,
            values: 0,
            findings: text_named(found, &self.reader.no_table),
        }
    }

    /// Reads the next unit with its own copy of its bytes and what
    /// redacting its values needs, so they can be scanned away from the
    /// reader. `columns` is the previous unit's, reused while the table
    /// and columns stay the same.
    pub(crate) fn read_owned(
        &mut self,
        columns: &mut Arc<Columns>,
    ) -> io::Result<Option<OwnedUnit>> {
        let Some(unit) = self.reader.read_unit()? else { return Ok(None) };
        let (tuples, copy) = match unit {
            Unit::Other => (Vec::new(), false),
            Unit::CopyRow(values) => (vec![values], true),
            Unit::Insert(tuples) => (tuples, false),
        };
        let text = if copy {
            Vec::new()
        } else {
            text_ranges(&self.reader.buf, &tuples)
        };
        if !tuples.is_empty() {
            self.share_columns(columns);
        }
        Ok(Some(OwnedUnit {
            bytes: self.reader.buf.clone(),
            tuples,
            copy,
            columns: columns.clone(),
            text,
        }))
    }

    /// Makes `shared` describe the current table's columns, building a new
    /// one only when they changed.
    fn share_columns(&mut self, shared: &mut Arc<Columns>) {
        if shared.table == self.reader.table
            && shared.names == self.reader.columns
        {
            return;
        }
        self.sync_hints();
        let types = self.reader.types.get(&*self.reader.table);
        *shared = Arc::new(Columns {
            table: self.reader.table.clone(),
            names: self.reader.columns.clone(),
            hints: self.hints.clone(),
            types: self
                .reader
                .columns
                .iter()
                .map(|c| types.and_then(|t| t.get(&**c)).copied())
                .collect(),
        });
    }

    fn row(&mut self, values: Vec<Value>) -> DumpRow<'_> {
        self.sync_hints();
        let row = self.reader.count_row();
        let unit = UnitRef {
            bytes: &self.reader.buf,
            offset: self.reader.offset,
            hints: &self.hints,
        };
        let found = row_findings(self.scanner, &unit, &values);
        let findings =
            named(found, &self.reader.table, &self.reader.columns, row);
        DumpRow {
            table: &self.reader.table,
            columns: &self.reader.columns,
            row,
            line: self.reader.line,
            offset: self.reader.offset,
            bytes: &self.reader.buf,
            values: values.len(),
            findings,
        }
    }
}

/// A statement or COPY line and where it belongs.
struct UnitRef<'a> {
    bytes: &'a [u8],
    offset: usize,
    hints: &'a [FieldHint],
}

/// The findings of one row, with the position of their value: the work a
/// worker thread does. Table and column names are attached by
/// [`named`] on the delivering thread: cloning their shared `Arc`s per
/// finding on every worker made the cores fight over the counts.
fn row_findings(
    scanner: &Scanner,
    unit: &UnitRef<'_>,
    values: &[Value],
) -> Vec<(Finding, usize)> {
    let mut findings = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let hint = unit.hints.get(i).copied().unwrap_or(FieldHint::Unknown);
        let Some((bytes, map)) =
            decode(&unit.bytes[v.raw.clone()], v.raw.start, v.kind)
        else {
            continue;
        };
        let mut scan = |bytes: &[u8], to_raw: &dyn Fn(usize) -> usize| {
            for f in scanner.scan_hinted(hint, bytes) {
                let (s, e) = (to_raw(f.start()), to_raw(f.end()));
                let finding = Finding {
                    start: unit.offset + s,
                    end: unit.offset + e,
                    ..f
                };
                findings.push((finding, i));
            }
        };
        match bytea_hex(&bytes) {
            // Map a bytea byte to its hex digits, then to the raw text.
            Some((inner, hex_at)) => {
                scan(&inner, &|i| map[hex_at[i].min(map.len() - 1)])
            }
            None => scan(&bytes, &|i| map[i]),
        }
    }
    findings
}

/// A row's findings with their table, column and row number.
fn named(
    found: Vec<(Finding, usize)>,
    table: &Arc<str>,
    columns: &[Arc<str>],
    row: u64,
) -> Vec<DumpFinding> {
    found
        .into_iter()
        .map(|(finding, position)| DumpFinding {
            finding,
            table: Arc::clone(table),
            column: columns.get(position).cloned(),
            position,
            row,
        })
        .collect()
}

/// Findings of text between rows: no table, no column, row 0.
fn text_named(found: Vec<Finding>, no_table: &Arc<str>) -> Vec<DumpFinding> {
    found
        .into_iter()
        .map(|finding| DumpFinding {
            finding,
            table: Arc::clone(no_table),
            column: None,
            position: 0,
            row: 0,
        })
        .collect()
}

/// A unit gathered for a parallel batch: its span in the batch buffer.
struct BatchUnit {
    span: Range<usize>,
    offset: usize,
    line: u64,
    columns: Arc<Columns>,
}

/// What a batch hands out: a row (its unit, number and values), or a
/// unit's text.
enum BatchRow {
    Row(usize, u64, Vec<Value>),
    Text(usize, Vec<Range<usize>>),
}

/// About a megabyte of statements and COPY lines, with their rows.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    units: Vec<BatchUnit>,
    /// Rows and text, in order.
    rows: Vec<BatchRow>,
    /// The input ended after this batch.
    last: bool,
    /// Reading failed after this batch's rows: the error to report once
    /// they are delivered, as the sequential reader would.
    error: Option<io::Error>,
    /// The table of text between rows: none.
    no_table: Arc<str>,
}

const BATCH: usize = 1 << 20;

impl<R: BufRead> DumpScan<'_, R> {
    /// Reads the next batch, reusing `batch`'s allocations.
    fn read_batch(
        &mut self,
        mut batch: Batch,
        columns: &mut Arc<Columns>,
    ) -> Batch {
        batch.bytes.clear();
        batch.units.clear();
        batch.rows.clear();
        batch.last = false;
        batch.error = None;
        while batch.bytes.len() < BATCH {
            let unit = match self.reader.read_unit() {
                Ok(unit) => unit,
                Err(e) => {
                    batch.last = true;
                    batch.error = Some(e);
                    break;
                }
            };
            let (tuples, copy) = match unit {
                None => {
                    batch.last = true;
                    break;
                }
                Some(Unit::Other) => (Vec::new(), false),
                Some(Unit::CopyRow(values)) => (vec![values], true),
                Some(Unit::Insert(tuples)) => (tuples, false),
            };
            let text = if copy {
                Vec::new()
            } else {
                text_ranges(&self.reader.buf, &tuples)
            };
            if tuples.is_empty() && text.is_empty() {
                continue;
            }
            self.share_columns(columns);
            let start = batch.bytes.len();
            batch.bytes.extend_from_slice(&self.reader.buf);
            batch.units.push(BatchUnit {
                span: start..batch.bytes.len(),
                offset: self.reader.offset,
                line: self.reader.line,
                columns: columns.clone(),
            });
            let u = batch.units.len() - 1;
            for next in in_order(tuples, text) {
                batch.rows.push(match next {
                    Next::Text(ranges) => BatchRow::Text(u, ranges),
                    Next::Row(values) => {
                        BatchRow::Row(u, self.reader.count_row(), values)
                    }
                });
            }
        }
        batch
    }
}

impl Batch {
    fn unit(&self, i: usize) -> UnitRef<'_> {
        let u = &self.units[i];
        UnitRef {
            bytes: &self.bytes[u.span.clone()],
            offset: u.offset,
            hints: &u.columns.hints,
        }
    }

    /// Every row's findings, in order, on the rayon pool.
    fn scan(&self, scanner: &Scanner) -> Vec<Vec<(Finding, usize)>> {
        use rayon::prelude::*;
        self.rows
            .par_chunks(64)
            .flat_map_iter(|chunk| {
                chunk.iter().map(|row| match row {
                    BatchRow::Row(u, _, values) => {
                        row_findings(scanner, &self.unit(*u), values)
                    }
                    BatchRow::Text(u, ranges) => {
                        let unit = self.unit(*u);
                        text_findings(scanner, unit.bytes, ranges, unit.offset)
                            .into_iter()
                            .map(|f| (f, 0))
                            .collect()
                    }
                })
            })
            .collect()
    }
}

/// Hands a scanned batch's rows to `each`, in order.
fn emit(
    batch: &Batch,
    found: Vec<Vec<(Finding, usize)>>,
    each: &mut impl FnMut(DumpRow<'_>) -> io::Result<()>,
) -> io::Result<()> {
    for (row, found) in batch.rows.iter().zip(found) {
        let (u, number, values) = match row {
            BatchRow::Row(u, number, values) => (*u, *number, values.len()),
            // As in `next_row`: text is a row only when it holds findings.
            BatchRow::Text(..) if found.is_empty() => continue,
            BatchRow::Text(u, _) => (*u, 0, 0),
        };
        let unit = &batch.units[u];
        let columns = &unit.columns;
        let (table, names, findings) = match row {
            BatchRow::Row(..) => (
                &columns.table,
                &columns.names[..],
                named(found, &columns.table, &columns.names, number),
            ),
            BatchRow::Text(..) => (
                &batch.no_table,
                &[][..],
                text_named(
                    found.into_iter().map(|(f, _)| f).collect(),
                    &batch.no_table,
                ),
            ),
        };
        each(DumpRow {
            table,
            columns: names,
            row: number,
            line: unit.line,
            offset: unit.offset,
            bytes: &batch.bytes[unit.span.clone()],
            values,
            findings,
        })?;
    }
    Ok(())
}

impl Scanner {
    /// Scans a dump on the rayon pool, as a pipeline of batches of about a
    /// megabyte: while one batch's rows are scanned in parallel, the next
    /// is read (in order, in bounded memory, as [`DumpScan::next_row`]
    /// reads) and the previous one's rows are handed to `each`, in order.
    /// The rows and findings are exactly the sequential ones.
    pub fn scan_dump_parallel<R: BufRead + Send>(
        &self,
        rdr: R,
        dialect: DumpDialect,
        mut each: impl FnMut(DumpRow<'_>) -> io::Result<()> + Send,
    ) -> io::Result<()> {
        let mut scan = self.scan_dump(rdr, dialect);
        let mut columns = Arc::new(Columns::default());
        let mut current = scan.read_batch(Batch::default(), &mut columns);
        let mut spare = Batch::default();
        #[allow(clippy::type_complexity, reason = "one local")]
        let mut pending: Option<(Batch, Vec<Vec<(Finding, usize)>>)> = None;
        loop {
            let last = current.last;
            let ((found, next), emitted) = rayon::join(
                || {
                    rayon::join(
                        || current.scan(self),
                        || {
                            let reuse = std::mem::take(&mut spare);
                            if last {
                                reuse
                            } else {
                                scan.read_batch(reuse, &mut columns)
                            }
                        },
                    )
                },
                || match pending.take() {
                    Some((batch, found)) => {
                        emit(&batch, found, &mut each).map(|()| Some(batch))
                    }
                    None => Ok(None),
                },
            );
            let done = emitted?;
            if last {
                emit(&current, found, &mut each)?;
                return current.error.take().map_or(Ok(()), Err);
            }
            spare = done.unwrap_or_default();
            pending = Some((std::mem::replace(&mut current, next), found));
        }
    }
}
