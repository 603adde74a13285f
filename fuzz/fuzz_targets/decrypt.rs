//! Decryption of arbitrary bytes, and of a valid envelope with one byte
//! changed (position and mask from the input), is refused: never a
//! panic, never plaintext.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use phisafe::audit::{AuditError, AuditEvent, AuditSink};
use phisafe::crypto::{
    Context, FieldCipher, LocalKek, MemoryKeyStore, Policy, Scope,
};

/// Millions of runs would fill a memory sink; the records are not what
/// this target checks.
struct Discard;

impl AuditSink for Discard {
    fn append(&self, _: &AuditEvent<'_>) -> Result<(), AuditError> {
        Ok(())
    }
}

struct Fixture {
    cipher: FieldCipher,
    scope: Scope,
    sealed: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let cipher = FieldCipher::builder(
            Arc::new(LocalKek::from_bytes([7; 32])),
            Arc::new(MemoryKeyStore::new()),
        )
        .policy(Policy::allow_all())
        .build(Arc::new(Discard))
        .expect("cipher");
        let scope = Scope::new("patients.ssn").expect("scope");
        let sealed = cipher
            .encrypt_phi(&Context::new(&scope, "row-1"), b"219-09-9999")
            .expect("seal");
        Fixture { cipher, scope, sealed }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let ctx = Context::new(&f.scope, "row-1");
    if data != f.sealed.as_slice() {
        assert!(
            f.cipher.decrypt_phi(&ctx, data).is_err(),
            "arbitrary bytes opened"
        );
    }
    if let [at, mask, ..] = data
        && *mask != 0
    {
        let mut changed = f.sealed.clone();
        let i = usize::from(*at) % changed.len();
        changed[i] ^= mask;
        assert!(
            f.cipher.decrypt_phi(&ctx, &changed).is_err(),
            "a changed envelope opened"
        );
    }
});
