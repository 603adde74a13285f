//! The pattern pack's own examples, and engine-wide properties.

use super::DEFAULT_MIN_SCORE as MIN;
use super::pattern::{default_pack, default_patterns, parse_file};
use crate::format::dump::DumpDialect;
use crate::{Entity, Finding, Scanner};

/// Splits `a «b» c` into the text without markers and the marked span.
fn marked(example: &str) -> (String, std::ops::Range<usize>) {
    let start = example.find('«').expect("example has «");
    let end = example.find('»').expect("example has »");
    let text = example.replace(['«', '»'], "");
    (text, start..end - '«'.len_utf8())
}

#[test]
fn every_entity_has_patterns_and_examples() {
    let patterns = default_patterns();
    for &e in Entity::ALL {
        let ps: Vec<_> = patterns.iter().filter(|p| p.entity == e).collect();
        assert!(!ps.is_empty(), "no pattern for {e}");
        for p in ps {
            assert!(
                !p.examples.is_empty() || p.log_timestamp,
                "{} has no example",
                p.id
            );
            assert!(!p.negatives.is_empty(), "{} has no negative", p.id);
        }
    }
}

#[test]
fn positive_examples_are_found() {
    let scanner = Scanner::new();
    let mut failures = Vec::new();
    for p in scanner.patterns().iter().filter(|p| p.keys().is_empty()) {
        for ex in &p.examples {
            let (text, span) = marked(ex);
            let found = scanner.scan(text.as_bytes());
            // The pattern's own span, or a wider reading of its entity
            // that took the pattern's score when it covered it.
            let hit = found.iter().any(|f| {
                f.entity() == p.entity
                    && (f.range() == span
                        || (f.start() <= span.start
                            && span.end <= f.end()
                            && f.score() >= p.score))
            });
            if !hit {
                let got: Vec<_> = found
                    .iter()
                    .map(|f| {
                        format!(
                            "{}@{:?}={:?}",
                            scanner.pattern(f.pattern()).id(),
                            f.range(),
                            &text[f.range()]
                        )
                    })
                    .collect();
                failures.push(format!(
                    "{}: {ex:?} expected {span:?}, got {got:?}",
                    p.id
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn negative_examples_are_not_found() {
    let scanner = Scanner::new();
    let mut failures = Vec::new();
    for p in scanner.patterns() {
        for ex in &p.negatives {
            let found = scanner.scan(ex.as_bytes());
            for f in found.iter().filter(|f| f.entity() == p.entity) {
                failures.push(format!(
                    "{}: {ex:?} reported {:?} via {}",
                    p.id,
                    &ex[f.range()],
                    scanner.pattern(f.pattern()).id()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn each_example_is_found_by_its_own_pattern() {
    // With only this pattern enabled, it alone must find its examples: a
    // sibling pattern of the same entity must not be what passes the test.
    for p in default_patterns() {
        let scanner = Scanner::builder()
            .default_pack(false)
            .log_timestamps(p.log_timestamp)
            .patterns_toml("one", &pattern_toml(&p))
            .build()
            .unwrap();
        for ex in &p.examples {
            let (text, span) = marked(ex);
            let found = scanner.scan(text.as_bytes());
            assert!(
                found.iter().any(|f| f.range() == span),
                "{}: {ex:?} not found alone",
                p.id
            );
        }
    }
}

/// The one pattern back as TOML, for building a scanner of it alone.
fn pattern_toml(p: &super::Pattern) -> String {
    let list = |v: &[String]| {
        let items: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
        format!("[{}]", items.join(", "))
    };
    let validator = p
        .validator()
        .map_or(String::new(), |n| format!("validator = {n:?}\n"));
    format!(
        "[[pattern]]\nid = {:?}\nentity = {:?}\ndescription = \"x\"\n\
         regex = '''{}'''\ngroup = {}\n{validator}score = {}\n\
         context_score = {}\ncontext = {}\nnegative_context = {}\n\
         context_window = {}\ncontext_required = {}\nlog_timestamp = {}\n",
        p.id,
        p.entity.as_str(),
        p.regex,
        p.group,
        p.score,
        p.context_score,
        list(&p.context),
        list(&p.negative_context),
        p.context_window,
        p.context_required,
        p.log_timestamp,
    )
}

#[test]
fn chance_checksums_are_not_certainty() {
    // A checksum that passes 1 time in 50 by chance cannot on its own
    // carry a finding over the default threshold, and no checksum makes a
    // bare match surer than its pass rate allows.
    for p in default_patterns() {
        let Some(rate) = p.checksum_pass_rate() else {
            continue;
        };
        assert!(
            f64::from(p.score) <= 1.0 - rate,
            "{}: score {} above 1 - pass rate {rate}",
            p.id,
            p.score
        );
        // Short numbers (under 13 digits) are everywhere in logs: order
        // ids, counters. A checksum that one in 60 of them passes cannot
        // carry such a number over the threshold alone.
        let short_number = p.examples.iter().all(|ex| {
            let (text, span) = marked(ex);
            let m = &text[span];
            let digits = m.bytes().filter(u8::is_ascii_digit).count();
            !m.bytes().any(|b| b.is_ascii_alphabetic()) && digits < 13
        });
        if rate >= 1.0 / 60.0 && short_number {
            assert!(
                p.score < MIN || p.context_required,
                "{}: bare checksum match reported without context",
                p.id
            );
        }
    }
}

#[test]
fn weak_checksums_need_context() {
    let s = Scanner::new();
    let only = |text: &str, e: Entity| {
        s.scan(text.as_bytes()).iter().filter(|f| f.entity() == e).count()
    };
    assert_eq!(only("order 1234567893 shipped", Entity::Npi), 0);
    assert_eq!(only("prescriber NPI 1234567893", Entity::Npi), 1);
    assert_eq!(only("ref 111000025", Entity::AccountNumber), 0);
    assert_eq!(only("order 219099999", Entity::Ssn), 0);
    assert_eq!(only("SSN 219099999", Entity::Ssn), 1);
}

#[test]
fn a_rejected_reading_does_not_hide_another() {
    // `\b\d{9}\b` is the regex of several patterns (SSN, ABA routing). The
    // leftmost-first engine reports one of them at this start; the others
    // must still be evaluated.
    let s = Scanner::new();
    let found = s.scan(b"routing 021000021");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].entity(), Entity::AccountNumber);
    // A MAC address is also IPv6-shaped; the IPv6 validator rejects it.
    let found = s.scan(b"hw 00:1a:2b:3c:4d:5e");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].entity(), Entity::MacAddress);
}

#[test]
fn nested_findings_of_another_kind_are_reported() {
    let s = Scanner::new();
    let text = b"https://app:s3cr3tPass@db.example.org:5432/x ssn";
    let es: Vec<Entity> = s.scan(text).iter().map(|f| f.entity()).collect();
    assert_eq!(es, [Entity::Url, Entity::Secret]);
}

#[test]
fn bad_input_never_panics() {
    let s = Scanner::new();
    assert!(s.scan(b"").is_empty());
    s.scan(b"\xff\xfe\x00\x00SSN 219-09-9999\x00\xc3");
    s.scan(&[0u8; 10_000]);
    s.scan(&[0xC3; 10_000]);
    let found = s.scan(b"\xffSSN 219-09-9999\xff");
    assert_eq!(found.len(), 1);
    // A long line of digits and of word characters.
    s.scan(&b"1".repeat(1 << 20));
    s.scan(&b"a@".repeat(1 << 18));
}

#[test]
fn non_ascii_text_around_findings() {
    let s = Scanner::new();
    let text = "患者 José García 📞 (415) 555-2671 — ñ 219-09-9999 ✓";
    let found = s.scan(text.as_bytes());
    let got: Vec<(Entity, &str)> =
        found.iter().map(|f| (f.entity(), &text[f.range()])).collect();
    assert_eq!(
        got,
        [
            (Entity::Person, "José García"),
            (Entity::Phone, "(415) 555-2671"),
            (Entity::Ssn, "219-09-9999"),
        ]
    );
}

#[test]
fn ignore_examples_hide_everything_inside() {
    let s = Scanner::new();
    for i in default_pack().ignores {
        for ex in &i.examples {
            // Even a date inside the ignored text is not reported.
            assert!(s.scan(ex.as_bytes()).is_empty(), "{}: {ex:?}", i.id);
            let line = format!("{ex} SSN 219-09-9999");
            assert_eq!(s.scan(line.as_bytes()).len(), 1, "{}: {ex:?}", i.id);
        }
    }
    // The same date-time inside a line is a date.
    let found = s.scan(b"admitted at 2024-03-14T10:22:01Z");
    assert_eq!(found.len(), 1);
}

#[test]
fn log_timestamps_are_skipped_by_default() {
    let line = b"2024-03-14T10:22:01Z INFO admitted patient dob 1957-03-14\n";
    let s = Scanner::new();
    let dates: Vec<_> = s.scan(line).iter().map(|f| f.start()).collect();
    assert_eq!(dates, [47]);
    let s = Scanner::builder().log_timestamps(true).build().unwrap();
    assert_eq!(s.scan(line).len(), 2);
    let quiet = Scanner::new();
    for line in [
        "2024-03-14 10:22:01,123 INFO x",
        "[2024-03-14T10:22:01Z] INFO x",
        "(2024-03-14 10:22) x",
        "03/14/2024 10:22:01 x",
        "Mar 14 10:22:01 host sshd[1]: x",
    ] {
        let text = format!("first\n{line}\n");
        assert!(quiet.scan(text.as_bytes()).is_empty(), "{line:?}");
        let found = s.scan(text.as_bytes());
        assert_eq!(found.len(), 1, "{line:?}");
        assert_eq!(found[0].entity(), Entity::Date);
    }
}

#[test]
fn builder_filters_and_lists() {
    let s = Scanner::builder().entities([Entity::Email]).build().unwrap();
    assert!(s.patterns().iter().all(|p| p.entity() == Entity::Email));
    let s = Scanner::builder().disable_pattern("email").build().unwrap();
    assert!(s.scan(b"a.b@example.org").is_empty());
    let s =
        Scanner::builder().deny(Entity::Person, "Zebulon").build().unwrap();
    let found = s.scan(b"visited by zebulon today");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].entity(), Entity::Person);
    let s = Scanner::builder().min_score(0.99).build().unwrap();
    assert!(s.scan(b"SSN 219-09-9999").is_empty());
}

#[test]
fn bad_pattern_files_are_errors() {
    let cases = [
        ("not toml [", "is not valid"),
        ("[[pattern]]\nid = \"x\"\n", "is not valid"),
        (
            "[[pattern]]\nid=\"x\"\nentity=\"NOPE\"\ndescription=\"\"\nregex='a'\nscore=0.5\n",
            "unknown entity",
        ),
        (
            "[[pattern]]\nid=\"x\"\nentity=\"SSN\"\ndescription=\"\"\nregex='a+'\nscore=0.5\n",
            "unbounded",
        ),
        (
            "[[pattern]]\nid=\"x\"\nentity=\"SSN\"\ndescription=\"\"\nregex='a?'\nscore=0.5\n",
            "empty string",
        ),
        (
            "[[pattern]]\nid=\"x\"\nentity=\"SSN\"\ndescription=\"\"\nregex='a('\nscore=0.5\n",
            "regex of pattern",
        ),
        (
            "[[pattern]]\nid=\"x\"\nentity=\"SSN\"\ndescription=\"\"\nregex='a'\nscore=1.5\n",
            "between 0 and 1",
        ),
        (
            "[[pattern]]\nid=\"x\"\nentity=\"SSN\"\ndescription=\"\"\nregex='a'\nscore=0.5\nvalidator=\"zzz\"\n",
            "unknown validator",
        ),
        (
            "[[pattern]]\nid=\"email\"\nentity=\"SSN\"\ndescription=\"\"\nregex='a'\nscore=0.5\n",
            "defined twice",
        ),
    ];
    for (toml, want) in cases {
        let err = Scanner::builder()
            .patterns_toml("user.toml", toml)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(want), "{toml:?}: {err}");
    }
    assert!(parse_file("empty.toml", "").unwrap().patterns.is_empty());
}

/// Pieces of text that exercise every tier of the search: digits, names,
/// keywords, ignores, inner literals, prefixed secrets.
const PIECES: &[&str] = &[
    "SSN 219-09-9999 ",
    "Dr. Alice Moreno ",
    "call (415) 555-2671",
    "DOB: 03/14/1957\n",
    "2024-03-14T10:22:01Z INFO ",
    "03/14/2024 10:22:01 AM started\n",
    "Mar  4 10:22:31 host sshd[12]: x\n",
    "https://portal.example.org/p?ssn=219-09-9999 ",
    "postgres://app:s3cr3tPass@db:5432/x ",
    "NPI 1234567893 ",
    "order 1234567893 ",
    "jo.smith@example.net",
    "4111 1111 1111 1111 ",
    "ip 10.0.4.17 fe80::1:2:3:4 ",
    "José García ",
    "routing 021000021",
    "token=ghp_abcdefghijklmnopqrstuvwxyz0123456789 ",
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl ",
    "(01)00884838046648(21)SN1234 ",
    "MRN 00482913",
    "\u{1F4DE}",
    "\n",
    "   ",
];

fn forced(scanner: &Scanner, hay: &[u8], dense: Option<bool>) -> Vec<Finding> {
    super::search::FORCE_DENSE.set(dense);
    let found = scanner.scan(hay);
    super::search::FORCE_DENSE.set(None);
    found
}

proptest::proptest! {
    #[test]
    fn dense_and_sparse_search_agree(
        picks in proptest::collection::vec(
            (0..PIECES.len(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3)),
            0..60,
        )
    ) {
        let mut hay = Vec::new();
        for (i, noise) in picks {
            hay.extend_from_slice(PIECES[i].as_bytes());
            hay.extend_from_slice(&noise);
        }
        let scanner = Scanner::new();
        let sparse = forced(&scanner, &hay, Some(false));
        let dense = forced(&scanner, &hay, Some(true));
        proptest::prop_assert_eq!(&sparse, &dense);
    }
}

#[test]
fn mode_switches_do_not_change_findings() {
    // Long stretches of sparse log and dense PHI, so the search changes
    // mode several times within one scan.
    let mut hay = Vec::new();
    for round in 0..6 {
        for i in 0..400 {
            hay.extend_from_slice(
                format!(
                    "2024-03-14T10:22:{:02}Z INFO health ok {round}\n",
                    i % 60
                )
                .as_bytes(),
            );
        }
        for i in 0..400 {
            hay.extend_from_slice(
                PIECES[(i * 7 + round) % PIECES.len()].as_bytes(),
            );
        }
    }
    let scanner = Scanner::new();
    let adaptive = forced(&scanner, &hay, None);
    assert_eq!(adaptive, forced(&scanner, &hay, Some(false)));
    assert_eq!(adaptive, forced(&scanner, &hay, Some(true)));
    assert!(adaptive.len() > 1000, "{} findings", adaptive.len());
}

#[test]
fn hl7_examples_are_found() {
    let scanner = Scanner::new();
    let mut rules = 0;
    for (i, p) in scanner.patterns().iter().enumerate() {
        if p.hl7.is_none() && p.dicom.is_none() {
            continue;
        }
        rules += 1;
        assert!(!p.examples.is_empty(), "{} has no example", p.id);
        for ex in &p.examples {
            let (text, span) = marked(ex);
            let found = scanner.scan(text.as_bytes());
            // Found by the rule, or by a pattern of its entity that won
            // the overlap (an e-mail address).
            assert!(
                found.iter().any(|f| {
                    f.range() == span
                        && (f.pattern().as_usize() == i
                            || f.entity() == p.entity)
                }),
                "{}: {ex:?} gave {:?}",
                p.id,
                found
                    .iter()
                    .map(|f| (
                        scanner.pattern(f.pattern()).id(),
                        &text[f.range()]
                    ))
                    .collect::<Vec<_>>()
            );
        }
    }
    assert!(rules >= 20, "{rules} HL7 and DICOM rules");
}

#[test]
fn hl7_segments_are_read_in_every_framing() {
    let scanner = Scanner::new();
    let pid = "PID|1||R4420187^^^MRN||MORALES^DIANA^K||19580913|F";
    for text in [
        format!("MSH|^~\\&|A|B\r{pid}\r"),
        format!("MSH|^~\\&|A|B\n{pid}\n"),
        format!("INFO msg=MSH|^~\\&|A|B\\r{pid}\\rPV1|1"),
        format!("x MSH|^~\\&|A<CR>{pid}<CR>PV1|1"),
        format!(r#"{{"raw":"MSH|^~\\&|A\r{pid}\rPV1|1"}}"#),
        format!("MSH|^~\\&|A\\x0d{pid}\\x0dEVN|A"),
    ] {
        let found: Vec<_> = scanner
            .scan(text.as_bytes())
            .iter()
            .map(|f| (f.entity(), text[f.range()].to_string()))
            .collect();
        for (e, v) in [
            (Entity::Mrn, "R4420187"),
            (Entity::Person, "MORALES^DIANA^K"),
            (Entity::Date, "19580913"),
        ] {
            assert!(
                found.contains(&(e, v.to_string())),
                "{text:?}: {found:?}"
            );
        }
    }
    // A pipe-separated log line is not a segment.
    assert!(
        scanner
            .scan(b"user=ABC|action=VIEW|PID|1|2")
            .iter()
            .all(|f| scanner.pattern(f.pattern()).hl7.is_none())
    );
}

#[test]
fn a_create_table_whose_last_paren_comes_first_never_panics() {
    // Found by the `tables` fuzz target: the last `)` before the first
    // `(` sliced the statement backwards.
    let s = Scanner::new();
    for dialect in [DumpDialect::Mysql, DumpDialect::Postgres] {
        for text in [
            &b"CREATE TABLE x ') (;\n"[..],
            b"CREATE TABLE t) (a int;\nINSERT INTO t VALUES (1);\n",
            b"CREATE TABLE\0|m ee u Quixote\t1 ') ,(2,\n;\n",
        ] {
            let mut rows = s.scan_dump(text, dialect);
            while let Some(Ok(_)) = rows.next_row() {}
        }
    }
}

#[test]
fn an_empty_dicom_value_gives_no_empty_finding() {
    // Found by the `scan_text` fuzz target with the text dictionary: a
    // person name element with nothing between its brackets made a
    // finding of zero bytes.
    let s = Scanner::new();
    for text in [&b"2(0010,0010) PN []10"[..], b"(0010,0010) PN []\n"] {
        let found = s.scan(text);
        assert!(found.iter().all(|f| f.start() < f.end()), "{found:?}");
    }
    let text = b"(0010,0010) PN [PARK^HELEN]    #  10, 1 PatientName\n";
    let found = s.scan(text);
    let names: Vec<_> = found
        .iter()
        .filter(|f| f.entity() == Entity::Person)
        .map(|f| &text[f.range()])
        .collect();
    assert_eq!(names, [&b"PARK^HELEN"[..]], "{found:?}");
}

#[test]
fn redaction_tags_are_no_context_words() {
    // Redacted text scanned again: `[DATE]` is phisafe's tag, not a cue
    // for the compact date beside it; the word itself still is.
    let s = Scanner::new();
    let dates = |text: &[u8]| -> Vec<Entity> {
        s.scan(text).iter().map(|f| f.entity()).collect()
    };
    assert_eq!(dates(b"2K||19580913|F|||[DATE]T10:22:01Z INFO x"), []);
    assert_eq!(dates(b"2K||19580913|F|||[DATE:9f86d081] x"), []);
    assert_eq!(dates(b"date 19580913"), [Entity::Date]);
    assert_eq!(dates(b"[Date] 19580913"), [Entity::Date]);
}

#[test]
fn redacting_segments_on_one_line_is_idempotent() {
    // Found by the `redact_roundtrip` fuzz target: the space before the
    // second `PID|` was redacted with the first segment's last field, so
    // a second pass read one segment and found its PID-3.
    let r = crate::Redactor::new(Scanner::new());
    let text = "x PID|10187^A|1oLiMaa PID|10187^A|K20931175";
    let once = r.redact(text.as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&once),
        "x PID|10187^A|[MRN] PID|10187^A|[MRN]"
    );
    assert_eq!(r.redact(&once), once);
}

#[test]
fn hl7_components_keep_their_positions_when_redacted() {
    // Replacing `4410 HARPER LN^APT 2` whole moved the city into the
    // street's place and the ZIP into the state's: a second pass read
    // them as other components. Each component is replaced on its own.
    let r = crate::Redactor::new(Scanner::new());
    let text = "MSH|^~\\&|A|B\rPID|1||R4420187^^^MRN||MORALES^DIANA^K||\
                19580913|F|||4410 HARPER LN^APT 2^SPRING^TX^78701\r";
    let once = r.redact(text.as_bytes());
    let got = String::from_utf8_lossy(&once);
    assert!(got.contains("||[PERSON]^[PERSON]^[PERSON]||"), "{got}");
    assert!(got.ends_with("^TX^[ZIP_CODE]\r"), "{got}");
    assert_eq!(r.redact(&once), once);
}

#[test]
fn a_dicom_line_cut_before_its_quote_and_a_long_key_do_not_panic() {
    // Found by the `scan_text` fuzz target: a pydicom line longer than an
    // element, cut right before its opening quote, read past its end.
    let s = Scanner::new();
    let mut text = b"(0010,0010) ".to_vec();
    text.extend(std::iter::repeat_n(b'x', 506));
    text.extend_from_slice(b"PN: \"PARK^HELEN\"\n");
    let found = s.scan(&text);
    assert!(found.iter().all(|f| f.end() <= text.len()), "{found:?}");
    // Found by `stream_equals_whole` (its input, less the chunk-size
    // byte): a generic key starting before the reach the label search
    // began at sliced backwards.
    let text = include_bytes!("testdata/kv-key-before-reach.txt");
    let found = s.scan(text);
    assert!(found.iter().all(|f| f.end() <= text.len()), "{found:?}");
}
