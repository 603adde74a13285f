//! Structure never hides text, on documents the fuzzer shapes: CSV in
//! four delimiters with and without a header and preamble, JSON arrays
//! and JSON lines, and PostgreSQL scripts (COPY, INSERT, psql output),
//! their names and cells chosen from telling and untelling vocabularies. Every text-mode finding is covered by the
//! auto-detected structured reading or explained by a named rule
//! (`phisafe_tests::coverage`), and nothing covered survives `redact`.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use phisafe::{Redactor, Scanner};
use phisafe_tests::Doc;
use phisafe_tests::coverage::{
    NAMES, VALUES, check_with, csv_column, csv_doc, json_doc, sql_doc,
};

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| Redactor::new(Scanner::new()))
}

/// A cell: a value of the vocabulary, alone or two of them in a phrase.
/// (Free text makes text-mode readings of junk, `U55555a 5` as an
/// address, whose disagreement with a column's reading is a matter of
/// judgement, not a leak.)
fn cell(u: &mut Unstructured<'_>) -> Result<String> {
    let value = u.choose(VALUES)?.to_string();
    if u.ratio(3, 4)? {
        return Ok(value);
    }
    let glue = u.choose(&[" ", ", ", " and ", ": ", " / "])?;
    Ok(format!("{value}{glue}{}", u.choose(VALUES)?))
}

fn document(u: &mut Unstructured<'_>) -> Result<(Doc, Vec<&'static str>, u8)> {
    let width = u.int_in_range(2..=5)?;
    let mut names: Vec<&'static str> = Vec::with_capacity(width);
    for _ in 0..width {
        let name = u.choose(NAMES)?;
        if !names.contains(name) {
            names.push(name);
        }
    }
    let rows: Vec<Vec<String>> = (0..u.int_in_range(1..=7)?)
        .map(|_| (0..names.len()).map(|_| cell(u)).collect())
        .collect::<Result<_>>()?;
    Ok(match u.int_in_range(0..=3)? {
        0 => {
            let delim = *u.choose(&[b',', b';', b'\t', b'|'])?;
            let header = u.arbitrary()?;
            let preamble = if u.arbitrary()? { Some(cell(u)?) } else { None };
            let d = csv_doc(&names, &rows, delim, header, preamble.as_deref());
            (d, names, delim)
        }
        1 => (json_doc(&names, &rows, false), Vec::new(), b','),
        2 => (json_doc(&names, &rows, true), Vec::new(), b','),
        _ => {
            let (comment, stray) = (cell(u)?, cell(u)?);
            (sql_doc(&names, &rows, &comment, &stray), Vec::new(), b',')
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((doc, names, delim)) = document(&mut u) else { return };
    let redactor = redactor();
    let mut failures = Vec::new();
    // A CSV value's column: by its place in its line.
    let column = |at| csv_column(&doc.text, &names, delim, at);
    check_with(redactor.scanner(), redactor, &doc, &column, &mut failures);
    assert!(failures.is_empty(), "{}\n{}", failures.join("\n"), doc.text);
});
