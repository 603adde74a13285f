//! The table readers on arbitrary bytes: CSV (sniffed, and in every
//! delimiter with and without a header) and SQL dumps in both dialects.
//! Findings or a typed error, never a panic; every finding lies within
//! the input, and a reader's findings come in input order.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phisafe::Scanner;
use phisafe::format::csv::CsvOptions;
use phisafe::format::dump::DumpDialect;

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(Scanner::new)
}

fn check(len: usize, found: impl Iterator<Item = (usize, usize)>) {
    let mut last = 0;
    for (start, end) in found {
        assert!(start <= end && end <= len, "{start}..{end} of {len}");
        assert!(start >= last, "findings out of order");
        last = start;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, text)) = data.split_first() else { return };
    let s = scanner();
    let opts = match mode % 5 {
        0 => s.sniff_csv(text, b','),
        n => {
            let delim = [b',', b';', b'\t', b'|'][usize::from(n - 1)];
            CsvOptions::new().delimiter(delim).headers(mode & 0x80 == 0)
        }
    };
    let mut found = Vec::new();
    for f in s.scan_csv(text, opts) {
        match f {
            Ok(f) => found.push((f.finding().start(), f.finding().end())),
            Err(_) => break,
        }
    }
    check(text.len(), found.into_iter());
    let dialect = if mode & 0x40 == 0 {
        DumpDialect::Postgres
    } else {
        DumpDialect::Mysql
    };
    let mut rows = s.scan_dump(text, dialect);
    let mut found = Vec::new();
    while let Some(Ok(row)) = rows.next_row() {
        found.extend(
            row.findings
                .iter()
                .map(|f| (f.finding().start(), f.finding().end())),
        );
    }
    check(text.len(), found.into_iter());
});
