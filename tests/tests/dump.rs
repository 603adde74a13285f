//! Real `pg_dump` output, made by `scripts/pg_fixture.sh` from a throwaway
//! PostgreSQL cluster, read in all three plain formats.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use phisafe::format::dump::{DumpDialect, DumpReader};
use phisafe::format::{Format, InputError, InputErrorKind};
use phisafe::{Redactor, Scanner};

/// The fixture directory: `PHISAFE_PG_FIXTURES` when the test script made
/// it already, else made here once.
fn fixtures() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("PHISAFE_PG_FIXTURES") {
            return PathBuf::from(dir);
        }
        let dir = std::env::temp_dir()
            .join(format!("phisafe-pg-{}", std::process::id()));
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = Command::new("bash")
            .arg(root.join("scripts/pg_fixture.sh"))
            .arg(&dir)
            .status()
            .expect("bash runs");
        assert!(
            status.success(),
            "scripts/pg_fixture.sh failed: these tests need the PostgreSQL \
             server binaries (initdb, pg_ctl) and pg_dump on PATH"
        );
        dir
    })
}

type Row = (String, Option<String>, u64, String);

fn findings(file: &str) -> (BTreeSet<Row>, String) {
    let text = std::fs::read_to_string(fixtures().join(file)).unwrap();
    let scanner = Scanner::new();
    let mut rows = scanner.scan_dump(text.as_bytes(), DumpDialect::Postgres);
    let mut out = BTreeSet::new();
    while let Some(row) = rows.next_row() {
        for f in row.unwrap().findings {
            out.insert((
                f.table().to_string(),
                f.column().map(str::to_string),
                f.row(),
                f.finding().entity().to_string(),
            ));
        }
    }
    (out, text)
}

#[test]
fn every_plain_format_gives_the_same_findings() {
    let (copy, text) = findings("copy.sql");
    let expected: BTreeSet<Row> = [
        ("public.patients", "first_name", 1, "PERSON"),
        ("public.patients", "last_name", 1, "PERSON"),
        ("public.patients", "ssn", 1, "SSN"),
        ("public.patients", "dob", 1, "DATE"),
        ("public.patients", "phone", 1, "PHONE"),
        ("public.patients", "email", 1, "EMAIL"),
        ("public.patients", "note", 1, "DATE"),
        ("public.patients", "note", 1, "SSN"),
        // The bytea column holds text with an SSN, hex-encoded.
        ("public.patients", "scan", 1, "SSN"),
        ("public.patients", "first_name", 2, "PERSON"),
        ("public.patients", "last_name", 2, "PERSON"),
        ("public.patients", "dob", 2, "DATE"),
        ("public.patients", "phone", 2, "PHONE"),
        ("public.patients", "email", 2, "EMAIL"),
        ("public.patients", "first_name", 3, "PERSON"),
        ("public.patients", "last_name", 3, "PERSON"),
        ("public.patients", "ssn", 3, "SSN"),
        ("public.patients", "dob", 3, "DATE"),
        ("public.patients", "email", 3, "EMAIL"),
        ("public.visits", "reason", 2, "EMAIL"),
    ]
    .into_iter()
    .map(|(t, c, r, e)| (t.to_string(), Some(c.to_string()), r, e.to_string()))
    .collect();
    assert_eq!(copy, expected, "{text}");
    assert_eq!(findings("inserts.sql").0, expected);
    assert_eq!(findings("column-inserts.sql").0, expected);
}

#[test]
fn offsets_point_into_the_dump() {
    for file in ["copy.sql", "inserts.sql", "column-inserts.sql"] {
        let text = std::fs::read_to_string(fixtures().join(file)).unwrap();
        let scanner = Scanner::new();
        let mut rows =
            scanner.scan_dump(text.as_bytes(), DumpDialect::Postgres);
        let mut seen = Vec::new();
        while let Some(row) = rows.next_row() {
            for f in row.unwrap().findings {
                seen.push(text[f.finding().range()].to_string());
            }
        }
        for value in
            ["219-09-9999", "maria.lopez@example.org", "536-22-1837", "Lopez"]
        {
            assert!(
                seen.iter().any(|s| s == value),
                "{file}: {value} not at its offsets: {seen:?}"
            );
        }
        // The bytea finding points at hex digits.
        assert!(
            seen.iter().any(|s| s == "3430312d33332d32373631"),
            "{file}: {seen:?}"
        );
    }
}

