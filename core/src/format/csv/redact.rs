//! CSV redaction that keeps valid CSV: same records, same fields; a field
//! is quoted in the output when it was quoted in the input or when its
//! redaction needs it.

use crate::scan::hints::FieldHint;
use std::io::{self, BufRead, Write};

use super::{CsvOptions, CsvScan};
use crate::format::csv::{
    Kind, cell_hint, scan_record, split, trim_terminator, unnamed,
};
use crate::{Finding, Redactor};

use crate::format::batch::{self, End};
use crate::redact::pieces;

impl Redactor {
    /// Redacts a delimited stream record by record, in bounded memory, and
    /// returns the number of findings redacted. Fields without findings are
    /// copied byte for byte, and so are record terminators.
    ///
    /// ```
    /// use phisafe::{Redactor, Scanner};
    /// use phisafe::format::csv::CsvOptions;
    ///
    /// let csv = "id,last_name,ssn\n1,Quixote,219099999\n";
    /// let mut out = Vec::new();
    /// Redactor::new(Scanner::new()).redact_csv(csv.as_bytes(), &mut out, CsvOptions::new())?;
    /// assert_eq!(out, b"id,last_name,ssn\n1,[PERSON],[SSN]\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn redact_csv<R: BufRead, W: Write>(
        &self,
        rdr: R,
        mut wtr: W,
        opts: CsvOptions,
    ) -> io::Result<u64> {
        let delim = opts.delimiter_byte();
        let mut records = self.scanner().scan_csv(rdr, opts);
        let mut out = Vec::new();
        let mut count = 0;
        while let Some(r) = records.next_raw() {
            let (kind, ..) = r?;
            let raw = records.raw();
            out.clear();
            match self.redact_record(
                kind,
                raw,
                records.hints(),
                delim,
                &mut out,
            ) {
                0 => wtr.write_all(raw)?,
                n => {
                    count += n;
                    wtr.write_all(&out)?;
                }
            }
        }
        wtr.flush()?;
        Ok(count)
    }

    /// [`redact_csv`](Self::redact_csv) on the rayon pool, as a pipeline
    /// of batches of about a megabyte: while one batch's records are
    /// redacted in parallel, the next is read, and the previous one is
    /// written on the calling thread. The output is exactly the
    /// sequential one.
    pub fn redact_csv_parallel<R: BufRead + Send, W: Write>(
        &self,
        rdr: R,
        mut wtr: W,
        opts: CsvOptions,
    ) -> io::Result<u64> {
        use rayon::prelude::*;
        let delim = opts.delimiter_byte();
        let mut records = self.scanner().scan_csv(rdr, opts);
        let mut count = 0;
        batch::run(
            || read_batch(&mut records),
            |batch: &Batch| {
                batch
                    .records
                    .par_iter()
                    .map(|(raw, kind)| {
                        let mut out = Vec::new();
                        let hints = &batch.hints;
                        let n = self
                            .redact_record(*kind, raw, hints, delim, &mut out);
                        (out, n)
                    })
                    .collect::<Vec<_>>()
            },
            |batch, outs| {
                for ((raw, _), (out, n)) in batch.records.iter().zip(outs) {
                    count += n;
                    wtr.write_all(if n == 0 { raw } else { &out })?;
                }
                Ok(())
            },
        )?;
        wtr.flush()?;
        Ok(count)
    }

    /// Redacts one record (`raw`, its terminator included) into `out` and
    /// returns how many findings it had; with none, `out` is left as it
    /// was and the record is to be written as read. A row of the expected
    /// shape is redacted field by field (re-quoted where a replacement
    /// needs it); any other record in place, as text.
    fn redact_record(
        &self,
        kind: Kind,
        raw: &[u8],
        hints: &[FieldHint],
        delim: u8,
        out: &mut Vec<u8>,
    ) -> u64 {
        let body = trim_terminator(raw);
        if body.is_empty() {
            return 0;
        }
        // A record whose quote never closes (the end of a damaged file)
        // has no fields to quote again: it is redacted in place, as text;
        // so is a row of unnamed columns, whose text findings may cross
        // its fields.
        let fielded = kind == Kind::Data && !unnamed(hints);
        let cells = if fielded { split(body, delim) } else { None };
        let Some(fields) = cells else {
            let (_, found) =
                scan_record(self.scanner(), kind, raw, 0, 0, hints, delim);
            if found.is_empty() {
                return 0;
            }
            // A text finding may cross a delimiter (`42 Maple Street,
            // Springfield`): each piece is replaced and the delimiters
            // stay, so the record keeps its fields.
            let found: Vec<_> = found
                .iter()
                .flat_map(|f| {
                    let f = *f.finding();
                    let sep =
                        |b| matches!(b, b'"' | b'\n' | b'\r') || b == delim;
                    pieces(body, f.start..f.end, sep).map(move |r| Finding {
                        start: r.start,
                        end: r.end,
                        ..f
                    })
                })
                .collect();
            self.apply(body, 0, &found, out);
            out.extend_from_slice(&raw[body.len()..]);
            return found.len() as u64;
        };
        let mut count = 0;
        let mut at = 0;
        let mut plain = Vec::new();
        let mut before = None;
        for (column, field) in fields.iter().enumerate() {
            let hint =
                cell_hint(self.scanner(), hints, column, before.as_deref());
            let (value, _) = field.value(body);
            let found = self.scanner().scan_hinted(hint, &value);
            before = Some(value.clone());
            if found.is_empty() {
                continue;
            }
            count += found.len() as u64;
            plain.clear();
            self.apply(&value, 0, &found, &mut plain);
            out.extend_from_slice(&raw[at..field.raw.start]);
            // An unquoted field can hold a `"` or a lone `\r` (the reader
            // is lenient): quoted only if the replacement added one.
            let count =
                |v: &[u8], c: u8| v.iter().filter(|&&b| b == c).count();
            let quote = field.quoted
                || plain.iter().any(|&b| b == delim || b == b'\n')
                || count(&plain, b'"') > count(&value, b'"')
                || count(&plain, b'\r') > count(&value, b'\r');
            if quote {
                out.push(b'"');
                for &b in &plain {
                    if b == b'"' {
                        out.push(b'"');
                    }
                    out.push(b);
                }
                out.push(b'"');
            } else {
                out.extend_from_slice(&plain);
            }
            at = field.raw.end;
        }
        if count > 0 {
            out.extend_from_slice(&raw[at..]);
        }
        count
    }
}

/// About a megabyte of raw records and their kinds, with the column hints
/// they are scanned with.
struct Batch {
    records: Vec<(Vec<u8>, Kind)>,
    hints: Vec<FieldHint>,
}

fn read_batch<R: BufRead>(records: &mut CsvScan<'_, R>) -> (Batch, End) {
    let mut batch = Batch { records: Vec::new(), hints: Vec::new() };
    let mut bytes = 0;
    let mut end = End::More;
    while bytes < 1 << 20 {
        match records.next_raw() {
            Some(Ok((kind, ..))) => {
                bytes += records.raw().len();
                batch.records.push((records.raw().to_vec(), kind));
            }
            None => {
                end = End::Done;
                break;
            }
            Some(Err(e)) => {
                end = End::Failed(e);
                break;
            }
        }
    }
    // A header row comes first, so its hints hold for the whole batch.
    batch.hints = records.hints().to_vec();
    (batch, end)
}
