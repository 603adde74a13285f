//! Differential: `scan_reader` in chunks of any size (drawn from the
//! input) finds exactly what `scan` finds in the whole buffer.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phisafe::Scanner;

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(Scanner::new)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, text)) = data.split_first() else { return };
    let chunk = usize::from(first) + 1;
    let s = scanner();
    let whole = s.scan(text);
    let streamed: Vec<_> =
        phisafe::scan::ReaderScan::with_chunk(s, text, chunk)
            .map(|f| f.expect("reading a slice cannot fail"))
            .collect();
    let key =
        |f: &phisafe::Finding| (f.start(), f.end(), f.entity(), f.pattern());
    assert_eq!(
        whole.iter().map(key).collect::<Vec<_>>(),
        streamed.iter().map(key).collect::<Vec<_>>(),
        "chunk size {chunk}"
    );
});
