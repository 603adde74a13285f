//! `Debug` output of every reader and item that holds input bytes shows
//! places and lengths, never the bytes: a `{:?}` in a log line or a panic
//! message must not leak the PHI being scanned.

use phisafe::Scanner;
use phisafe::format::csv::CsvOptions;
use phisafe::format::dump::{DumpDialect, DumpReader};
use phisafe::scan::Blocks;

const SSN: &str = "219099999";

/// Neither as text nor as the list of numbers a derived `Debug` prints
/// for bytes.
fn clean(shown: String) {
    let listed = format!("{:?}", SSN.as_bytes());
    let listed = listed.trim_matches(['[', ']']);
    assert!(!shown.contains(SSN) && !shown.contains(listed), "{shown}");
}

#[test]
fn text_streams() {
    let text = format!("note: ssn {SSN} on file\n");
    let scanner = Scanner::new();
    let mut blocks = Blocks::new(&scanner, text.as_bytes(), 8);
    clean(format!("{blocks:?}"));
    let mut found = 0;
    while let Some(block) = blocks.next_block().unwrap() {
        found += block.findings.len();
        clean(format!("{block:?}"));
    }
    assert_eq!(found, 1);
    let mut scan = scanner.scan_reader(text.as_bytes());
    assert!(scan.next().unwrap().is_ok());
    clean(format!("{scan:?}"));
}

#[test]
fn json_streams() {
    let scanner = Scanner::new();
    let lines = format!("{{\"ssn\": \"{SSN}\"}}\nssn {SSN} not json\n");
    let mut scan = scanner.scan_jsonl(lines.as_bytes());
    let mut found = 0;
    while let Some(line) = scan.next_line() {
        let line = line.unwrap();
        found += line.result.as_ref().map_or(0, Vec::len) + line.text.len();
        clean(format!("{line:?}"));
    }
    assert_eq!(found, 2);
    clean(format!("{scan:?}"));
    let doc = format!("[{{\"ssn\": \"{SSN}\"}}, {{\"ssn\": null}}]");
    let mut elements = 0;
    scanner
        .scan_json_stream(doc.as_bytes(), |e| {
            elements += 1;
            clean(format!("{e:?}"));
            Ok(())
        })
        .unwrap();
    assert_eq!(elements, 2);
}

#[test]
fn csv_and_dump_streams() {
    let scanner = Scanner::new();
    let csv = format!("id,ssn\n1,{SSN}\n2,{SSN}\n");
    let mut scan = scanner.scan_csv(csv.as_bytes(), CsvOptions::default());
    let mut found = 0;
    while let Some(rec) = scan.next_record() {
        let rec = rec.unwrap();
        found += rec.findings.len();
        clean(format!("{rec:?}"));
    }
    assert_eq!(found, 2);
    clean(format!("{scan:?}"));
    // Read ahead but not yet returned: the records are buffered.
    let mut scan = scanner.scan_csv(csv.as_bytes(), CsvOptions::default());
    assert!(scan.next_record().is_some());
    clean(format!("{scan:?}"));

    let dump = format!("COPY patients (id, ssn) FROM stdin;\n1\t{SSN}\n\\.\n");
    let mut scan = scanner.scan_dump(dump.as_bytes(), DumpDialect::Postgres);
    let row = scan.next_row().unwrap().unwrap();
    assert_eq!(row.findings.len(), 1);
    let shown = format!("{row:?}");
    assert!(shown.contains("patients"));
    clean(shown);
    clean(format!("{scan:?}"));
    let mut reader = DumpReader::new(dump.as_bytes(), DumpDialect::Postgres);
    let values = reader.next_values().unwrap().unwrap();
    clean(format!("{values:?}"));
    clean(format!("{reader:?}"));
}