#[test]
fn custom_format_is_rejected_with_the_fix() {
    let bytes = std::fs::read(fixtures().join("custom.dump")).unwrap();
    let scanner = Scanner::new();
    let mut rows = scanner.scan_dump(&bytes[..], DumpDialect::Postgres);
    let err = rows.next_row().unwrap().unwrap_err();
    assert!(err.to_string().contains("pg_restore -f -"), "{err}");
    let input = InputError::in_io(&err).expect("an InputError inside");
    assert_eq!(input.kind(), InputErrorKind::Unsupported);
    assert_eq!(input.format(), Format::Dump(DumpDialect::Postgres));
    assert_eq!((input.line(), input.column()), (1, None));
}

#[test]
fn mysqldump_syntax() {
    let dump = "-- MySQL dump\n\
        /*!40101 SET NAMES utf8mb4 */;\n\
        CREATE TABLE `patients` (\n  `id` int NOT NULL,\n  `last_name` varchar(64),\n  `ssn` varchar(11),\n  `note` text,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n\
        INSERT INTO `patients` VALUES (1,'Quixote','219-09-9999','it\\'s \\\"fine\\\"\\nmail jo@clinic.example'),(2,'O\\'Neil',NULL,'');\n\
        INSERT INTO `patients` (`id`, `ssn`) VALUES (3,'536-22-1837');\n";
    let scanner = Scanner::new();
    let mut rows = scanner.scan_dump(dump.as_bytes(), DumpDialect::Mysql);
    let mut got = Vec::new();
    while let Some(row) = rows.next_row() {
        for f in row.unwrap().findings {
            got.push((
                f.row(),
                f.column().unwrap().to_string(),
                f.finding().entity().to_string(),
                dump[f.finding().range()].to_string(),
            ));
        }
    }
    let want: Vec<(u64, String, String, String)> = [
        (1, "last_name", "PERSON", "Quixote"),
        (1, "ssn", "SSN", "219-09-9999"),
        (1, "note", "EMAIL", "jo@clinic.example"),
        (2, "last_name", "PERSON", "O\\'Neil"),
        (3, "ssn", "SSN", "536-22-1837"),
    ]
    .into_iter()
    .map(|(r, c, e, v)| (r, c.to_string(), e.to_string(), v.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn a_redacted_dump_still_restores_and_holds_no_phi() {
    use phisafe::Redactor;
    let redactor = Redactor::new(Scanner::new());
    for file in ["copy.sql", "inserts.sql", "column-inserts.sql"] {
        let text = std::fs::read(fixtures().join(file)).unwrap();
        let mut out = Vec::new();
        let n = redactor
            .redact_dump(&text[..], &mut out, DumpDialect::Postgres)
            .unwrap();
        assert_eq!(n, 20, "{file}");
        let redacted = fixtures().join(format!("redacted-{file}"));
        std::fs::write(&redacted, &out).unwrap();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let restored = Command::new("bash")
            .arg(root.join("scripts/pg_roundtrip.sh"))
            .arg(&redacted)
            .output()
            .unwrap();
        assert!(
            restored.status.success(),
            "{file}: the redacted dump did not restore: {}",
            String::from_utf8_lossy(&restored.stderr)
        );
        let rows = String::from_utf8(restored.stdout).unwrap();
        // Every row is still there (a note spans two lines).
        let ids = rows
            .lines()
            .filter(|l| {
                l.split('\t').next().is_some_and(|c| c.parse::<u32>().is_ok())
            })
            .count();
        assert_eq!(ids, 5, "{rows}");
        // Whole values are numbered, so the UNIQUE constraint on ssn held.
        assert!(
            rows.contains("[SSN]#3") && rows.contains("[SSN]#12"),
            "{rows}"
        );
        let left = Scanner::new().scan(rows.as_bytes());
        let left: Vec<_> = left.iter().map(|f| &rows[f.range()]).collect();
        assert!(left.is_empty(), "{file}: PHI survived: {left:?}\n{rows}");
    }
}

/// Everything a row carries, to compare the two ways of reading a dump.
type FullRow = (String, Vec<String>, u64, u64, usize, Vec<u8>, usize, String);

fn full(row: phisafe::format::dump::DumpRow<'_>) -> FullRow {
    (
        row.table.to_string(),
        row.columns.iter().map(|c| c.to_string()).collect(),
        row.row,
        row.line,
        row.offset,
        row.bytes.to_vec(),
        row.values,
        format!("{:?}", row.findings),
    )
}

#[test]
fn parallel_dump_scan_gives_exactly_the_sequential_rows() {
    let scanner = Scanner::new();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    for (text, dialect) in &parallel_inputs() {
        let mut seq = Vec::new();
        let mut rows = scanner.scan_dump(&text[..], *dialect);
        while let Some(row) = rows.next_row() {
            seq.push(full(row.unwrap()));
        }
        let mut par = Vec::new();
        pool.install(|| {
            scanner
                .scan_dump_parallel(&text[..], *dialect, |row| {
                    par.push(full(row));
                    Ok(())
                })
                .unwrap()
        });
        assert!(!seq.is_empty());
        assert_eq!(seq.len(), par.len());
        assert!(seq == par, "parallel rows differ from sequential rows");

        // A read error partway: the same rows first, then the error.
        let cut = text.len() * 2 / 3;
        let failing = || {
            std::io::BufReader::new(FailAfter { data: &text[..], left: cut })
        };
        let mut seq = Vec::new();
        let mut rows = scanner.scan_dump(failing(), *dialect);
        let seq_err = loop {
            match rows.next_row() {
                Some(Ok(row)) => seq.push(full(row)),
                Some(Err(e)) => break e.to_string(),
                None => panic!("the reader fails before the end"),
            }
        };
        let mut par = Vec::new();
        let par_err = pool
            .install(|| {
                scanner.scan_dump_parallel(failing(), *dialect, |row| {
                    par.push(full(row));
                    Ok(())
                })
            })
            .unwrap_err()
            .to_string();
        assert_eq!(seq_err, par_err);
        assert!(seq == par, "rows before a read error differ");
    }
}

#[test]
fn parallel_dump_redaction_writes_exactly_the_sequential_dump() {
    let redactor = phisafe::Redactor::new(Scanner::new());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    for (text, dialect) in &parallel_inputs() {
        let mut seq = Vec::new();
        let n = redactor.redact_dump(&text[..], &mut seq, *dialect).unwrap();
        let mut par = Vec::new();
        let m = pool
            .install(|| {
                redactor.redact_dump_parallel(&text[..], &mut par, *dialect)
            })
            .unwrap();
        assert!(n > 0);
        assert_eq!(n, m);
        assert!(seq == par, "parallel redaction differs from sequential");

        // A read error partway: the same output first, then the error.
        let cut = text.len() * 2 / 3;
        let failing = || {
            std::io::BufReader::new(FailAfter { data: &text[..], left: cut })
        };
        let mut seq = Vec::new();
        let seq_err = redactor
            .redact_dump(failing(), &mut seq, *dialect)
            .unwrap_err()
            .to_string();
        let mut par = Vec::new();
        let par_err = pool
            .install(|| {
                redactor.redact_dump_parallel(failing(), &mut par, *dialect)
            })
            .unwrap_err()
            .to_string();
        assert_eq!(seq_err, par_err);
        assert!(seq == par, "output before a read error differs");
    }
}

/// The fixtures, and big dumps that cross many batch boundaries.
fn parallel_inputs() -> Vec<(Vec<u8>, DumpDialect)> {
    let mut inputs: Vec<(Vec<u8>, DumpDialect)> =
        ["copy.sql", "inserts.sql", "column-inserts.sql"]
            .iter()
            .map(|f| {
                (
                    std::fs::read(fixtures().join(f)).unwrap(),
                    DumpDialect::Postgres,
                )
            })
            .collect();
    // A big multi-row INSERT dump crosses many batch boundaries.
    let mut mysql = b"-- MySQL dump\nCREATE TABLE `p` (`id` int, `ssn` varchar(11), `note` text);\n".to_vec();
    for i in 0..6000 {
        mysql.extend_from_slice(
            format!(
                "INSERT INTO `p` VALUES ({i},'219-09-{:04}','call 415-555-{:04} re jo{i}@clinic.example'),({i},NULL,'{}');\n",
                i % 10_000,
                i % 10_000,
                "x".repeat(i % 700)
            )
            .as_bytes(),
        );
    }
    inputs.push((mysql, DumpDialect::Mysql));
    // COPY blocks of two tables in turn, one with a typed NOT NULL date:
    // schemas change between and within batches, and whole values are
    // numbered across them.
    let mut pg =
        b"CREATE TABLE public.a (id integer, name text, dob date NOT NULL);\n\
                   CREATE TABLE public.b (ssn text, email text);\n"
            .to_vec();
    for block in 0..100 {
        pg.extend_from_slice(b"COPY public.a (id, name, dob) FROM stdin;\n");
        for i in 0..300 {
            pg.extend_from_slice(
                format!(
                    "{i}\tMaria Lopez {block}\t1957-03-{:02}\n",
                    1 + i % 28
                )
                .as_bytes(),
            );
        }
        pg.extend_from_slice(
            b"\\.\n\nCOPY public.b (ssn, email) FROM stdin;\n",
        );
        for i in 0..300 {
            pg.extend_from_slice(
                format!("219-09-{:04}\tjo{block}.{i}@clinic.example\n", i)
                    .as_bytes(),
            );
        }
        pg.extend_from_slice(b"\\.\n-- a comment\n");
    }
    inputs.push((pg, DumpDialect::Postgres));
    inputs
}

/// Reads `data` but fails once `left` bytes are used up.
pub(crate) struct FailAfter<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) left: usize,
}

impl std::io::Read for FailAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.left).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.left -= n;
        Ok(n)
    }
}

