//! Structured readers on arbitrary bytes: errors, never panics.

use phisafe::format::csv::CsvOptions;
use phisafe::format::dump::DumpDialect;
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
            // The parallel redactor writes exactly what the sequential one
            // does, error included.
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let seq = r.redact_csv(&data[..], &mut a, opts).map_err(|e| e.to_string());
            let par = r.redact_csv_parallel(&data[..], &mut b, opts).map_err(|e| e.to_string());
            prop_assert_eq!(seq, par);
            prop_assert_eq!(a, b);
        }
        for dialect in [DumpDialect::Postgres, DumpDialect::Mysql] {
            let mut rows = s.scan_dump(&data[..], dialect);
            while let Some(Ok(row)) = rows.next_row() {
                for f in row.findings {
                    prop_assert!(f.finding().end() <= data.len());
                }
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let seq = r.redact_dump(&data[..], &mut a, dialect).map_err(|e| e.to_string());
            let par = r.redact_dump_parallel(&data[..], &mut b, dialect).map_err(|e| e.to_string());
            prop_assert_eq!(seq, par);
            prop_assert_eq!(a, b);
        }
    }
}

/// (number, offset, bytes, findings or error, paths) of every line.
type Seen = Vec<(
    u64,
    usize,
    Vec<u8>,
    Result<Vec<(String, usize, usize)>, String>,
    Vec<String>,
)>;

fn record(line: phisafe::format::json::JsonlLine<'_>, out: &mut Seen) {
    let result = line
        .result
        .map(|found| {
            found
                .iter()
                .map(|f| {
                    (
                        f.pointer().to_string(),
                        f.finding().start(),
                        f.finding().end(),
                    )
                })
                .collect()
        })
        .map_err(|e| e.to_string());
    out.push((
        line.number,
        line.offset,
        line.bytes.to_vec(),
        result,
        line.paths,
    ));
}

#[test]
fn parallel_jsonl_equals_sequential() {
    let mut data = Vec::new();
    for i in 0..60_000 {
        match i % 97 {
            0 => data.extend_from_slice(b"\n"),
            1 => data.extend_from_slice(b"{\"broken\": \r\n"),
            _ => data.extend_from_slice(
                format!("{{\"id\": {i}, \"patient\": {{\"ssn\": \"219-09-{:04}\", \"tags\": [\"a\", \"jo{i}@clinic.example\"]}}}}\r\n", 1000 + i % 8000)
                    .as_bytes(),
            ),
        }
    }
    // One line longer than a parallel batch, and no final newline.
    data.extend_from_slice(b"{\"note\": \"");
    data.extend(std::iter::repeat_n(b'x', 5 << 20));
    data.extend_from_slice(
        b" SSN 536-22-1837\"}\n{\"last\": \"jo@clinic.example\"}",
    );
    let s = shared();
    let mut seq: Seen = Vec::new();
    let mut lines = s.scan_jsonl(&data[..]);
    while let Some(line) = lines.next_line() {
        record(line.unwrap(), &mut seq);
    }
    let mut par: Seen = Vec::new();
    s.scan_jsonl_parallel(&data[..], |line| {
        record(line, &mut par);
        Ok(())
    })
    .unwrap();
    assert!(seq.len() > 59_000);
    assert_eq!(par.len(), seq.len());
    for (a, b) in par.iter().zip(&seq) {
        assert_eq!(a, b);
    }
}

/// About 1.6 MB of CSV (more than one parallel batch) with blank records,
/// short records and quoted multi-line fields.
fn big_csv() -> String {
    let mut data = String::from("id,last_name,ssn,note\n");
    for i in 0..40_000 {
        match i % 53 {
            0 => data.push('\n'),
            1 => data.push_str(&format!("{i},Quixote\n")),
            2 => data.push_str(&format!(
                "{i},,,\"multi\nline \"\"quoted\"\" jo{i}@clinic.example\"\n"
            )),
            _ => data.push_str(&format!(
                "{i},Okonkwo,219-09-{:04},plain 5'11\" note\n",
                1000 + i % 8000
            )),
        }
    }
    data
}

