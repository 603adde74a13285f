//! The JSON walker on arbitrary bytes: findings or a typed error, never a
//! panic; findings lie within the input.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phisafe::Scanner;

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(Scanner::new)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(found) = scanner().scan_json(data) {
        for f in &found {
            let f = f.finding();
            assert!(f.start() <= f.end() && f.end() <= data.len());
        }
    }
});