/// Real mysqldump output (MariaDB 10.11's, in MySQL's dump syntax), made
/// by `scripts/mysql_fixture.sh` and committed: test machines have no
/// MySQL server. The same rows as the PostgreSQL fixtures.
#[test]
fn real_mysqldump_output_in_three_insert_styles() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/mysql");
    let expected: BTreeSet<Row> = [
        ("patients", "first_name", 1, "PERSON"),
        ("patients", "last_name", 1, "PERSON"),
        ("patients", "ssn", 1, "SSN"),
        ("patients", "dob", 1, "DATE"),
        ("patients", "phone", 1, "PHONE"),
        ("patients", "email", 1, "EMAIL"),
        ("patients", "note", 1, "DATE"),
        ("patients", "note", 1, "SSN"),
        ("patients", "scan", 1, "SSN"),
        ("patients", "first_name", 2, "PERSON"),
        ("patients", "last_name", 2, "PERSON"),
        ("patients", "dob", 2, "DATE"),
        ("patients", "phone", 2, "PHONE"),
        ("patients", "email", 2, "EMAIL"),
        ("patients", "first_name", 3, "PERSON"),
        ("patients", "last_name", 3, "PERSON"),
        ("patients", "ssn", 3, "SSN"),
        ("patients", "dob", 3, "DATE"),
        ("patients", "email", 3, "EMAIL"),
        ("visits", "reason", 2, "EMAIL"),
    ]
    .into_iter()
    .map(|(t, c, r, e)| (t.to_string(), Some(c.to_string()), r, e.to_string()))
    .collect();
    let scanner = Scanner::new();
    for file in ["extended.sql", "complete-insert.sql", "single-row.sql"] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let mut rows = scanner.scan_dump(&bytes[..], DumpDialect::Mysql);
        let mut found = BTreeSet::new();
        while let Some(row) = rows.next_row() {
            for f in row.unwrap().findings {
                found.insert((
                    f.table().to_string(),
                    f.column().map(str::to_string),
                    f.row(),
                    f.finding().entity().to_string(),
                ));
            }
        }
        assert_eq!(found, expected, "{file}");

        // The values come back as stored, escapes undone.
        let mut rows = DumpReader::new(&bytes[..], DumpDialect::Mysql);
        let mut values = Vec::new();
        while let Some(r) = rows.next_values() {
            let r = r.unwrap();
            values.push((r.table.to_string(), r.row, r.values));
        }
        assert_eq!(values.len(), 5, "{file}");
        let text = |row: usize, col: usize| values[row].2[col].clone();
        assert_eq!(
            text(0, 7).unwrap(),
            b"Seen 03/14/2024.\nCall back re: results\tSSN 536-22-1837"
        );
        assert_eq!(text(1, 2).unwrap(), "O'Brien".as_bytes());
        assert_eq!(text(1, 3), None);
        assert_eq!(
            text(1, 7).unwrap(),
            br#"quote ' and backslash \ here; "double" too"#
        );
        assert_eq!(text(2, 8).unwrap(), [0x00, 0xFF], "{file}: raw blob");
        assert_eq!((values[4].0.as_str(), values[4].1), ("visits", 2));
    }
}

