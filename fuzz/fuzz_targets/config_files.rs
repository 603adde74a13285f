//! The files phisafe reads its configuration from, as arbitrary bytes:
//! an access policy (TOML), a pattern file (TOML) and a keyring (JSON).
//! Each gives a value or a typed error, never a panic. A pattern file
//! that builds gives a scanner that scans. The first byte picks the file.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phisafe::Scanner;
use phisafe::crypto::{FileKeyStore, KeyStore, Policy};

/// A keyring path of this process's own.
fn keyring() -> &'static std::path::Path {
    static P: OnceLock<std::path::PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        std::env::temp_dir()
            .join(format!("phisafe-fuzz-keyring-{}.json", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else { return };
    match which % 3 {
        0 => {
            let Ok(text) = std::str::from_utf8(bytes) else { return };
            let _ = Policy::from_toml(text);
        }
        1 => {
            let Ok(text) = std::str::from_utf8(bytes) else { return };
            if let Ok(s) =
                Scanner::builder().patterns_toml("fuzz.toml", text).build()
            {
                let hay = b"Maria Lopez SSN 219-09-9999 DOB 1957-06-14";
                for f in s.scan(hay) {
                    assert!(f.start() < f.end() && f.end() <= hay.len());
                }
            }
        }
        _ => {
            std::fs::write(keyring(), bytes).unwrap();
            let store = FileKeyStore::new(keyring());
            if let Ok(ring) = store.load() {
                let _ = ring.validate();
            }
        }
    }
});
