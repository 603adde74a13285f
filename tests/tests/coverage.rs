//! Structure never hides text: every finding of a text-mode scan of a
//! structured document is covered by its structured reading, unless a
//! named rule says why the structured reading drops it on purpose, and
//! nothing covered survives `redact` (the rules: `phisafe_tests::coverage`).

use phisafe::{Redactor, Scanner};
use phisafe_tests::coverage::{check, check_with, csv_column};
use phisafe_tests::load;

#[test]
fn structure_never_hides_text_on_the_corpus() {
    let corpus = load(1500);
    let scanner = Scanner::new();
    let redactor = Redactor::new(scanner.clone());
    let mut failures = Vec::new();
    let mut structured = 0;
    for doc in corpus.iter().filter(|d| d.format != "text") {
        structured += 1;
        check(&scanner, &redactor, doc, &mut failures);
    }
    assert!(structured >= 200, "{structured} structured documents");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}

mod generated {
    use super::*;
    use phisafe_tests::Doc;
    use phisafe_tests::coverage::{NAMES, VALUES, csv_doc, json_doc, sql_doc};
    use proptest::prelude::*;

    fn cell() -> impl Strategy<Value = String> {
        prop::sample::select(VALUES).prop_map(str::to_string)
    }

    fn table() -> impl Strategy<Value = (Vec<&'static str>, Vec<Vec<String>>)>
    {
        (2usize..6).prop_flat_map(|w| {
            (
                prop::sample::subsequence(NAMES, w),
                prop::collection::vec(prop::collection::vec(cell(), w), 1..8),
            )
        })
    }

    /// A delimited export in one of four delimiters.
    fn csv() -> impl Strategy<Value = (Doc, Vec<&'static str>, u8)> {
        (
            table(),
            prop::sample::select(&[b',', b';', b'\t', b'|'][..]),
            any::<bool>(),
            prop::option::of(cell()),
        )
            .prop_map(|((names, rows), delim, header, preamble)| {
                let d =
                    csv_doc(&names, &rows, delim, header, preamble.as_deref());
                (d, names, delim)
            })
    }

    fn json() -> impl Strategy<Value = Doc> {
        (table(), any::<bool>())
            .prop_map(|((names, rows), lines)| json_doc(&names, &rows, lines))
    }

    fn sql() -> impl Strategy<Value = Doc> {
        (table(), cell(), cell()).prop_map(
            |((names, rows), comment, stray)| {
                sql_doc(&names, &rows, &comment, &stray)
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn structure_never_hides_text_on_generated_input(
            (doc, names, delim) in prop_oneof![
                csv(),
                json().prop_map(|d| (d, Vec::new(), b',')),
                sql().prop_map(|d| (d, Vec::new(), b',')),
            ],
        ) {
            let scanner = Scanner::new();
            let redactor = Redactor::new(scanner.clone());
            let mut failures = Vec::new();
            // A CSV value's column: by its place in its line.
            let text = doc.text.clone();
            let column = |at| csv_column(&text, &names, delim, at);
            check_with(&scanner, &redactor, &doc, &column, &mut failures);
            prop_assert!(failures.is_empty(), "{}\n{}", failures.join("\n"), doc.text);
        }
    }
}