/// `.sql` files that are not pure dumps: a psql session, hand-written
/// statements, a mysqldump header. Everything outside values is scanned
/// and redacted as text.
const NOT_A_DUMP: &str = "-- MySQL dump 10.13\n-- Host: 10.44.19.201    Database: clinic\n\
psql (15.8)\nType \"help\" for help.\n\n\
clinic=> UPDATE patients SET mac_address = '00:1a:2b:3c:4d:5e' WHERE patient_mrn = 'K2091148';\nUPDATE 1\n\
clinic=> SELECT last_name, dob FROM patients WHERE ssn = '219-09-9999';\n\
 last_name |    dob\n-----------+------------\n Quixote   | 1957-03-14\n(1 row)\n\n\
INSERT INTO patients (mrn, last_name) VALUES ('M58203916', 'Okonkwo')\n  ON CONFLICT (mrn) DO UPDATE SET phone = '(415) 555-2671';\n\
clinic=> DELETE FROM sessions WHERE id = 7;\nDELETE 6\n\
clinic=> INSERT INTO patients (mrn, first_name) VALUES ('4570024', 'D\u{f6}rte')\nclinic-> ON CONFLICT (mrn) DO NOTHING;\nINSERT 0 1\n\
clinic=> SELECT first_name, mrn FROM patients;\n first_name |   mrn\n------------+---------\n Hedvig     | 0420989\n(1 row)\n\n\
mysql> SELECT name, phone FROM contacts;\n+-------------+------------+\n| name        | phone      |\n+-------------+------------+\n\
| Tunde Ola   | 6505553344 |\n+-------------+------------+\n1 row in set (0.00 sec)\n";

