//! The `phisafe` binary, run as users run it.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test"
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn phisafe(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phisafe"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The objects of a `--format jsonl` report.
fn jsonl_rows(o: &Output) -> Vec<serde_json::Value> {
    stdout(o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn jsonl_schema_and_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("note.txt");
    let text = "first line\nSSN 219-09-9999 and jo@clinic.example\n";
    std::fs::write(&path, text).unwrap();
    let out =
        phisafe(&["scan", "--format", "jsonl", path.to_str().unwrap()], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = jsonl_rows(&out);
    assert_eq!(rows.len(), 2);
    for (row, (entity, value)) in rows
        .iter()
        .zip([("SSN", "219-09-9999"), ("EMAIL", "jo@clinic.example")])
    {
        assert_eq!(row["entity"], entity);
        assert_eq!(row["line"], 2);
        assert_eq!(row["path"], path.to_str().unwrap());
        let (s, e) = (
            row["start"].as_u64().unwrap() as usize,
            row["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&text[s..e], value);
        assert!(row["pattern"].is_string());
        assert!(row["score"].as_f64().unwrap() >= 0.5);
        // Values are masked unless asked.
        assert_ne!(row["preview"], value);
    }
    let out = phisafe(
        &[
            "scan",
            "--format",
            "jsonl",
            "--show-values",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert!(stdout(&out).contains("219-09-9999"));
}

#[test]
fn every_report_format_lists_the_same_findings() {
    // Several inputs, with pointers and cells: the JSON report's findings
    // are the JSON lines report's rows, in order, and so are the table's.
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("a.txt");
    std::fs::write(&note, "SSN 219-09-9999\njo@clinic.example\n").unwrap();
    let csv = dir.path().join("b.csv");
    std::fs::write(&csv, "name,ssn\nJo \"Q\",219-09-9999\n").unwrap();
    let json = dir.path().join("c.json");
    std::fs::write(&json, r#"[{"ssn": "219-09-9999", "note": "tab\there"}]"#)
        .unwrap();
    let paths = [&note, &csv, &json].map(|p| p.to_str().unwrap());
    let report = |format: &str| {
        let mut args = vec!["scan", "--format", format];
        args.extend(paths);
        phisafe(&args, None)
    };
    let lines = jsonl_rows(&report("jsonl"));
    assert!(lines.len() >= 4, "{lines:?}");
    let doc: serde_json::Value =
        serde_json::from_str(&stdout(&report("json"))).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap(), &lines);
    let table = stdout(&report("table"));
    let listed: Vec<&str> = table
        .lines()
        .filter(|l| {
            l.contains(".txt:") || l.contains(".csv:") || l.contains(".json:")
        })
        .collect();
    assert_eq!(listed.len(), lines.len(), "{table}");
    for (line, row) in listed.iter().zip(&lines) {
        assert!(line.starts_with(row["path"].as_str().unwrap()), "{line}");
        assert!(line.contains(row["entity"].as_str().unwrap()), "{line}");
    }
    let sarif: serde_json::Value =
        serde_json::from_str(&stdout(&report("sarif"))).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), lines.len());
    for (result, row) in results.iter().zip(&lines) {
        assert_eq!(result["ruleId"], row["entity"]);
        let place = &result["locations"][0]["physicalLocation"];
        assert_eq!(place["artifactLocation"]["uri"], row["path"]);
        assert_eq!(place["region"]["byteOffset"], row["start"]);
    }
}

#[test]
fn exit_codes() {
    let clean = phisafe(&["scan", "--fail-on", "-"], Some(b"nothing here"));
    assert_eq!(clean.status.code(), Some(0));
    let dirty = phisafe(&["scan", "--fail-on", "-"], Some(b"SSN 219-09-9999"));
    assert_eq!(dirty.status.code(), Some(1));
    // Findings without --fail-on are a successful run.
    let dirty = phisafe(&["scan", "-"], Some(b"SSN 219-09-9999"));
    assert_eq!(dirty.status.code(), Some(0));
    // A threshold above the finding's score passes.
    let high =
        phisafe(&["scan", "--fail-on=0.99", "-"], Some(b"SSN 219-09-9999"));
    assert_eq!(high.status.code(), Some(0));
    let usage = phisafe(&["scan", "--entities", "NOPE", "-"], Some(b""));
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("unknown entity"));
}

#[test]
fn unreadable_inputs_are_reported_and_the_rest_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.log");
    std::fs::write(&good, "ip 10.0.4.17\n").unwrap();
    let missing = dir.path().join("missing.log");
    let out = phisafe(
        &[
            "scan",
            "--format",
            "jsonl",
            missing.to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.log"));
    assert!(stdout(&out).contains("IP_ADDRESS"));
}

#[test]
fn report_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.sarif");
    let out = phisafe(
        &["scan", "--format", "sarif", "-o", report.to_str().unwrap(), "-"],
        Some(b"SSN 219-09-9999"),
    );
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap())
            .unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "SSN");
    assert_eq!(results[0]["properties"]["pattern"], "ssn.formatted");
    // SARIF gets uploaded to code-scanning services: no raw values.
    assert!(!doc.to_string().contains("219-09-9999"));
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn redact_streams_stdin_to_stdout() {
    let input = "Dr. Alice Moreno, SSN 219-09-9999\n".repeat(5000);
    let out = phisafe(
        &["redact", "--operator", "SSN=partial", "-"],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0));
    let expected = "Dr. [PERSON], SSN ***-**-9999\n".repeat(5000);
    assert_eq!(stdout(&out), expected);
}

#[test]
fn redact_to_a_file_and_refuse_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.log");
    let dst = dir.path().join("out.log");
    std::fs::write(&src, "mail jo@clinic.example\n").unwrap();
    let out = phisafe(
        &["redact", src.to_str().unwrap(), "-o", dst.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&dst).unwrap(), "mail [EMAIL]\n");
    let same = phisafe(
        &["redact", src.to_str().unwrap(), "-o", src.to_str().unwrap()],
        None,
    );
    assert_eq!(same.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&src).unwrap(),
        "mail jo@clinic.example\n"
    );
}

