//! `Scanner::scan` on arbitrary bytes: no panic, and every finding lies
//! within the input, in start order.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phisafe::Scanner;

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(Scanner::new)
}

fuzz_target!(|data: &[u8]| {
    let found = scanner().scan(data);
    let mut last_start = 0;
    for f in &found {
        assert!(f.start() < f.end(), "empty finding {f:?}");
        assert!(f.end() <= data.len(), "finding past the input {f:?}");
        assert!(f.start() >= last_start, "findings out of order");
        last_start = f.start();
    }
});