/// The values of [`NOT_A_DUMP`] that must be found and redacted.
const NOT_A_DUMP_PHI: &[&str] = &[
    "10.44.19.201",
    "00:1a:2b:3c:4d:5e",
    "K2091148",
    "219-09-9999",
    "M58203916",
    "Okonkwo",
    "(415) 555-2671",
    // After a command tag, an INSERT over two prompts.
    "4570024",
    "D\u{f6}rte",
    // Result tables' cells, read under their column names.
    "Quixote",
    "Hedvig",
    "0420989",
    "Tunde Ola",
    "6505553344",
];

#[test]
fn text_outside_values_is_scanned_and_redacted() {
    let scanner = Scanner::new();
    let mut rows =
        scanner.scan_dump(NOT_A_DUMP.as_bytes(), DumpDialect::Postgres);
    let mut found = Vec::new();
    let mut columns = Vec::new();
    while let Some(row) = rows.next_row() {
        let row = row.unwrap();
        for f in &row.findings {
            found.push(NOT_A_DUMP[f.finding().range()].to_string());
            if let Some(c) = f.column() {
                columns.push(format!("{}.{c}", f.table()));
            }
        }
    }
    for value in NOT_A_DUMP_PHI {
        assert!(found.iter().any(|f| f == value), "{value} not in {found:?}");
    }
    for column in ["patients.mrn", "patients.first_name", "contacts.phone"] {
        assert!(columns.iter().any(|c| c == column), "{column}: {columns:?}");
    }
    let redactor = phisafe::Redactor::new(scanner.clone());
    for parallel in [false, true] {
        let mut out = Vec::new();
        if parallel {
            redactor
                .redact_dump_parallel(
                    NOT_A_DUMP.as_bytes(),
                    &mut out,
                    DumpDialect::Postgres,
                )
                .unwrap();
        } else {
            redactor
                .redact_dump(
                    NOT_A_DUMP.as_bytes(),
                    &mut out,
                    DumpDialect::Postgres,
                )
                .unwrap();
        }
        let out = String::from_utf8(out).unwrap();
        for value in NOT_A_DUMP_PHI {
            assert!(!out.contains(value), "{value} left in\n{out}");
        }
        assert!(out.contains("UPDATE 1\n"), "{out}");
        assert!(
            out.contains("DELETE 6\n") && out.contains("(1 row)\n"),
            "{out}"
        );
        assert!(
            out.contains("+-------------+------------+\n| name "),
            "{out}"
        );
    }
}