#[test]
fn hash_operator_needs_a_key() {
    let out = phisafe(
        &["redact", "--default-operator", "hash", "-"],
        Some(b"SSN 219-09-9999"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PHISAFE_HASH_KEY"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_phisafe"))
        .args(["redact", "--default-operator", "hash", "-"])
        .env("PHISAFE_HASH_KEY", "0123456789abcdef0123")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"SSN 219-09-9999").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("SSN [SSN:"), "{text}");
}

#[test]
fn invalid_utf8_and_binary_input() {
    let mut input = b"\xff\xfe\x00SSN 219-09-9999\x00\xc3".to_vec();
    input.extend(std::iter::repeat_n(0u8, 100_000));
    let out = phisafe(&["scan", "--format", "jsonl", "-"], Some(&input));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).lines().count(), 1);
}

#[test]
fn jsonl_findings_carry_pointers_and_bad_lines_do_not_stop_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(
        &path,
        "{\"patient\": {\"lastName\": \"Quixote\"}}\n{\"broken\": 518-33-0417\n{\"ssn\": 219099999}\n",
    )
    .unwrap();
    // Detected by name: the bad line is scanned as text and noted.
    let out =
        phisafe(&["scan", "--format", "jsonl", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("note: "), "{stderr}");
    assert!(stderr.contains("line 2:"), "{stderr}");
    // Asked for: the same findings, and the bad line is an error.
    let told = phisafe(
        &[
            "scan",
            "--format",
            "jsonl",
            "--input-format",
            "jsonl",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(told.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&told.stderr);
    assert!(stderr.contains("events.jsonl:2"), "{stderr}");
    assert!(stderr.contains("column"), "{stderr}");
    assert_eq!(jsonl_rows(&told), jsonl_rows(&out));
    let rows = jsonl_rows(&out);
    let got: Vec<(&str, &str, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["pointer"].as_str().unwrap_or(""),
                r["entity"].as_str().unwrap(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("/patient/lastName", "PERSON", 1),
            ("", "SSN", 2),
            ("/ssn", "SSN", 3)
        ]
    );
}

#[test]
fn what_looks_structured_but_is_not_is_read_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let celery = b"[2024-08-30 11:02:44,918: INFO/MainProcess] Task intake[3f2c] \
        succeeded: patient MRN 00482913 ssn 219-09-9999\n\
        [2024-08-30 11:02:45,001: WARNING/ForkPoolWorker-2] retry for jo@clinic.example\n";
    let bad_json = b"{\"patient\": {\"ssn\": \"219-09-9999\", \"email\": \"jo@clinic.example\"\n\
        oops, the export stopped here; MRN 00482913\n";
    for (name, body) in
        [("celery.log", &celery[..]), ("export.json", &bad_json[..])]
    {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let path = path.to_str().unwrap();
        let out = phisafe(&["scan", "--format", "jsonl", path], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        let entities: Vec<String> = jsonl_rows(&out)
            .iter()
            .map(|r| r["entity"].as_str().unwrap().to_string())
            .collect();
        for e in ["SSN", "EMAIL", "MRN"] {
            assert!(
                entities.iter().any(|x| x == e),
                "{name}: {e} in {entities:?}"
            );
        }
        // Redacted whole, to stdout and to a file alike.
        let out = phisafe(&["redact", path], None);
        assert_eq!(out.status.code(), Some(0), "{name}");
        let file = dir.path().join(format!("{name}.out"));
        let to_file =
            phisafe(&["redact", path, "-o", file.to_str().unwrap()], None);
        assert_eq!(to_file.status.code(), Some(0), "{name}");
        assert_eq!(std::fs::read(&file).unwrap(), out.stdout, "{name}");
        let text = stdout(&out);
        for value in ["219-09-9999", "jo@clinic.example", "00482913"] {
            assert!(!text.contains(value), "{name}: {value} in {text}");
        }
    }
    // Asked for as JSON, a document that is not JSON is an error.
    let path = dir.path().join("export.json");
    let out = phisafe(
        &["scan", "--input-format", "json", path.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let out = phisafe(
        &["redact", "--input-format", "json", path.to_str().unwrap()],
        None,
    );
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn redacting_json_keeps_json() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("record.json");
    let doc = r#"{"patient": {"name": "Zed Quixote", "ssn": 219099999, "visits": [1, 2]}}"#;
    std::fs::write(&src, doc).unwrap();
    let out = phisafe(&["redact", src.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"patient": {"name": "[PERSON]", "ssn": "[SSN]", "visits": [1, 2]}})
    );
    // JSON lines: a bad line is redacted as text, reported, and kept.
    let out = phisafe(
        &["redact", "--input-format", "jsonl", "-"],
        Some(b"{\"ssn\": 219099999}\nnot json SSN 219-09-9999\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "{\"ssn\": \"[SSN]\"}\nnot json SSN [SSN]\n");
}

#[test]
fn csv_findings_carry_row_and_column_and_redaction_keeps_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("patients.tsv");
    std::fs::write(
        &path,
        "id\tlast_name\tnote\n7\tQuixote\t\"multi\nline SSN 219-09-9999\"\n",
    )
    .unwrap();
    let out =
        phisafe(&["scan", "--format", "jsonl", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let rows = jsonl_rows(&out);
    let got: Vec<(u64, &str, &str, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["column"].as_str().unwrap(),
                r["entity"].as_str().unwrap(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(1, "last_name", "PERSON", 2), (1, "note", "SSN", 3)]);
    let out = phisafe(&["redact", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "id\tlast_name\tnote\n7\t[PERSON]\t\"multi\nline SSN [SSN]\"\n"
    );
}

#[test]
fn per_column_summaries_classify_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("patients.csv");
    let mut csv = String::from("id,ssn,note\n");
    for i in 0..20 {
        let note = if i == 0 { "mail jo@clinic.example" } else { "stable" };
        csv.push_str(&format!("{i},536-22-{:04},{note}\n", 1000 + i));
    }
    std::fs::write(&path, &csv).unwrap();
    let out =
        phisafe(&["scan", "--format", "json", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cols = doc["columns"].as_array().unwrap();
    let find = |name: &str| {
        cols.iter().find(|c| c["column"] == name).unwrap().clone()
    };
    let ssn = find("patients.ssn");
    assert_eq!(ssn["rows"], 20);
    assert_eq!(ssn["rows_with_findings"], 20);
    assert_eq!(ssn["classification"], "SSN");
    let note = find("patients.note");
    assert_eq!(note["rows_with_findings"], 1);
    assert!(note["classification"].is_null());
    assert_eq!(find("patients.id")["rows_with_findings"], 0);
    // The table report shows the summaries before the findings.
    let out = phisafe(&["scan", path.to_str().unwrap()], None);
    let text = stdout(&out);
    let summary = text.find("patients.ssn").unwrap();
    let first_finding = text.find("row 1 [ssn]").unwrap();
    assert!(summary < first_finding);
}

#[test]
fn compressed_inputs_are_read_transparently() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let jsonl = "{\"ssn\": 219099999}\n{\"email\": \"jo@clinic.example\"}\n";
    let gz = dir.path().join("events.jsonl.gz");
    let mut enc =
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(jsonl.as_bytes()).unwrap();
    let gz_bytes = enc.finish().unwrap();
    std::fs::write(&gz, &gz_bytes).unwrap();
    let zst = dir.path().join("patients.csv.zst");
    let csv = "id,last_name\n1,Quixote\n";
    std::fs::write(&zst, zstd::encode_all(csv.as_bytes(), 3).unwrap())
        .unwrap();
    let out = phisafe(
        &[
            "scan",
            "--format",
            "jsonl",
            gz.to_str().unwrap(),
            zst.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = jsonl_rows(&out);
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["entity"].as_str().unwrap(),
                r["pointer"].as_str().or(r["column"].as_str()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("SSN", "/ssn"), ("EMAIL", "/email"), ("PERSON", "last_name")]
    );
    // Offsets are into the decompressed stream.
    assert_eq!(
        &jsonl[rows[0]["start"].as_u64().unwrap() as usize..][..9],
        "219099999"
    );
    // Stdin is sniffed too; redaction writes plain text.
    let out =
        phisafe(&["redact", "--input-format", "jsonl", "-"], Some(&gz_bytes));
    assert_eq!(
        stdout(&out),
        "{\"ssn\": \"[SSN]\"}\n{\"email\": \"[EMAIL]\"}\n"
    );
}

#[test]
fn findings_carry_their_line_in_every_input_kind() {
    // Multi-row INSERTs and a JSON document spread over lines, a CSV
    // field with a line break, and a log: each finding's line is the one
    // its value is on.
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        (
            "d.sql",
            "-- MySQL dump\nINSERT INTO `p` VALUES (1,'219-09-9999'),\n\
             (2,'x'),(3,'536-22-1837'),\n(4,'jo@clinic.example');\n\
             INSERT INTO `p` VALUES (5,'078-05-1121');\n\
             INSERT INTO `p` VALUES\n(6,'x'),\n(7,'x'),\n(8,'219-09-9999');\n",
        ),
        (
            "d.json",
            "{\"a\": [\n {\"ssn\": \"219-09-9999\"},\n {\"e\": \"x\",\n  \
             \"m\": \"jo@clinic.example\"}\n]}\n",
        ),
        ("d.csv", "n,note\n1,\"a\nb 219-09-9999\"\n2,jo@clinic.example\n"),
        ("d.log", "ok\nssn 219-09-9999\n\nmail jo@clinic.example\n"),
    ];
    for (name, text) in inputs {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let rows = jsonl_rows(&phisafe(
            &["scan", "--format", "jsonl", path.to_str().unwrap()],
            None,
        ));
        assert!(rows.len() >= 2, "{name}: {rows:?}");
        for row in rows {
            let start = row["start"].as_u64().unwrap() as usize;
            let line = text[..start].matches('\n').count() as u64 + 1;
            assert_eq!(row["line"], line, "{name}: {row}");
        }
    }
}

#[test]
fn dumps_are_read_by_table_and_column() {
    // Real pg_dump output (scripts/pg_fixture.sh), shipped as a sample.
    let sample =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../samples/clinic-pg_dump.sql");
    let out = phisafe(&["scan", "--format", "json", sample], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cols = doc["columns"].as_array().unwrap();
    let class = |name: &str| {
        cols.iter().find(|c| c["column"] == name).unwrap()["classification"]
            .clone()
    };
    assert_eq!(class("public.patients.ssn"), "SSN");
    assert_eq!(class("public.patients.last_name"), "PERSON");
    assert!(class("public.patients.id").is_null());
    let first = &doc["findings"][0];
    assert_eq!(first["column"], "public.patients.first_name");
    assert_eq!(first["row"], 1);
    // SARIF names the column as the logical location.
    let out = phisafe(&["scan", "--format", "sarif", sample], None);
    let sarif: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "PERSON");
    assert_eq!(
        result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "public.patients.first_name"
    );
    // mysqldump, told by its first line even when called .sql.
    let dump = b"-- MySQL dump 10.13\nINSERT INTO `p` (`id`, `ssn`) VALUES (1,'219-09-9999');\n";
    let out = phisafe(
        &["scan", "--input-format", "mysql-dump", "--format", "jsonl", "-"],
        Some(dump),
    );
    let row: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(row["column"], "p.ssn");
    assert_eq!(row["entity"], "SSN");
    // Without column names, columns are numbered, in findings and summary
    // alike, and each position is counted on its own.
    let dump = b"-- MySQL dump\nINSERT INTO `p` VALUES (1,'219-09-9999','x'),(2,'536-22-1837','y');\n";
    let out = phisafe(
        &["scan", "--input-format", "mysql-dump", "--format", "json", "-"],
        Some(dump),
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["column"], "p.2");
    let cols = doc["columns"].as_array().unwrap();
    let with = |name: &str| {
        cols.iter().find(|c| c["column"] == name).unwrap()["rows_with_findings"].clone()
    };
    assert_eq!(
        (with("p.1"), with("p.2"), with("p.3")),
        (0.into(), 2.into(), 0.into())
    );
    // A custom-format archive gets the command that converts it.
    let out = phisafe(
        &["scan", "--input-format", "pg-dump", "-"],
        Some(b"PGDMP\x01\x0e\x00"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_restore -f -"));
}

#[test]
fn redacting_a_dump_keeps_sql() {
    let dump = "CREATE TABLE public.p (\n    id integer,\n    ssn text,\n    dob date NOT NULL,\n    note text\n);\n\
                COPY public.p (id, ssn, dob, note) FROM stdin;\n1\t219-09-9999\t1957-03-14\t\\N\n\\.\n\
                INSERT INTO public.p VALUES (2, 'x', '1961-07-02', 'O''Neil 536-22-1837');\n";
    let out = phisafe(
        &["redact", "--input-format", "pg-dump", "-"],
        Some(dump.as_bytes()),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("1\t[SSN]#1\t1900-01-01\t\\N\n"), "{text}");
    assert!(
        text.contains("VALUES (2, 'x', '1900-01-01', 'O''Neil [SSN]');"),
        "{text}"
    );
    assert!(text.starts_with("CREATE TABLE public.p ("));
}

#[test]
fn content_tells_the_format_when_the_name_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        ("events.log", b"{\"ssn\": 219099999}\n{\"email\": \"jo@clinic.example\"}\n", "pointer"),
        ("backup.txt", b"--\n-- PostgreSQL database dump\n--\nCOPY public.p (id, ssn) FROM stdin;\n1\t219-09-9999\n\\.\n", "column"),
        ("record", b"{\n  \"patient\": {\"lastName\": \"Quixote\"}\n}\n", "pointer"),
    ];
    for (name, body, field) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let out = phisafe(
            &["scan", "--format", "jsonl", path.to_str().unwrap()],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let first: serde_json::Value =
            serde_json::from_str(stdout(&out).lines().next().unwrap())
                .unwrap();
        assert!(first[field].is_string(), "{name}: {first}");
    }
    // Stdin is text unless told otherwise: a piped log is never guessed at.
    let out = phisafe(
        &["scan", "--format", "jsonl", "-"],
        Some(b"{\"ssn\": 219099999}\n"),
    );
    assert!(stdout(&out).is_empty() || !stdout(&out).contains("pointer"));
}

#[test]
fn a_json_array_of_records_streams_with_a_column_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.json");
    let mut doc =
        String::from("{\"exported\": \"2024-03-05\", \"records\": [\n");
    for i in 0..20_000 {
        let sep = if i + 1 < 20_000 { "," } else { "" };
        doc.push_str(&format!(
            "  {{\"id\": {i}, \"ssn\": \"219-09-{:04}\", \"status\": \"open\"}}{sep}\n",
            i % 10_000
        ));
    }
    doc.push_str("]}\n");
    std::fs::write(&path, &doc).unwrap();
    let out =
        phisafe(&["scan", "--format", "json", path.to_str().unwrap()], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap();
    let columns = report["columns"].as_array().unwrap();
    let ssn = columns
        .iter()
        .find(|c| c["column"] == "export/records/*/ssn")
        .unwrap();
    assert_eq!(
        (ssn["rows"].as_u64(), ssn["classification"].as_str()),
        (Some(20_000), Some("SSN"))
    );
    let findings = report["findings"].as_array().unwrap();
    let last = findings
        .iter()
        .find(|f| f["pointer"] == "/records/19999/ssn")
        .unwrap();
    assert_eq!(last["line"].as_u64(), Some(20_001));

    // Redaction streams too, and keeps the document valid JSON.
    let out = phisafe(&["redact", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"][19_999]["ssn"], "[SSN]");
    assert_eq!(v["records"].as_array().unwrap().len(), 20_000);

    // A syntax error is located in the whole document: a note when the
    // format was detected (the file is read as text), an error when asked.
    std::fs::write(&path, "[{\"a\": 1},\n {\"b\": }]").unwrap();
    let out = phisafe(&["scan", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2, column 8"));
    let out = phisafe(
        &["scan", "--input-format", "json", path.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2, column 8"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn csv_dialects_are_sniffed_and_flags_override_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admissions.csv");
    std::fs::write(
        &path,
        "Report: Admissions for jo@clinic.example\r\nGenerated 2024-02-08 by etl_user\r\n\r\n\
         patient_mrn;Name;provider_npi;Notes\r\n\
         518830;Quixote, Zed;1234567893;\"Lives at 12 Elm St; SSN 219-09-9999\"\r\n\
         518831;Lim, Francesco;1245319599;none\r\n",
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let out = phisafe(&["scan", "--format", "jsonl", path], None);
    assert_eq!(out.status.code(), Some(0));
    let rows = jsonl_rows(&out);
    let cells: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["entity"].as_str().unwrap().to_string(),
                r["column"].to_string(),
            )
        })
        .collect();
    // The preamble is text; the header names the columns.
    assert!(cells.contains(&("EMAIL".into(), "null".into())), "{cells:?}");
    for (entity, column) in
        [("PERSON", "Name"), ("NPI", "provider_npi"), ("SSN", "Notes")]
    {
        assert!(
            cells.iter().any(|(e, c)| e == entity && c.contains(column)),
            "{entity} in {column}: {cells:?}"
        );
    }
    let out = phisafe(&["redact", path], None);
    let text = stdout(&out);
    for value in ["jo@clinic.example", "Quixote", "1234567893", "219-09-9999"]
    {
        assert!(!text.contains(value), "{value} in {text}");
    }
    assert!(
        text.contains("patient_mrn;Name;provider_npi;Notes\r\n"),
        "{text}"
    );
    // Told otherwise: read with commas, nothing skipped, no header. The
    // values are still found, as text of one wide column.
    let out = phisafe(
        &[
            "scan",
            "--format",
            "jsonl",
            "--csv-delimiter",
            ",",
            "--csv-skip",
            "0",
            "--csv-header",
            "no",
            path,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(jsonl_rows(&out).iter().all(|r| {
        !r["column"].as_str().unwrap_or("").contains("provider_npi")
    }));
    let bad = phisafe(&["scan", "--csv-delimiter", "ab", path], None);
    assert_eq!(bad.status.code(), Some(2));
}
