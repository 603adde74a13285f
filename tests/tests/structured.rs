//! Structured readers on arbitrary bytes: errors, never panics.

use phisafe::scan::{CsvOptions, DumpDialect};
use phisafe::{Redactor, Scanner};
use proptest::prelude::*;

const SHARDS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    "\\u00",
    "\\ud800",
    ":",
    ",",
    "\n",
    "\t",
    "'",
    "''",
    "E'",
    "(",
    ")",
    ";",
    "COPY t (a, b) FROM stdin;\n",
    "\\.\n",
    "INSERT INTO t VALUES ",
    "CREATE TABLE t (a text NOT NULL, b date",
    "\\N",
    "\\x41",
    "NULL",
    "\"ssn\"",
    "219-09-9999",
    "jo@clinic.example",
    "PGDMP",
    "-- MySQL dump\n",
    "`",
    "\r\n",
    "1e5",
    "-",
];

fn input() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => prop::sample::select(SHARDS).prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..6),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

fn shared() -> &'static Scanner {
    static S: std::sync::OnceLock<Scanner> = std::sync::OnceLock::new();
    S.get_or_init(Scanner::new)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_reader_panics(data in input()) {
        let s = shared();
        let r = Redactor::new(s.clone());
        if let Ok(found) = s.scan_json(&data) {
            for f in found {
                prop_assert!(f.finding().end() <= data.len());
            }
        }
        let _ = r.redact_json(&data);
        for line in s.scan_jsonl(&data[..]) {
            let _ = line;
        }
        for opts in [CsvOptions::new(), CsvOptions::new().delimiter(b'\t').headers(false)] {
            for f in s.scan_csv(&data[..], opts).flatten() {
                prop_assert!(f.finding().end() <= data.len());
            }
            let _ = r.redact_csv(&data[..], Vec::new(), opts);
        }
        for dialect in [DumpDialect::Postgres, DumpDialect::Mysql] {
            let mut rows = s.scan_dump(&data[..], dialect);
            while let Some(Ok(row)) = rows.next_row() {
                for f in row.findings {
                    prop_assert!(f.finding().end() <= data.len());
                }
            }
            let _ = r.redact_dump(&data[..], Vec::new(), dialect);
        }
    }
}