#[test]
fn text_after_an_inserts_values_comes_after_its_rows() {
    // Found by the `tables` fuzz target: text after the tuples of an
    // INSERT was reported before them.
    let dump = "INSERT INTO `patients` VALUES (1,'Zed Quixote','219-09-9999')\
                'Brien','156-05-1120');\n";
    let scanner = Scanner::new();
    for dialect in [DumpDialect::Postgres, DumpDialect::Mysql] {
        let mut starts = Vec::new();
        let mut rows = scanner.scan_dump(dump.as_bytes(), dialect);
        while let Some(row) = rows.next_row() {
            starts.extend(
                row.unwrap().findings.iter().map(|f| f.finding().start()),
            );
        }
        let mut parallel = Vec::new();
        scanner
            .scan_dump_parallel(dump.as_bytes(), dialect, |row| {
                parallel
                    .extend(row.findings.iter().map(|f| f.finding().start()));
                Ok(())
            })
            .unwrap();
        assert!(starts.len() >= 2, "{dialect:?}: {starts:?}");
        assert!(starts.is_sorted(), "{dialect:?}: {starts:?}");
        assert_eq!(starts, parallel, "{dialect:?}");
    }
}

#[test]
fn table_and_column_names_are_identifiers_never_text() {
    // Found by `redact_roundtrip`: in a psql session, `INSERT INTO` at the
    // end of a line was read with the next lines (result rows holding an
    // SSN) as its table and `(1 row)` as its column list, and names
    // reach reports.
    let dump = "clinic=> SELECT id, ssn FROM patients;\n INSERT INTO \n\
                ----+-------------\n  1 | 219-09-9999\n(1 row)\n;\n\
                COPY 536221837 (ssn) FROM stdin;\n\
                CREATE TABLE \"Odd Name\" (\"Last Name\" text, 2fa text);\n\
                INSERT INTO \"Odd Name\" VALUES ('Quixote', 'x');\n\
                INSERT INTO p (id, note) VALUES (1, 'O''Neil 536-22-1837');\n";
    let scanner = Scanner::new();
    let mut names = Vec::new();
    let mut found = Vec::new();
    let mut rows = scanner.scan_dump(dump.as_bytes(), DumpDialect::Postgres);
    while let Some(row) = rows.next_row() {
        for f in row.unwrap().findings {
            names
                .push((f.table().to_string(), f.column().map(str::to_string)));
            found.push(dump[f.finding().range()].to_string());
        }
    }
    for (table, column) in &names {
        let shown = format!("{table} {column:?}");
        assert!(!shown.contains("219") && !shown.contains("536"), "{shown}");
        assert!(!shown.contains('\n') && !shown.contains("row"), "{shown}");
    }
    // The values are still found: as text, or in their columns.
    for v in ["219-09-9999", "536-22-1837", "Quixote"] {
        assert!(found.iter().any(|f| f.contains(v)), "{v}: {found:?}");
    }
    assert!(names.contains(&("p".into(), Some("note".into()))), "{names:?}");
    let odd = ("Odd Name".to_string(), Some("Last Name".to_string()));
    assert!(names.contains(&odd), "{names:?}");
}

#[test]
fn redacting_text_keeps_the_bytes_that_end_strings_and_statements() {
    // Found by `redact_roundtrip`: an MRN read in an HL7-like line inside
    // a statement held a quote (`P9099999;5'1`); replaced whole, the quote
    // went with it, and the statements after it were read differently.
    let dump = "CREATE TABLE t (\n  a PID|1||P9099999;5'1||x\n);\n\
                INSERT INTO v VALUES (1,'a'),(2,'b');\n\
                INSERT INTO v VALUES (3,'it''s');\n";
    let redactor = Redactor::new(Scanner::new());
    for dialect in [DumpDialect::Postgres, DumpDialect::Mysql] {
        let mut out = Vec::new();
        redactor.redact_dump(dump.as_bytes(), &mut out, dialect).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("9099999"), "{out}");
        let rows = |text: &str| {
            let mut rdr = DumpReader::new(text.as_bytes(), dialect);
            let mut rows = Vec::new();
            while let Some(v) = rdr.next_values() {
                let v = v.unwrap();
                rows.push((v.table.to_string(), v.row, v.values.len()));
            }
            rows
        };
        assert_eq!(rows(dump), rows(&out), "{dialect:?}: {out}");
        let quotes = |t: &str| t.matches(['\'', ';']).count();
        assert_eq!(quotes(dump), quotes(&out), "{out}");
    }
}
