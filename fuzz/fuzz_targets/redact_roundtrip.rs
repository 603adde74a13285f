//! Redaction keeps what it does not replace. The first byte picks the
//! form:
//!
//! - text: the replacement tags are atomic (scanned again, no finding
//!   starts or ends inside one). Full idempotency (redacting twice gives
//!   the output of redacting once) does not hold yet: removing a value can
//!   change the context of another (a name after a cue, once the word
//!   after it became a tag);
//! - JSON: redacted JSON parses, to a value of the same shape (the same
//!   keys, array lengths, nulls and booleans; a number may become a
//!   string);
//! - CSV (sniffed): the redacted file has the same records, each with the
//!   same number of fields, read by an independent parser;
//! - SQL dumps (pg_dump or mysqldump): every row of the input (COPY line,
//!   INSERT tuple, psql result row) is in the redacted dump, in order, with
//!   the same number of values: redacted text (comments, DDL, other
//!   statements) never changes where a statement or tuple ends. The output
//!   may read more rows where the input had a statement too garbled to
//!   follow (a `key = '...'` value running over `VALUES`), whose text was
//!   redacted and which restores as it would have. Table names are not
//!   compared: a psql result takes its table from the text of the SELECT
//!   before it, which redaction may have changed.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phisafe::format::dump::{DumpDialect, DumpReader};
use phisafe::{Redactor, Scanner};
use serde_json::Value;

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| Redactor::new(Scanner::new()))
}

/// Whether `b` (redacted) has the shape of `a`.
fn same_shape(a: &Value, b: &Value) -> bool {
    let scalar = |v: &Value| matches!(v, Value::Number(_) | Value::String(_));
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(x, y)| same_shape(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
        }
        _ if scalar(a) => scalar(b),
        _ => a == b,
    }
}

/// The replacement tags (`[SSN]`) in redacted text.
fn tags(text: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for (open, _) in text.iter().enumerate().filter(|(_, b)| **b == b'[') {
        let Some(len) = text[open..].iter().position(|&b| b == b']') else {
            continue;
        };
        let name = std::str::from_utf8(&text[open + 1..open + len]);
        if name.is_ok_and(|n| n.parse::<phisafe::Entity>().is_ok()) {
            out.push(open..open + len + 1);
        }
    }
    out
}

/// Field counts of each record, as the `csv` crate reads them.
fn shape(text: &[u8], delimiter: u8) -> Vec<usize> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        // phisafe's dialect: a lone `\r` is data.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(text);
    let mut counts = Vec::new();
    let mut record = csv::ByteRecord::new();
    while let Ok(true) = rdr.read_byte_record(&mut record) {
        counts.push(record.len());
    }
    counts
}

/// The number of values of each row of a dump, up to the end or the
/// first error.
fn rows(text: &[u8], dialect: DumpDialect) -> Vec<usize> {
    let mut rdr = DumpReader::new(text, dialect);
    let mut out = Vec::new();
    while let Some(Ok(v)) = rdr.next_values() {
        out.push(v.values.len());
    }
    out
}

/// Whether `a` is `b` with some items left out.
fn subsequence<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let mut b = b.iter();
    a.iter().all(|x| b.any(|y| y == x))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, text)) = data.split_first() else { return };
    let r = redactor();
    match mode % 4 {
        0 => {
            let once = r.redact(text);
            // Tags are atomic: scanned again, no finding starts or ends
            // inside one (`[PER` + `SON]`).
            let tags = tags(&once);
            for f in r.scanner().scan(&once) {
                for t in &tags {
                    let cuts = |at: usize| t.start < at && at < t.end;
                    assert!(
                        !cuts(f.start()) && !cuts(f.end()),
                        "{:?} cuts a tag in {:?}",
                        f.range(),
                        String::from_utf8_lossy(&once)
                    );
                }
            }
        }
        1 => {
            let Ok(before) = serde_json::from_slice::<Value>(text) else {
                return;
            };
            let out = r.redact_json(text).expect("valid JSON redacts");
            let after: Value =
                serde_json::from_slice(&out).expect("redacted JSON parses");
            assert!(same_shape(&before, &after), "{before} became {after}");
        }
        2 => {
            let opts = r.scanner().sniff_csv(text, b',');
            let mut out = Vec::new();
            if r.redact_csv(text, &mut out, opts).is_err() {
                return;
            }
            let d = opts.delimiter_byte();
            assert_eq!(
                shape(text, d),
                shape(&out, d),
                "{:?}",
                String::from_utf8_lossy(&out)
            );
        }
        _ => {
            let dialect = if mode & 4 == 0 {
                DumpDialect::Postgres
            } else {
                DumpDialect::Mysql
            };
            let mut out = Vec::new();
            if r.redact_dump(text, &mut out, dialect).is_err() {
                return;
            }
            let (before, after) = (rows(text, dialect), rows(&out, dialect));
            assert!(
                subsequence(&before, &after),
                "{before:?} became {after:?} in {:?}",
                String::from_utf8_lossy(&out)
            );
        }
    }
});