#[test]
fn parallel_csv_redaction_equals_sequential() {
    let r = Redactor::new(shared().clone());
    let data = big_csv();
    let mut seq = Vec::new();
    let n =
        r.redact_csv(data.as_bytes(), &mut seq, CsvOptions::new()).unwrap();
    let mut par = Vec::new();
    let m = r
        .redact_csv_parallel(data.as_bytes(), &mut par, CsvOptions::new())
        .unwrap();
    assert!(n > 39_000);
    assert_eq!(n, m);
    assert!(seq == par, "parallel CSV redaction differs");

    // A read error partway: the same output first, then the error.
    let failing = || {
        std::io::BufReader::new(crate::dump::FailAfter {
            data: data.as_bytes(),
            left: data.len() * 2 / 3,
        })
    };
    let mut seq = Vec::new();
    let seq_err = r
        .redact_csv(failing(), &mut seq, CsvOptions::new())
        .unwrap_err()
        .to_string();
    let mut par = Vec::new();
    let par_err = r
        .redact_csv_parallel(failing(), &mut par, CsvOptions::new())
        .unwrap_err()
        .to_string();
    assert_eq!(seq_err, par_err);
    assert!(seq == par, "output before a read error differs");
}

#[test]
fn parallel_csv_equals_sequential() {
    let data = big_csv();
    type Rec =
        (u64, u64, usize, Vec<u8>, usize, Vec<(Option<usize>, usize, usize)>);
    let flatten = |r: phisafe::format::csv::CsvRecord<'_>| -> Rec {
        let found = r
            .findings
            .iter()
            .map(|f| (f.column(), f.finding().start(), f.finding().end()))
            .collect();
        (r.row, r.line, r.offset, r.bytes.to_vec(), r.fields, found)
    };
    let s = shared();
    let mut seq = Vec::new();
    let mut scan = s.scan_csv(data.as_bytes(), CsvOptions::new());
    while let Some(r) = scan.next_record() {
        seq.push(flatten(r.unwrap()));
    }
    let mut par = Vec::new();
    s.scan_csv_parallel(data.as_bytes(), CsvOptions::new(), |r| {
        par.push(flatten(r));
        Ok(())
    })
    .unwrap();
    assert!(seq.len() > 39_000);
    assert_eq!(par.len(), seq.len());
    for (a, b) in par.iter().zip(&seq) {
        assert_eq!(a, b);
    }
}

#[test]
fn a_record_whose_quote_never_closes_is_redacted_in_place() {
    // Found by the `redact_roundtrip` fuzz target: the last record of a
    // damaged file was quoted again as one field, which turned its
    // commas into text and changed the file's shape.
    let r = Redactor::new(shared().clone());
    let data = "7,x,\"reach me, at jo@clinic.example\n";
    let opts = CsvOptions::new().headers(false);
    let mut out = Vec::new();
    r.redact_csv(data.as_bytes(), &mut out, opts).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "7,x,\"reach me, at [EMAIL]\n"
    );
}

#[test]
fn text_findings_across_delimiters_keep_the_fields() {
    // Found by the `redact_roundtrip` fuzz target: an address read from a
    // header line as text crossed a comma, and replacing it whole took a
    // field away.
    let r = Redactor::new(shared().clone());
    let data = "Ann Lee, seen at 42 Maple Street, Springfield IL 62704\n";
    let mut out = Vec::new();
    r.redact_csv(data.as_bytes(), &mut out, CsvOptions::new()).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.matches(',').count(), 2, "{out}");
    assert!(!out.contains("Maple"), "{out}");
}

#[test]
fn unquoted_fields_stay_unquoted() {
    // A lone `\r` or a stray `"` inside an unquoted field is data to the
    // reader; the redacted field is written back the way it came.
    let r = Redactor::new(shared().clone());
    let data = "1;Lope\r DOB 06/14/1957;5'11\" SSN 219-09-9999\n";
    let opts = CsvOptions::new().delimiter(b';').headers(false);
    let mut out = Vec::new();
    r.redact_csv(data.as_bytes(), &mut out, opts).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1;Lope\r DOB [DATE];5'11\" SSN [SSN]\n"
    );
}
