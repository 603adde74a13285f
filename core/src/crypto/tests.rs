//! FieldCipher behaviour: round trips, binding, tampering, policy, audit,
//! rotation, destruction, rewrap, and the golden vectors.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use proptest::prelude::*;
use serde::Deserialize;

use super::cipher::seal_with_nonce;
use super::hot;
use super::store::{legacy_wrap_aad, wrap_aad};
use super::xaes::{Xaes, split_nonce};
use super::*;
use crate::audit::{AuditError, AuditEvent, AuditKey, AuditSink, MemorySink};

struct Fixture {
    cipher: FieldCipher,
    /// Key management on the same keyring, policy and sink.
    admin: KeyAdmin,
    sink: Arc<MemorySink>,
    store: Arc<MemoryKeyStore>,
}

fn fixture_with(policy: Policy) -> Fixture {
    let sink = Arc::new(MemorySink::new());
    let store = Arc::new(MemoryKeyStore::new());
    let builder = || {
        FieldCipher::builder(
            Arc::new(LocalKek::from_bytes([7; 32])),
            store.clone(),
        )
        .policy(policy.clone())
    };
    let cipher = builder().build(sink.clone()).unwrap();
    let admin = builder().build_admin(sink.clone()).unwrap();
    Fixture { cipher, admin, sink, store }
}

fn fixture() -> Fixture {
    fixture_with(Policy::allow_all())
}

fn scope() -> Scope {
    Scope::new("patients.ssn").unwrap()
}

#[test]
fn round_trip_binary_and_text() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "row-1")
        .actor("svc")
        .role("app")
        .purpose("treatment");
    let sealed = f.cipher.encrypt_phi(&ctx, b"219-09-9999").unwrap();
    assert_eq!(sealed.len(), 11 + OVERHEAD);
    const { assert!(OVERHEAD < 64) };
    assert_eq!(
        &f.cipher.decrypt_phi(&ctx, &sealed).unwrap()[..],
        b"219-09-9999"
    );
    let text = f.cipher.encrypt_phi_text(&ctx, b"219-09-9999").unwrap();
    assert!(text.starts_with("psf:"));
    assert!(is_envelope(text.as_bytes()) && is_envelope(&sealed));
    assert!(!is_envelope(b"219-09-9999"));
    assert_eq!(
        &f.cipher.decrypt_phi(&ctx, text.as_bytes()).unwrap()[..],
        b"219-09-9999"
    );
    // Two seals of one value differ (random nonces).
    assert_ne!(
        f.cipher.encrypt_phi(&ctx, b"x").unwrap(),
        f.cipher.encrypt_phi(&ctx, b"x").unwrap()
    );
}

fn nonce_of(envelope: &[u8]) -> Vec<u8> {
    envelope[HEADER_LEN..HEADER_LEN + 24].to_vec()
}

#[test]
fn a_thread_reuses_its_nonce_prefix_until_the_key_changes() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r");
    let a = nonce_of(&f.cipher.encrypt_phi(&ctx, b"x").unwrap());
    let b = nonce_of(&f.cipher.encrypt_phi(&ctx, b"x").unwrap());
    assert_eq!(a[..12], b[..12]);
    assert_ne!(a[12..], b[12..]);
    // Another thread draws its own prefix.
    let cipher = f.cipher.clone();
    let theirs = std::thread::spawn(move || {
        let s = scope();
        nonce_of(&cipher.encrypt_phi(&Context::new(&s, "r"), b"x").unwrap())
    })
    .join()
    .unwrap();
    assert_ne!(a[..12], theirs[..12]);
    f.admin.rotate(&ctx).unwrap();
    let c = nonce_of(&f.cipher.encrypt_phi(&ctx, b"x").unwrap());
    assert_ne!(a[..12], c[..12], "a new key version draws a new prefix");
}

#[test]
fn columns_and_ciphers_used_in_turn_keep_their_prefixes() {
    // A row's columns are encrypted one after another: each scope keeps
    // its derived key instead of deriving again at every switch.
    let f = fixture();
    let other = fixture();
    let names: Vec<Scope> = ["p.ssn", "p.name", "p.dob"]
        .iter()
        .map(|n| Scope::new(n).unwrap())
        .collect();
    let prefixes = |rounds: usize| -> Vec<Vec<Vec<u8>>> {
        let mut seen = vec![Vec::new(); names.len() + 1];
        for _ in 0..rounds {
            for (i, s) in names.iter().enumerate() {
                let ctx = Context::new(s, "r");
                let env = f.cipher.encrypt_phi(&ctx, b"v").unwrap();
                assert_eq!(
                    &f.cipher.decrypt_phi(&ctx, &env).unwrap()[..],
                    b"v"
                );
                seen[i].push(nonce_of(&env)[..12].to_vec());
            }
            let ctx = Context::new(&names[0], "r");
            let env = other.cipher.encrypt_phi(&ctx, b"v").unwrap();
            seen[names.len()].push(nonce_of(&env)[..12].to_vec());
        }
        seen
    };
    // Creating the keys changes the keyring (a new generation): warm up.
    prefixes(1);
    for per_key in prefixes(5) {
        assert!(per_key.windows(2).all(|w| w[0] == w[1]), "prefix changed");
    }
    // More keys than a thread keeps: still correct, prefixes are redrawn.
    let many: Vec<Scope> =
        (0..9).map(|i| Scope::new(&format!("t.c{i}")).unwrap()).collect();
    for _ in 0..3 {
        for s in &many {
            let ctx = Context::new(s, "r");
            let env = f.cipher.encrypt_phi(&ctx, b"w").unwrap();
            assert_eq!(&f.cipher.decrypt_phi(&ctx, &env).unwrap()[..], b"w");
        }
    }
}

#[test]
fn binding_to_scope_tenant_row_and_version() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "row-1");
    let sealed = f.cipher.encrypt_phi(&ctx, b"value").unwrap();
    let wrong_row = Context::new(&s, "row-2");
    assert!(matches!(
        f.cipher.decrypt_phi(&wrong_row, &sealed),
        Err(CryptoError::Decrypt)
    ));
    let other = Scope::new("patients.phone").unwrap();
    // The other scope has no key version 1 yet, then a different key.
    let err = f
        .cipher
        .decrypt_phi(&Context::new(&other, "row-1"), &sealed)
        .unwrap_err();
    assert!(
        matches!(err, CryptoError::UnknownKey { version: 1, .. }),
        "{err}"
    );
    f.cipher.encrypt_phi(&Context::new(&other, "row-1"), b"x").unwrap();
    let err = f
        .cipher
        .decrypt_phi(&Context::new(&other, "row-1"), &sealed)
        .unwrap_err();
    assert!(matches!(err, CryptoError::Decrypt));
    let tenant = Scope::with_tenant("patients.ssn", "acme").unwrap();
    assert!(
        f.cipher
            .decrypt_phi(&Context::new(&tenant, "row-1"), &sealed)
            .is_err()
    );
    // Rewriting the key version in the header is caught too.
    f.admin.rotate(&ctx).unwrap();
    let mut moved = sealed.clone();
    moved[6] = 2;
    assert!(matches!(
        f.cipher.decrypt_phi(&ctx, &moved),
        Err(CryptoError::Decrypt)
    ));
    assert_eq!(&f.cipher.decrypt_phi(&ctx, &sealed).unwrap()[..], b"value");
}

#[test]
fn every_single_bit_flip_fails() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "row-1");
    let sealed = f.cipher.encrypt_phi(&ctx, b"a short value").unwrap();
    for i in 0..sealed.len() * 8 {
        let mut bad = sealed.clone();
        bad[i / 8] ^= 1 << (i % 8);
        assert!(
            f.cipher.decrypt_phi(&ctx, &bad).is_err(),
            "bit {i} flipped still decrypted"
        );
    }
    // Truncation anywhere fails as well.
    for n in 0..sealed.len() {
        assert!(f.cipher.decrypt_phi(&ctx, &sealed[..n]).is_err());
    }
}

#[test]
fn malformed_is_descriptive_and_decrypt_failure_is_opaque() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r");
    let sealed = f.cipher.encrypt_phi(&ctx, b"v").unwrap();
    let mut v2 = sealed.clone();
    v2[1] = 2;
    let e = f.cipher.decrypt_phi(&ctx, &v2).unwrap_err();
    assert!(
        matches!(e, CryptoError::Malformed(Malformed::UnknownVersion(2))),
        "{e}"
    );
    let e = f.cipher.decrypt_phi(&ctx, &sealed[..20]).unwrap_err();
    assert!(matches!(e, CryptoError::Malformed(Malformed::Truncated)));
    let e = f.cipher.decrypt_phi(&ctx, b"psf:!!!").unwrap_err();
    assert!(matches!(e, CryptoError::Malformed(Malformed::BadText)));
    let mut tampered = sealed.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let e = f.cipher.decrypt_phi(&ctx, &tampered).unwrap_err();
    assert_eq!(
        e.to_string(),
        "decryption failed: wrong key, wrong scope or row, or the value was altered"
    );
}

#[test]
fn policy_denial_is_refused_and_audited() {
    let policy = Policy::from_toml(
        r#"
        [[allow]]
        roles = ["intake"]
        scopes = ["patients.*"]
        actions = ["encrypt"]
        purposes = ["*"]
        "#,
    )
    .unwrap();
    let f = fixture_with(policy);
    let s = scope();
    let ctx = Context::new(&s, "r1")
        .actor("svc")
        .role("intake")
        .purpose("registration");
    let sealed = f.cipher.encrypt_phi(&ctx, b"219-09-9999").unwrap();
    let err = f.cipher.decrypt_phi(&ctx, &sealed).unwrap_err();
    assert!(matches!(err, CryptoError::Denied(_)), "{err}");
    let records = f.sink.records();
    let last = records.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.outcome.as_str()),
        ("decrypt", "denied")
    );
    assert_eq!(last.error.as_deref(), Some("policy"));
    assert_eq!(last.row.as_deref(), Some("r1"));
    assert_eq!(last.actor, "svc");
    // A role the policy does not name cannot encrypt either.
    let other = ctx.role("marketing");
    assert!(matches!(
        f.cipher.encrypt_phi(&other, b"x"),
        Err(CryptoError::Denied(_))
    ));
}

struct FailingSink;

impl AuditSink for FailingSink {
    fn append(&self, _: &AuditEvent<'_>) -> Result<(), AuditError> {
        Err(AuditError::Io(std::io::Error::other("disk full")))
    }
}

#[test]
fn fails_closed_when_the_audit_sink_fails() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r");
    let sealed = f.cipher.encrypt_phi(&ctx, b"secret value").unwrap();
    let broken = FieldCipher::builder(
        Arc::new(LocalKek::from_bytes([7; 32])),
        f.store.clone(),
    )
    .policy(Policy::allow_all())
    .build(Arc::new(FailingSink))
    .unwrap();
    let err = broken.decrypt_phi(&ctx, &sealed).unwrap_err();
    assert!(matches!(err, CryptoError::Audit(_)), "{err}");
    assert!(broken.encrypt_phi(&ctx, b"x").is_err());
    let items: [(&str, &[u8]); 1] = [("r", &sealed)];
    assert!(broken.decrypt_many(&ctx, &items).is_err());
}

#[test]
fn rotation_reencrypt_and_destroy() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r").actor("admin");
    let v1 = f.cipher.encrypt_phi(&ctx, b"old value").unwrap();
    assert_eq!(Envelope::parse(&v1).unwrap().key_version(), 1);
    assert_eq!(f.admin.rotate(&ctx).unwrap(), 2);
    let v2 = f.cipher.encrypt_phi(&ctx, b"new value").unwrap();
    assert_eq!(Envelope::parse(&v2).unwrap().key_version(), 2);
    assert_eq!(&f.cipher.decrypt_phi(&ctx, &v1).unwrap()[..], b"old value");
    let moved = f.cipher.reencrypt(&ctx, &v1).unwrap().unwrap();
    assert_eq!(Envelope::parse(&moved).unwrap().key_version(), 2);
    assert_eq!(&f.cipher.decrypt_phi(&ctx, &moved).unwrap()[..], b"old value");
    assert!(f.cipher.reencrypt(&ctx, &v2).unwrap().is_none());

    let ring = f.cipher.keyring().unwrap();
    assert_eq!(
        ring.get("patients.ssn", KeyPurpose::Encrypt, 1).unwrap().state,
        KeyState::DecryptOnly
    );
    assert_eq!(
        ring.active("patients.ssn", KeyPurpose::Encrypt).unwrap().version,
        2
    );

    let err = f.admin.destroy(&ctx, 1, "yes").unwrap_err();
    assert!(err.to_string().contains("destroy patients.ssn v1"), "{err}");
    assert_eq!(&f.cipher.decrypt_phi(&ctx, &v1).unwrap()[..], b"old value");
    f.admin.destroy(&ctx, 1, "destroy patients.ssn v1").unwrap();
    let err = f.cipher.decrypt_phi(&ctx, &v1).unwrap_err();
    assert!(
        matches!(err, CryptoError::KeyDestroyed { version: 1, .. }),
        "{err}"
    );
    assert!(
        f.cipher
            .keyring()
            .unwrap()
            .get("patients.ssn", KeyPurpose::Encrypt, 1)
            .unwrap()
            .wrapped
            .is_empty()
    );
    assert_eq!(&f.cipher.decrypt_phi(&ctx, &moved).unwrap()[..], b"old value");
    let actions: Vec<String> =
        f.sink.records().iter().map(|r| r.action.clone()).collect();
    assert!(actions.contains(&"key_rotate".to_string()));
    assert!(actions.contains(&"key_destroy".to_string()));
    assert!(actions.contains(&"reencrypt".to_string()));
}

/// A cipher over `f`'s keyring with caches of its own.
fn fresh_cipher(f: &Fixture) -> FieldCipher {
    FieldCipher::builder(
        Arc::new(LocalKek::from_bytes([7; 32])),
        f.store.clone(),
    )
    .policy(Policy::allow_all())
    .build(f.sink.clone())
    .unwrap()
}

fn set_states(f: &Fixture, states: &[(u32, KeyState)]) {
    f.store
        .update(&mut |ring| {
            for &(version, state) in states {
                ring.get_mut("patients.ssn", KeyPurpose::Encrypt, version)
                    .unwrap()
                    .state = state;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_key_state_changed_in_the_store_does_not_unwrap() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r");
    let v1 = f.cipher.encrypt_phi(&ctx, b"old value").unwrap();
    f.admin.rotate(&ctx).unwrap();
    let v2 = f.cipher.encrypt_phi(&ctx, b"new value").unwrap();
    // Whoever can write the keyring makes the retired version active
    // again: encryption must not go back to it.
    set_states(&f, &[(1, KeyState::Active), (2, KeyState::DecryptOnly)]);
    let c = fresh_cipher(&f);
    assert!(c.encrypt_phi(&ctx, b"x").is_err());
    assert!(c.decrypt_phi(&ctx, &v1).is_err());
    assert!(c.decrypt_phi(&ctx, &v2).is_err());
    // Put back, everything opens again.
    set_states(&f, &[(1, KeyState::DecryptOnly), (2, KeyState::Active)]);
    let c = fresh_cipher(&f);
    assert_eq!(&c.decrypt_phi(&ctx, &v1).unwrap()[..], b"old value");
    let v3 = c.encrypt_phi(&ctx, b"x").unwrap();
    assert_eq!(Envelope::parse(&v3).unwrap().key_version(), 2);
}

#[test]
fn entries_wrapped_before_states_were_bound_open_until_rotate_rewraps_them() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r");
    let v1 = f.cipher.encrypt_phi(&ctx, b"old value").unwrap();
    // Wrapped as format v1 did, without the state.
    let kek = LocalKek::from_bytes([7; 32]);
    f.store
        .update(&mut |ring| {
            let k =
                ring.get_mut("patients.ssn", KeyPurpose::Encrypt, 1).unwrap();
            let key = kek.unwrap(&k.kek_id, &k.wrapped, &k.wrap_aad())?;
            k.wrapped = kek.wrap(&key, &k.legacy_wrap_aad())?;
            Ok(())
        })
        .unwrap();
    let legacy = |f: &Fixture| {
        let ring = f.store.load().unwrap();
        let k =
            ring.get("patients.ssn", KeyPurpose::Encrypt, 1).unwrap().clone();
        kek.unwrap(&k.kek_id, &k.wrapped, &k.legacy_wrap_aad()).is_ok()
    };
    assert!(legacy(&f));
    let c = fresh_cipher(&f);
    assert_eq!(&c.decrypt_phi(&ctx, &v1).unwrap()[..], b"old value");
    // Rotation retires it with its new state bound in.
    f.admin.rotate(&ctx).unwrap();
    assert!(!legacy(&f));
    let c = fresh_cipher(&f);
    assert_eq!(&c.decrypt_phi(&ctx, &v1).unwrap()[..], b"old value");
    set_states(&f, &[(1, KeyState::Active), (2, KeyState::DecryptOnly)]);
    assert!(fresh_cipher(&f).encrypt_phi(&ctx, b"x").is_err());
}

/// Runs `work` on a thread that then waits, holding whatever it cached,
/// until the returned sender is dropped.
fn parked(
    work: impl FnOnce() + Send + 'static,
) -> std::sync::mpsc::SyncSender<()> {
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel(0);
    let (stop_tx, stop_rx) = std::sync::mpsc::sync_channel::<()>(0);
    std::thread::spawn(move || {
        work();
        done_tx.send(()).unwrap();
        let _ = stop_rx.recv();
    });
    done_rx.recv().unwrap();
    stop_tx
}

#[test]
fn a_destroyed_key_leaves_every_cipher_and_thread_at_once() {
    let f = fixture();
    // The scope of no other test: purges reach every cipher.
    let s = Scope::new("shred.parked").unwrap();
    let other = fresh_cipher(&f);
    let old = {
        let ctx = Context::new(&s, "r");
        let v = f.cipher.encrypt_phi(&ctx, b"old").unwrap();
        f.cipher
            .blind_index(
                &ctx,
                &IndexSpec::new("x", Normalizer::Exact, 32).unwrap(),
                "old",
            )
            .unwrap();
        v
    };
    // Another thread opens it through two ciphers, and then sits idle.
    let (a, b) = (f.cipher.clone(), other.clone());
    let sealed = old.clone();
    let idle = parked(move || {
        let s = Scope::new("shred.parked").unwrap();
        let ctx = Context::new(&s, "r");
        a.decrypt_phi(&ctx, &sealed).unwrap();
        b.decrypt_phi(&ctx, &sealed).unwrap();
    });
    let ids = [f.cipher.cache_id(), other.cache_id()];
    assert!(ids.iter().all(|&id| hot::held(id) >= 1));
    assert_eq!(other.cached_keys("shred.parked").0, 1);
    assert_eq!(f.cipher.cached_keys("shred.parked"), (1, true));
    let ctx = Context::new(&s, "r");
    f.admin.destroy(&ctx, 1, "destroy shred.parked v1").unwrap();
    // Gone from the idle thread and from both ciphers before any of them
    // is called again; the index key went with the scope.
    assert_eq!(ids.map(hot::held), [0, 0]);
    assert_eq!(other.cached_keys("shred.parked"), (0, false));
    assert_eq!(f.cipher.cached_keys("shred.parked"), (0, false));
    assert!(matches!(
        other.decrypt_phi(&ctx, &old),
        Err(CryptoError::KeyDestroyed { version: 1, .. })
    ));
    drop(idle);
}

#[test]
fn a_dropped_cipher_leaves_idle_threads() {
    let f = fixture();
    let c = fresh_cipher(&f);
    let id = c.cache_id();
    let idle = parked(move || {
        let s = Scope::new("drop.parked").unwrap();
        c.encrypt_phi(&Context::new(&s, "r"), b"v").unwrap();
    });
    // The thread holds the only copy of `c`'s key now, and `c` is gone.
    assert_eq!(hot::held(id), 0, "dropped with the cipher");
    let c = fresh_cipher(&f);
    let id = c.cache_id();
    let c2 = c.clone();
    let idle2 = parked(move || {
        c2.encrypt_phi(
            &Context::new(&Scope::new("drop.parked").unwrap(), "r"),
            b"v",
        )
        .unwrap();
    });
    assert_eq!(hot::held(id), 1, "a live clone keeps it");
    drop(c);
    assert_eq!(hot::held(id), 0);
    drop((idle, idle2));
}

#[test]
fn kek_rewrap_keeps_data_readable_under_the_new_kek_only() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r");
    let sealed = f.cipher.encrypt_phi(&ctx, b"value").unwrap();
    let new_kek = LocalKek::from_bytes([8; 32]);
    assert!(f.admin.rewrap(&ctx, &new_kek).unwrap() >= 1);
    assert_eq!(
        f.admin.rewrap(&ctx, &new_kek).unwrap(),
        0,
        "a second rewrap has nothing to do"
    );
    let sink = Arc::new(MemorySink::new());
    let fresh = FieldCipher::builder(Arc::new(new_kek), f.store.clone())
        .policy(Policy::allow_all())
        .build(sink)
        .unwrap();
    assert_eq!(&fresh.decrypt_phi(&ctx, &sealed).unwrap()[..], b"value");
    let stale = FieldCipher::builder(
        Arc::new(LocalKek::from_bytes([7; 32])),
        f.store.clone(),
    )
    .policy(Policy::allow_all())
    .build(Arc::new(MemorySink::new()))
    .unwrap();
    let err = stale.decrypt_phi(&ctx, &sealed).unwrap_err();
    assert!(
        matches!(err, CryptoError::Key(KeyError::WrongKek { .. })),
        "{err}"
    );
}

#[test]
fn batches_write_one_audit_record() {
    let f = fixture();
    let s = scope();
    let ctx =
        Context::new(&s, "").actor("batch").role("etl").purpose("migration");
    let values: Vec<(String, Vec<u8>)> = (0..100)
        .map(|i| (format!("row-{i}"), format!("value {i}").into_bytes()))
        .collect();
    let items: Vec<(&str, &[u8])> =
        values.iter().map(|(r, v)| (r.as_str(), v.as_slice())).collect();
    let before = f.sink.records().len();
    let sealed = f.cipher.encrypt_many(&ctx, &items).unwrap();
    // One derived key per batch: a shared nonce prefix, distinct suffixes.
    let nonces: std::collections::HashSet<&[u8]> =
        sealed.iter().map(|c| &c[HEADER_LEN..HEADER_LEN + 24]).collect();
    assert_eq!(nonces.len(), 100);
    assert!(sealed.iter().all(|c| c[7..19] == sealed[0][7..19]));
    let one =
        f.cipher.decrypt_phi(&ctx.with_row("row-5"), &sealed[5]).unwrap();
    assert_eq!(&one[..], b"value 5");
    let mut back: Vec<(&str, &[u8])> = values
        .iter()
        .zip(&sealed)
        .map(|((r, _), c)| (r.as_str(), c.as_slice()))
        .collect();
    let (c0, c1) = (back[0].1, back[1].1);
    (back[0].1, back[1].1) = (c1, c0); // rows 0 and 1 now carry each other's values
    let opened = f.cipher.decrypt_many(&ctx, &back).unwrap();
    assert!(opened[0].is_err() && opened[1].is_err());
    for (i, o) in opened.iter().enumerate().skip(2) {
        assert_eq!(&o.as_ref().unwrap()[..], format!("value {i}").as_bytes());
    }
    let records = f.sink.records();
    // key creation, the encrypt batch, one single decrypt, the decrypt batch
    assert_eq!(records.len() - before, 4);
    let last = records.last().unwrap();
    assert_eq!(
        (last.rows, last.error.as_deref()),
        (Some(100), Some("partial"))
    );
    assert_eq!(last.rows_sha256.as_ref().unwrap().len(), 64);
}

#[test]
fn blind_indexes_match_equal_values_and_use_their_own_key() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "");
    let spec = IndexSpec::new("ssn_digits", Normalizer::Digits, 32).unwrap();
    let a = f.cipher.blind_index(&ctx, &spec, "219-09-9999").unwrap();
    let b = f.cipher.blind_index(&ctx, &spec, "219 09 9999").unwrap();
    assert_eq!(a, b);
    assert_ne!(a, f.cipher.blind_index(&ctx, &spec, "219-09-9998").unwrap());
    let ring = f.cipher.keyring().unwrap();
    assert!(ring.active("patients.ssn", KeyPurpose::Index).is_some());
    let other = fixture();
    assert_ne!(
        a,
        other.cipher.blind_index(&ctx, &spec, "219-09-9999").unwrap(),
        "keyed per keyring"
    );
}

#[test]
fn batch_reencrypt_and_index_write_one_record_each() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "").actor("etl").purpose("migration");
    let rows = ["a", "b", "c"];
    let plain: [&[u8]; 3] = [b"1", b"2", b"3"];
    let items: Vec<(&str, &[u8])> =
        rows.iter().copied().zip(plain.iter().copied()).collect();
    let v1 = f.cipher.encrypt_many(&ctx, &items).unwrap();
    f.admin.rotate(&ctx).unwrap();
    let fresh = f.cipher.encrypt_phi(&ctx.with_row("c"), b"3").unwrap();
    let mut old: Vec<(&str, &[u8])> =
        rows.iter().copied().zip(v1.iter().map(|v| v.as_slice())).collect();
    old[2].1 = &fresh; // already on the active version
    old[1].0 = "elsewhere"; // not this row's value
    let before = f.sink.records().len();
    let moved = f.cipher.reencrypt_many(&ctx, &old).unwrap();
    let a = moved[0].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(Envelope::parse(a).unwrap().key_version(), 2);
    assert_eq!(
        &f.cipher.decrypt_phi(&ctx.with_row("a"), a).unwrap()[..],
        b"1"
    );
    assert!(matches!(moved[1], Err(CryptoError::Decrypt)));
    assert!(moved[2].as_ref().unwrap().is_none());

    let spec = IndexSpec::new("digits", Normalizer::Digits, 32).unwrap();
    let idx = f
        .cipher
        .blind_index_many(
            &ctx,
            &spec,
            &[("a", "219-09-9999"), ("b", "219099999")],
        )
        .unwrap();
    assert_eq!(idx[0], idx[1]);
    assert_eq!(
        idx[0],
        f.cipher.blind_index(&ctx, &spec, "2190-99999").unwrap()
    );
    let records = f.sink.records();
    let new: Vec<(&str, Option<u64>, Option<&str>)> = records[before..]
        .iter()
        .map(|r| (r.action.as_str(), r.rows, r.error.as_deref()))
        .collect();
    assert_eq!(
        new,
        [
            ("reencrypt", Some(3), Some("partial")),
            ("decrypt", None, None),
            ("key_create", None, None), // the scope's index key
            ("search", Some(2), None),
            ("search", None, None),
        ]
    );
}

#[test]
fn nothing_secret_in_debug_display_or_audit() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "row-9").actor("svc");
    let plaintext = "219-09-9999 Maria Lopez";
    let sealed = f.cipher.encrypt_phi(&ctx, plaintext.as_bytes()).unwrap();
    let opened = f.cipher.decrypt_phi(&ctx, &sealed).unwrap();
    let mut bad = sealed.clone();
    bad[10] ^= 1;
    let err = f.cipher.decrypt_phi(&ctx, &bad).unwrap_err();
    let ring = f.store.load().unwrap();
    let dumps = [
        format!("{:?} {:?} {}", f.cipher, err, err),
        format!("{:?}", ring),
        format!("{:?}", Envelope::parse(&sealed).unwrap()),
        serde_json::to_string(&f.sink.records()).unwrap(),
        format!("{:?}", LocalKek::from_bytes([7; 32])),
    ];
    let key_hex = hex(&[7; 32]);
    for d in &dumps {
        assert!(
            !d.contains("219-09-9999") && !d.contains("Maria"),
            "plaintext leaked: {d}"
        );
        assert!(
            !d.contains(&key_hex) && !d.contains("7, 7, 7"),
            "key leaked: {d}"
        );
    }
    assert_eq!(&opened[..], plaintext.as_bytes());
}

#[test]
fn shared_across_threads() {
    let f = fixture();
    let s = scope();
    std::thread::scope(|t| {
        for i in 0..4 {
            let cipher = f.cipher.clone();
            let s = &s;
            t.spawn(move || {
                let row = format!("r{i}");
                let ctx = Context::new(s, &row);
                for j in 0..200 {
                    let v = format!("{i}-{j}");
                    let c = cipher.encrypt_phi(&ctx, v.as_bytes()).unwrap();
                    assert_eq!(
                        &cipher.decrypt_phi(&ctx, &c).unwrap()[..],
                        v.as_bytes()
                    );
                }
            });
        }
    });
    // One key version despite four threads racing to create it.
    assert_eq!(
        f.cipher
            .keyring()
            .unwrap()
            .keys
            .iter()
            .filter(|k| k.purpose == KeyPurpose::Encrypt)
            .count(),
        1
    );
}

#[test]
fn invalid_scopes_and_rows() {
    assert!(Scope::new("").is_err());
    assert!(Scope::new("patients ssn").is_err());
    assert!(Scope::new("a/b").is_err());
    assert_eq!(
        Scope::parse("acme/patients.ssn").unwrap().tenant(),
        Some("acme")
    );
    let f = fixture();
    let s = scope();
    let long = "x".repeat(MAX_ROW_REF + 1);
    assert!(matches!(
        f.cipher.encrypt_phi(&Context::new(&s, &long), b"v"),
        Err(CryptoError::RowTooLong(_))
    ));
}

#[test]
fn a_value_must_be_bound_to_a_row() {
    let f = fixture();
    let s = scope();
    let none = Context::new(&s, "");
    assert!(matches!(
        f.cipher.encrypt_phi(&none, b"v"),
        Err(CryptoError::RowMissing)
    ));
    let sealed = f.cipher.encrypt_phi(&Context::new(&s, "7"), b"v").unwrap();
    assert!(matches!(
        f.cipher.decrypt_phi(&none, &sealed),
        Err(CryptoError::RowMissing)
    ));
    let items: [(&str, &[u8]); 2] = [("1", b"a"), ("", b"b")];
    assert!(matches!(
        f.cipher.encrypt_many(&none, &items),
        Err(CryptoError::RowMissing)
    ));
    // Blind indexes bind to no row: a lookup needs none.
    let spec = IndexSpec::new("ssn", Normalizer::Digits, 32).unwrap();
    let index = f.cipher.blind_index(&none, &spec, "219-09-9999").unwrap();
    // ... and their Debug output does not show them.
    let shown = format!("{index:?}");
    assert!(!shown.contains(&index.to_hex()), "{shown}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_round_trip(value in proptest::collection::vec(any::<u8>(), 0..600), row in "[ -~]{1,40}") {
        let f = fixture();
        let s = scope();
        let ctx = Context::new(&s, &row);
        let sealed = f.cipher.encrypt_phi(&ctx, &value).unwrap();
        prop_assert_eq!(&f.cipher.decrypt_phi(&ctx, &sealed).unwrap()[..], &value[..]);
    }

    #[test]
    fn arbitrary_input_never_panics_or_decrypts(bytes in proptest::collection::vec(any::<u8>(), 0..200), magic in any::<bool>()) {
        let f = fixture();
        let s = scope();
        let ctx = Context::new(&s, "r");
        f.cipher.encrypt_phi(&ctx, b"make key v1").unwrap();
        let mut input = bytes;
        if magic && input.len() > 3 {
            input[0] = MAGIC;
            input[1] = FORMAT_VERSION;
            input[2] = ALG_XAES_256_GCM;
        }
        prop_assert!(f.cipher.decrypt_phi(&ctx, &input).is_err());
        let text = format!("psf:{}", String::from_utf8_lossy(&input));
        prop_assert!(f.cipher.decrypt_phi(&ctx, text.as_bytes()).is_err());
        let _ = Envelope::parse(&input);
        let _ = is_envelope(&input);
    }
}

// ---- golden vectors (docs/FORMAT.md) ----

#[derive(Deserialize)]
struct Vectors {
    #[serde(default)]
    envelope: Vec<EnvelopeVector>,
    wrap: Vec<WrapVector>,
    #[serde(default)]
    blind_index: Vec<IndexVector>,
    audit: Vec<AuditVector>,
}

#[derive(Deserialize)]
struct EnvelopeVector {
    dek: String,
    scope: String,
    row: String,
    key_version: u32,
    nonce: String,
    plaintext: String,
    envelope: String,
    text: String,
}

#[derive(Deserialize)]
struct WrapVector {
    kek: String,
    kek_id: String,
    dek: String,
    scope: String,
    purpose: String,
    version: u32,
    /// Bound into the wrap from format v2 on; absent in v1.
    state: Option<String>,
    nonce: String,
    wrapped: String,
}

#[derive(Deserialize)]
struct IndexVector {
    key: String,
    name: String,
    normalizer: String,
    bits: u16,
    value: String,
    index: String,
}

#[derive(Deserialize)]
struct AuditVector {
    key: String,
    records: Vec<String>,
    /// The database head row after the records (v2).
    head: Option<HeadVector>,
}

#[derive(Deserialize)]
struct HeadVector {
    next_seq: u64,
    prev: String,
    tag: String,
}

const VECTORS: &str = include_str!("../../vectors/format-v1.json");
/// What format v2 changed: key state in the wrap, chain ids in audit
/// records.
const VECTORS_V2: &str = include_str!("../../vectors/format-v2.json");

fn key32(s: &str) -> [u8; 32] {
    unhex(s).unwrap().try_into().unwrap()
}

fn purpose(s: &str) -> KeyPurpose {
    match s {
        "encrypt" => KeyPurpose::Encrypt,
        "index" => KeyPurpose::Index,
        _ => KeyPurpose::Audit,
    }
}

#[test]
fn golden_vectors() {
    let v: Vectors = serde_json::from_str(VECTORS).unwrap();
    assert!(
        !v.envelope.is_empty()
            && !v.wrap.is_empty()
            && !v.blind_index.is_empty()
    );
    check_vectors(&v);
    let v2: Vectors = serde_json::from_str(VECTORS_V2).unwrap();
    assert!(!v2.wrap.is_empty() && !v2.audit.is_empty());
    assert!(v2.wrap.iter().all(|w| w.state.is_some()));
    check_vectors(&v2);
    let chain = |v: &Vectors| {
        let r: crate::audit::AuditRecord =
            serde_json::from_str(&v.audit[0].records[0]).unwrap();
        r.chain
    };
    assert_eq!((chain(&v).is_none(), chain(&v2).is_some()), (true, true));
}

fn check_vectors(v: &Vectors) {
    for e in &v.envelope {
        let xaes = Xaes::new(&key32(&e.dek));
        let scope = Scope::parse(&e.scope).unwrap();
        let nonce: [u8; 24] = unhex(&e.nonce).unwrap().try_into().unwrap();
        let plain = unhex(&e.plaintext).unwrap();
        let mut aad = format::Aad::new();
        let (prefix, rest) = split_nonce(&nonce);
        let got = seal_with_nonce(
            &xaes.prefix_key(prefix),
            e.key_version,
            &scope,
            &e.row,
            &plain,
            rest,
            &mut aad,
        )
        .unwrap();
        assert_eq!(hex(&got), e.envelope, "envelope for {}", e.scope);
        assert_eq!(to_text(&got), e.text);
        assert_eq!(from_text(&e.text).unwrap(), got);
        // And through the public API, with the DEK in a keyring.
        let kek = LocalKek::from_bytes([0x42; 32]);
        let store = Arc::new(MemoryKeyStore::new());
        let dek = DataKey::from_bytes(key32(&e.dek));
        store
            .update(&mut |ring| {
                ring.keys.push(KeyRecord {
                    scope: e.scope.clone(),
                    purpose: KeyPurpose::Encrypt,
                    version: e.key_version,
                    state: KeyState::Active,
                    kek_id: kek.kek_id().to_string(),
                    wrapped: kek.wrap(
                        &dek,
                        &wrap_aad(
                            &e.scope,
                            KeyPurpose::Encrypt,
                            e.key_version,
                            KeyState::Active,
                        ),
                    )?,
                    created: "2026-01-01T00:00:00Z".into(),
                });
                Ok(())
            })
            .unwrap();
        let cipher = FieldCipher::builder(Arc::new(kek), store)
            .policy(Policy::allow_all())
            .build(Arc::new(MemorySink::new()))
            .unwrap();
        let ctx = Context::new(&scope, &e.row);
        if e.row.is_empty() {
            // The format can bind to the empty row; the cipher refuses to.
            assert!(matches!(
                cipher.decrypt_phi(&ctx, &got),
                Err(CryptoError::RowMissing)
            ));
            continue;
        }
        assert_eq!(&cipher.decrypt_phi(&ctx, &got).unwrap()[..], &plain[..]);
        assert_eq!(
            &cipher.decrypt_phi(&ctx, e.text.as_bytes()).unwrap()[..],
            &plain[..]
        );
    }
    for w in &v.wrap {
        let kek = LocalKek::from_bytes(key32(&w.kek));
        assert_eq!(kek.kek_id(), w.kek_id);
        let (scope, p, version) = (&w.scope, purpose(&w.purpose), w.version);
        let aad = match &w.state {
            Some(state) => wrap_aad(scope, p, version, state.parse().unwrap()),
            None => legacy_wrap_aad(scope, p, version),
        };
        let nonce: [u8; 24] = unhex(&w.nonce).unwrap().try_into().unwrap();
        let got = kek
            .wrap_with_nonce(&DataKey::from_bytes(key32(&w.dek)), &aad, &nonce)
            .unwrap();
        assert_eq!(hex(&got), w.wrapped);
        assert_eq!(
            kek.unwrap(&w.kek_id, &got, &aad).unwrap().expose_secret(),
            &key32(&w.dek)
        );
    }
    for i in &v.blind_index {
        let mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(
            &key32(&i.key),
        )
        .unwrap();
        let spec = IndexSpec::new(
            &i.name,
            Normalizer::parse(&i.normalizer).unwrap(),
            i.bits,
        )
        .unwrap();
        assert_eq!(spec.compute(&mac, &i.value).to_hex(), i.index);
    }
    for a in &v.audit {
        let key = AuditKey::new(&DataKey::from_bytes(key32(&a.key)));
        let text = a.records.join("\n") + "\n";
        let report = crate::audit::verify(&key, text.as_bytes()).unwrap();
        assert_eq!(report.first_bad, None);
        assert_eq!(report.valid, a.records.len() as u64);
        if let Some(h) = &a.head {
            let id = report.chain.as_deref();
            let chain = crate::audit::Chain::from_head(
                key,
                id,
                h.next_seq,
                &h.prev,
                Some(&h.tag),
            )
            .unwrap();
            assert_eq!(chain.head(), (h.next_seq, h.prev.clone()));
        }
    }
}

/// An event of the golden audit vectors.
fn vector_event<'a>(
    action: crate::audit::AuditAction,
    rows: crate::audit::Rows<'a>,
    outcome: crate::audit::Outcome,
    error: Option<&'static str>,
    request_id: Option<&'a str>,
) -> AuditEvent<'a> {
    AuditEvent {
        actor: "svc",
        role: "app",
        purpose: "treatment",
        action,
        scope: "patients.ssn",
        rows,
        key_version: Some(1),
        outcome,
        error,
        request_id,
    }
}

/// Prints the golden vectors; run once when the format is defined:
/// `cargo test -p phisafe golden_vector_print -- --ignored --nocapture`.
#[test]
#[ignore = "generator, not a check"]
fn golden_vector_print() {
    use crate::audit::{AuditAction, Chain, Outcome, Rows};
    let cases: [(&str, &str, u32, &[u8]); 4] = [
        ("patients.ssn", "patient-42", 1, b"219-09-9999"),
        ("acme/patients.name", "7f3a", 3, "Mar\u{ed}a L\u{f3}pez".as_bytes()),
        ("visits.note", "", 1, b""),
        ("labs.result", "row-1", 4_000_000_000, &[0u8, 255, 1, 254]),
    ];
    let mut env = Vec::new();
    for (i, (scope, row, version, plain)) in cases.iter().enumerate() {
        let dek = [0x10 + i as u8; 32];
        let nonce: [u8; 24] = std::array::from_fn(|j| (i * 24 + j) as u8);
        let mut aad = format::Aad::new();
        let (prefix, rest) = split_nonce(&nonce);
        let got = seal_with_nonce(
            &Xaes::new(&dek).prefix_key(prefix),
            *version,
            &Scope::parse(scope).unwrap(),
            row,
            plain,
            rest,
            &mut aad,
        )
        .unwrap();
        env.push(serde_json::json!({
            "dek": hex(&dek), "scope": scope, "row": row, "key_version": version,
            "nonce": hex(&nonce), "plaintext": hex(plain), "aad": hex(aad.as_slice()),
            "envelope": hex(&got), "text": to_text(&got),
        }));
    }
    let kek = LocalKek::from_bytes([0x33; 32]);
    let nonce = [0xa0u8; 24];
    let aad = legacy_wrap_aad("patients.ssn", KeyPurpose::Encrypt, 1);
    let wrapped = kek
        .wrap_with_nonce(&DataKey::from_bytes([0x44; 32]), &aad, &nonce)
        .unwrap();
    let wrap = serde_json::json!([{
        "kek": hex(&[0x33; 32]), "kek_id": kek.kek_id(), "dek": hex(&[0x44; 32]),
        "scope": "patients.ssn", "purpose": "encrypt", "version": 1,
        "aad": hex(&aad), "nonce": hex(&nonce), "wrapped": hex(&wrapped),
    }]);

    let mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(
        &[0x55; 32],
    )
    .unwrap();
    let mut idx = Vec::new();
    for (name, norm, bits, value) in [
        ("ssn", "digits", 32u16, "219-09-9999"),
        ("name", "trim-casefold", 20, "  Mar\u{ed}a   L\u{d3}PEZ "),
        ("card_last4", "last4", 16, "4111 1111 1111 1234"),
        ("email", "exact", 256, "jo@clinic.example"),
    ] {
        let spec =
            IndexSpec::new(name, Normalizer::parse(norm).unwrap(), bits)
                .unwrap();
        idx.push(serde_json::json!({
            "key": hex(&[0x55; 32]), "name": name, "normalizer": norm, "bits": bits,
            "value": value, "index": spec.compute(&mac, value).to_hex(),
        }));
    }
    let akey = AuditKey::new(&DataKey::from_bytes([0x66; 32]));
    // Version 1 records: a chain without an id.
    let zeros = "0".repeat(64);
    let mut chain = Chain::from_head(akey, None, 0, &zeros, None).unwrap();
    let t = std::time::UNIX_EPOCH
        + std::time::Duration::from_micros(1_795_000_000_123_456);
    let mut records = Vec::new();
    for (action, rows, outcome, error) in [
        (AuditAction::KeyCreate, Rows::None, Outcome::Ok, None),
        (AuditAction::Encrypt, Rows::One("patient-42"), Outcome::Ok, None),
        (
            AuditAction::Decrypt,
            Rows::batch(["a", "b"]),
            Outcome::Denied,
            Some("policy"),
        ),
    ] {
        let e = vector_event(action, rows, outcome, error, Some("req-1"));
        let r = chain.seal(&e, t);
        records.push(serde_json::to_string(&r).unwrap());
    }
    let audit =
        serde_json::json!([{ "key": hex(&[0x66; 32]), "records": records }]);
    let all = serde_json::json!({
        "comment": "phisafe format v1 golden vectors; see docs/FORMAT.md. Never edit: a change here is a format break.",
        "envelope": env, "wrap": wrap, "blind_index": idx, "audit": audit,
    });
    println!("{}", serde_json::to_string_pretty(&all).unwrap());
}

/// Prints the additions of format v2 (`core/vectors/format-v2.json`):
/// `cargo test -p phisafe golden_vector_v2_print -- --ignored --nocapture`.
#[test]
#[ignore = "generator, not a check"]
fn golden_vector_v2_print() {
    use crate::audit::{AuditAction, Chain, Outcome, Rows};
    let kek = LocalKek::from_bytes([0x33; 32]);
    let mut wrap = Vec::new();
    for (i, state) in
        [KeyState::Active, KeyState::DecryptOnly].into_iter().enumerate()
    {
        let nonce = [0xb0 + i as u8; 24];
        let version = 2 + i as u32;
        let aad =
            wrap_aad("patients.ssn", KeyPurpose::Encrypt, version, state);
        let wrapped = kek
            .wrap_with_nonce(&DataKey::from_bytes([0x45; 32]), &aad, &nonce)
            .unwrap();
        wrap.push(serde_json::json!({
            "kek": hex(&[0x33; 32]), "kek_id": kek.kek_id(), "dek": hex(&[0x45; 32]),
            "scope": "patients.ssn", "purpose": "encrypt", "version": version,
            "state": state.as_str(), "aad": hex(&aad), "nonce": hex(&nonce),
            "wrapped": hex(&wrapped),
        }));
    }
    let akey = AuditKey::new(&DataKey::from_bytes([0x66; 32]));
    let mut chain =
        Chain::with_id(akey, "00112233445566778899aabbccddeeff").unwrap();
    let t = std::time::UNIX_EPOCH
        + std::time::Duration::from_micros(1_795_000_000_123_456);
    let mut records = Vec::new();
    for (action, rows) in [
        (AuditAction::KeyCreate, Rows::None),
        (AuditAction::Decrypt, Rows::One("patient-42")),
    ] {
        let e = vector_event(action, rows, Outcome::Ok, None, None);
        let r = chain.seal(&e, t);
        records.push(serde_json::to_string(&r).unwrap());
    }
    let (next_seq, prev) = chain.head();
    let audit = serde_json::json!([{
        "key": hex(&[0x66; 32]), "records": records,
        "head": {"next_seq": next_seq, "prev": prev, "tag": chain.head_tag()},
    }]);
    let all = serde_json::json!({
        "comment": "phisafe format v2 golden vectors: what v2 added to v1 (key state bound into the wrap, chain ids in audit records, the database head tag); see docs/FORMAT.md. Never edit: a change here is a format break.",
        "wrap": wrap, "audit": audit,
    });
    println!("{}", serde_json::to_string_pretty(&all).unwrap());
}

/// Counts KEK calls, to show data keys are unwrapped once and cached.
struct Counting {
    inner: LocalKek,
    unwraps: std::sync::atomic::AtomicUsize,
}

impl KeyProvider for Counting {
    fn kek_id(&self) -> &str {
        self.inner.kek_id()
    }
    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.inner.wrap(key, aad)
    }
    fn unwrap(
        &self,
        id: &str,
        wrapped: &[u8],
        aad: &[u8],
    ) -> Result<DataKey, KeyError> {
        self.unwraps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.unwrap(id, wrapped, aad)
    }
}

#[test]
fn the_kek_is_not_asked_per_value() {
    let store = Arc::new(MemoryKeyStore::new());
    let first = fixture_with(Policy::allow_all());
    let s = scope();
    let ctx = Context::new(&s, "r");
    // Seal with one process's cipher, open with a fresh one over the same
    // keyring, as another process would.
    let kek = LocalKek::from_bytes([7; 32]);
    let sealed: Vec<Vec<u8>> = {
        let c = FieldCipher::builder(Arc::new(kek), store.clone())
            .policy(Policy::allow_all())
            .build(first.sink.clone())
            .unwrap();
        (0..50).map(|_| c.encrypt_phi(&ctx, b"v").unwrap()).collect()
    };
    let counting = Arc::new(Counting {
        inner: LocalKek::from_bytes([7; 32]),
        unwraps: Default::default(),
    });
    let c = FieldCipher::builder(counting.clone(), store)
        .policy(Policy::allow_all())
        .build(Arc::new(MemorySink::new()))
        .unwrap();
    for s in &sealed {
        assert_eq!(&c.decrypt_phi(&ctx, s).unwrap()[..], b"v");
    }
    assert_eq!(counting.unwraps.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<FieldCipher>();
    check::<LocalKek>();
    check::<FileKeyStore>();
    check::<MemoryKeyStore>();
    check::<Policy>();
    check::<crate::audit::JsonlSink>();
    check::<crate::audit::MemorySink>();
}

#[test]
fn associated_data_is_the_same_on_stack_and_heap() {
    let header = format::header(7);
    let scope = Scope::parse("acme/patients.name").unwrap();
    let mut aad = format::Aad::new();
    // Short rows fit the inline buffer, long ones spill to the heap; a
    // reused buffer must not keep bytes of a longer earlier value.
    for len in [0, 10, 150, 1024, 3] {
        let row = "r".repeat(len);
        aad.set(&header, &scope, &row);
        let mut want = header.to_vec();
        for part in ["patients.name", "acme", row.as_str()] {
            want.extend_from_slice(&(part.len() as u32).to_be_bytes());
            want.extend_from_slice(part.as_bytes());
        }
        assert_eq!(aad.as_slice(), want, "row of {len} bytes");
    }
}

#[test]
fn other_processes_changes_are_seen_after_the_refresh_interval() {
    let store = Arc::new(MemoryKeyStore::new());
    let open = |every: std::time::Duration| {
        FieldCipher::builder(
            Arc::new(LocalKek::from_bytes([7; 32])),
            store.clone(),
        )
        .policy(Policy::allow_all())
        .refresh_interval(every)
        .build(Arc::new(MemorySink::new()))
        .unwrap()
    };
    let writer = open(std::time::Duration::from_secs(60));
    let patient = scope();
    let ctx = Context::new(&patient, "r");
    let v1 = writer.encrypt_phi(&ctx, b"old").unwrap();
    let quick = open(std::time::Duration::from_millis(20));
    assert_eq!(&quick.decrypt_phi(&ctx, &v1).unwrap()[..], b"old");
    assert_eq!(key_version(&quick.encrypt_phi(&ctx, b"x").unwrap()), 1);
    // Another process shreds version 1: it reaches the shared keyring,
    // not this process's ciphers.
    store
        .update(&mut |ring| {
            let k =
                ring.get_mut("patients.ssn", KeyPurpose::Encrypt, 1).unwrap();
            k.state = KeyState::Destroyed;
            k.wrapped.clear();
            Ok(())
        })
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    // After its interval a cipher reads the keyring again. (Within it, it
    // may keep its view; not asserted, since other tests' key changes in
    // this process make every cipher reload.)
    assert!(matches!(
        quick.decrypt_phi(&ctx, &v1),
        Err(CryptoError::KeyDestroyed { version: 1, .. })
    ));
}

#[test]
fn this_processs_key_changes_reach_every_cipher_at_once() {
    let store = Arc::new(MemoryKeyStore::new());
    let builder = || {
        FieldCipher::builder(
            Arc::new(LocalKek::from_bytes([7; 32])),
            store.clone(),
        )
        .policy(Policy::allow_all())
        .refresh_interval(std::time::Duration::from_secs(3600))
    };
    let sink = Arc::new(MemorySink::new());
    let cipher = builder().build(sink.clone()).unwrap();
    let other = builder().build(sink.clone()).unwrap();
    let admin = builder().build_admin(sink).unwrap();
    let patient = scope();
    let ctx = Context::new(&patient, "r");
    let v1 = cipher.encrypt_phi(&ctx, b"old").unwrap();
    assert_eq!(&other.decrypt_phi(&ctx, &v1).unwrap()[..], b"old");
    admin.rotate(&ctx).unwrap();
    admin.destroy(&ctx, 1, "destroy patients.ssn v1").unwrap();
    // No refresh interval to wait out: the destroyed version is gone
    // from both ciphers, and both seal with the new one.
    for c in [&cipher, &other] {
        assert!(matches!(
            c.decrypt_phi(&ctx, &v1),
            Err(CryptoError::KeyDestroyed { version: 1, .. })
        ));
        assert_eq!(key_version(&c.encrypt_phi(&ctx, b"x").unwrap()), 2);
    }
}

#[test]
fn key_management_needs_its_own_grant_and_is_audited() {
    let data_only = Policy::from_toml(
        r#"
        [[allow]]
        roles = ["app"]
        scopes = ["*"]
        actions = ["encrypt", "decrypt", "search"]
        purposes = ["*"]
        "#,
    )
    .unwrap();
    for policy in [Policy::deny_all(), data_only] {
        let f = fixture_with(policy);
        let s = scope();
        let ctx = Context::new(&s, "").actor("mallory").role("app");
        assert!(matches!(f.admin.rotate(&ctx), Err(CryptoError::Denied(_))));
        assert!(matches!(
            f.admin.destroy(&ctx, 1, "destroy patients.ssn v1"),
            Err(CryptoError::Denied(_))
        ));
        let kek = LocalKek::from_bytes([8; 32]);
        assert!(matches!(
            f.admin.rewrap(&ctx, &kek),
            Err(CryptoError::Denied(_))
        ));
        assert!(f.store.load().unwrap().keys.is_empty(), "keyring untouched");
        let denied: Vec<(String, String)> = f
            .sink
            .records()
            .iter()
            .map(|r| (r.action.clone(), r.outcome.clone()))
            .collect();
        assert_eq!(
            denied,
            [
                ("key_rotate".to_string(), "denied".to_string()),
                ("key_destroy".into(), "denied".into()),
                ("key_rewrap".into(), "denied".into()),
            ]
        );
    }
    // A grant for some scopes is no grant to rewrap them all.
    let f = fixture_with(
        Policy::from_toml(
            "[[allow]]\nroles = [\"officer\"]\nscopes = [\"patients.*\"]\nactions = [\"rotate\", \"rewrap\"]\npurposes = [\"*\"]",
        )
        .unwrap(),
    );
    let s = scope();
    let ctx = Context::new(&s, "").actor("ana").role("officer");
    assert_eq!(f.admin.rotate(&ctx).unwrap(), 1);
    let kek = LocalKek::from_bytes([8; 32]);
    assert!(matches!(f.admin.rewrap(&ctx, &kek), Err(CryptoError::Denied(_))));
}

#[test]
fn a_destroy_without_confirmation_is_audited() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r").actor("admin");
    f.cipher.encrypt_phi(&ctx, b"x").unwrap();
    assert!(f.admin.destroy(&ctx, 1, "yes").is_err());
    let last = f.sink.records().pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.outcome.as_str()),
        ("key_destroy", "failed")
    );
}

/// Wraps like the right master key but cannot unwrap: a misconfigured HSM.
struct WrapOnly(LocalKek);

impl KeyProvider for WrapOnly {
    fn kek_id(&self) -> &str {
        "wrap-only"
    }

    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0.wrap(key, aad)
    }

    fn unwrap(
        &self,
        _kek_id: &str,
        _wrapped: &[u8],
        _aad: &[u8],
    ) -> Result<DataKey, KeyError> {
        Ok(DataKey::from_bytes([0; 32]))
    }
}

#[test]
fn rewrap_refuses_a_master_key_that_does_not_give_keys_back() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r");
    let sealed = f.cipher.encrypt_phi(&ctx, b"value").unwrap();
    let before = f.store.load().unwrap();
    let err = f
        .admin
        .rewrap(&ctx, &WrapOnly(LocalKek::from_bytes([8; 32])))
        .unwrap_err();
    assert!(err.to_string().contains("does not unwrap"), "{err}");
    assert_eq!(f.store.load().unwrap(), before, "keyring unchanged");
    let last = f.sink.records().pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.outcome.as_str()),
        ("key_rewrap", "failed")
    );
    assert_eq!(&f.cipher.decrypt_phi(&ctx, &sealed).unwrap()[..], b"value");
}

fn key_version(envelope: &[u8]) -> u32 {
    Envelope::parse(envelope).unwrap().key_version()
}

#[derive(Debug, Clone)]
enum KeyOp {
    /// Seal a value of scope `.0`, through the second cipher when `.1`.
    Encrypt(usize, bool),
    /// Open the sealed value `.0` (an index into those so far).
    Decrypt(proptest::sample::Index, bool),
    Rotate(usize),
    /// Destroy an old version of scope `.0`.
    Destroy(usize, proptest::sample::Index),
}

fn key_op() -> impl Strategy<Value = KeyOp> {
    prop_oneof![
        4 => (0..3usize, any::<bool>()).prop_map(|(s, b)| KeyOp::Encrypt(s, b)),
        4 => (any::<proptest::sample::Index>(), any::<bool>())
            .prop_map(|(i, b)| KeyOp::Decrypt(i, b)),
        1 => (0..3usize).prop_map(KeyOp::Rotate),
        1 => (0..3usize, any::<proptest::sample::Index>())
            .prop_map(|(s, i)| KeyOp::Destroy(s, i)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// The thread's key cache never serves a key the keyring has moved
    /// past: against a model of active and destroyed versions, a cipher
    /// that makes the changes (and caches) and one that re-reads the
    /// keyring on every call agree.
    #[test]
    fn key_changes_are_seen_at_once_by_the_cipher_that_makes_them(
        ops in proptest::collection::vec(key_op(), 1..40),
    ) {
        let f = fixture();
        let reader = FieldCipher::builder(
            Arc::new(LocalKek::from_bytes([7; 32])),
            f.store.clone(),
        )
        .policy(Policy::allow_all())
        .refresh_interval(std::time::Duration::ZERO)
        .build(Arc::new(MemorySink::new()))
        .unwrap();
        let scopes: Vec<Scope> = ["p.a", "p.b", "q.c"]
            .iter()
            .map(|n| Scope::new(n).unwrap())
            .collect();
        // Per scope: the active version (0 before the first key) and the
        // destroyed ones; per sealed value: scope, version, plaintext.
        let mut active = [0u32; 3];
        let mut destroyed: Vec<Vec<u32>> = vec![Vec::new(); 3];
        let mut sealed: Vec<(usize, u32, Vec<u8>, Vec<u8>)> = Vec::new();
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                KeyOp::Encrypt(s, second) => {
                    let c = if second { &reader } else { &f.cipher };
                    let ctx = Context::new(&scopes[s], "r");
                    let plain = format!("value {n}").into_bytes();
                    let env = c.encrypt_phi(&ctx, &plain).unwrap();
                    active[s] = active[s].max(1);
                    prop_assert_eq!(key_version(&env), active[s]);
                    sealed.push((s, active[s], plain, env));
                }
                KeyOp::Decrypt(i, second) if !sealed.is_empty() => {
                    let c = if second { &reader } else { &f.cipher };
                    let (s, v, plain, env) = &sealed[i.index(sealed.len())];
                    let got = c.decrypt_phi(&Context::new(&scopes[*s], "r"), env);
                    if destroyed[*s].contains(v) {
                        let shredded = matches!(got, Err(CryptoError::KeyDestroyed { .. }));
                        prop_assert!(shredded, "{:?}", got);
                    } else {
                        prop_assert_eq!(&got.unwrap()[..], &plain[..]);
                    }
                }
                KeyOp::Rotate(s) if active[s] > 0 => {
                    let ctx = Context::new(&scopes[s], "r");
                    active[s] = f.admin.rotate(&ctx).unwrap();
                }
                KeyOp::Destroy(s, i) => {
                    let old: Vec<u32> = (1..active[s])
                        .filter(|v| !destroyed[s].contains(v))
                        .collect();
                    if old.is_empty() {
                        continue;
                    }
                    let v = old[i.index(old.len())];
                    let confirm = format!("destroy {} v{v}", scopes[s].as_str());
                    f.admin
                        .destroy(&Context::new(&scopes[s], "r"), v, &confirm)
                        .unwrap();
                    destroyed[s].push(v);
                }
                _ => {}
            }
        }
    }
}

#[test]
fn other_threads_seal_with_the_new_version_once_rotate_returns() {
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r");
    f.cipher.encrypt_phi(&ctx, b"first").unwrap();
    let rounds = 20;
    let barrier = std::sync::Barrier::new(4);
    let expected = AtomicU32::new(1);
    // Versions are recorded, not asserted, in the workers: a panic there
    // would leave the others waiting at the barrier.
    let seen = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|t| {
        for _ in 0..3 {
            t.spawn(|| {
                let s = scope();
                let ctx = Context::new(&s, "r");
                for _ in 0..rounds {
                    // Warm this thread's cache, wait for the rotation.
                    let _ = f.cipher.encrypt_phi(&ctx, b"x");
                    barrier.wait();
                    barrier.wait();
                    let want = expected.load(SeqCst);
                    let got = f.cipher.encrypt_phi(&ctx, b"x");
                    let got = got.ok().map(|e| key_version(&e));
                    seen.lock().unwrap().push((want, got));
                }
            });
        }
        for _ in 0..rounds {
            barrier.wait();
            expected.store(f.admin.rotate(&ctx).unwrap_or(0), SeqCst);
            barrier.wait();
        }
    });
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 3 * rounds);
    for (want, got) in seen {
        assert_eq!(got, Some(want));
    }
}

#[test]
fn a_batch_over_a_rotation_records_each_key_version() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "").actor("etl").role("app");
    let v1: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            f.cipher
                .encrypt_phi(&ctx.with_row(&format!("r{i}")), b"old")
                .unwrap()
        })
        .collect();
    f.admin.rotate(&ctx).unwrap();
    let v2 = f.cipher.encrypt_phi(&ctx.with_row("r9"), b"new").unwrap();
    let items: Vec<(&str, &[u8])> = vec![
        ("r0", &v1[0]),
        ("r9", &v2),
        ("r1", &v1[1]),
        ("r2", b"not an envelope"),
    ];
    let before = f.sink.records().len();
    let out = f.cipher.decrypt_many(&ctx, &items).unwrap();
    assert_eq!(out.iter().filter(|o| o.is_ok()).count(), 3);
    let records: Vec<(Option<u32>, Option<u64>, String)> = f.sink.records()
        [before..]
        .iter()
        .map(|r| (r.key_version, r.rows, r.outcome.clone()))
        .collect();
    assert_eq!(
        records,
        [
            (Some(1), Some(2), "ok".to_string()),
            (Some(2), Some(1), "ok".into()),
            (None, Some(1), "failed".into()),
        ]
    );
}

#[test]
fn an_unauthorised_caller_is_denied_before_the_bytes_are_read() {
    let f = fixture_with(Policy::deny_all());
    let s = scope();
    let ctx = Context::new(&s, "r1").actor("mallory");
    for junk in [&b"junk"[..], b"psf:!!!", b""] {
        assert!(matches!(
            f.cipher.decrypt_phi(&ctx, junk),
            Err(CryptoError::Denied(_))
        ));
    }
    assert!(f.sink.records().iter().all(|r| r.outcome == "denied"));
}

#[test]
fn shredding_a_scope_destroys_its_index_key_too() {
    let f = fixture();
    let s = scope();
    let ctx = Context::new(&s, "r1").actor("admin");
    let spec = IndexSpec::new("ssn", Normalizer::Digits, 32).unwrap();
    f.cipher.encrypt_phi(&ctx, b"219-09-9999").unwrap();
    let before = f.cipher.blind_index(&ctx, &spec, "219-09-9999").unwrap();
    let index_state = |f: &Fixture| {
        let ring = f.store.load().unwrap();
        ring.keys
            .iter()
            .filter(|k| k.purpose == KeyPurpose::Index)
            .map(|k| (k.state, k.wrapped.is_empty()))
            .collect::<Vec<_>>()
    };
    // Rotating and destroying an old version leaves a live key: the index
    // key stays.
    f.admin.rotate(&ctx).unwrap();
    f.admin.destroy(&ctx, 1, "destroy patients.ssn v1").unwrap();
    assert_eq!(index_state(&f), [(KeyState::Active, false)]);
    assert_eq!(
        f.cipher.blind_index(&ctx, &spec, "219-09-9999").unwrap(),
        before
    );
    // The last live version gone, the index key is erased with it.
    f.admin.destroy(&ctx, 2, "destroy patients.ssn v2").unwrap();
    assert_eq!(index_state(&f), [(KeyState::Destroyed, true)]);
    // A new index key cannot reproduce the old indexes.
    let after = f.cipher.blind_index(&ctx, &spec, "219-09-9999").unwrap();
    assert_ne!(after, before);
}

/// A VM or container snapshot restored twice gives two clones of this
/// process with the same user-space generator state. Their nonces must
/// still differ: the random part of every nonce comes from the kernel,
/// which reseeds on restore (Linux vmgenid), not from copied state.
#[test]
fn a_restored_snapshot_draws_new_nonces() {
    let f = fixture();
    let scope = scope();
    let ctx = Context::new(&scope, "r1").actor("a").purpose("p");
    f.cipher.encrypt_phi(&ctx, b"warm").unwrap();
    let nonce = |env: &[u8]| env[HEADER_LEN..HEADER_LEN + 24].to_vec();
    let cloned = super::rng::snapshot().expect("the generator is in use");
    let first = f.cipher.encrypt_phi(&ctx, b"219-09-9999").unwrap();
    super::rng::restore(cloned.clone());
    let second = f.cipher.encrypt_phi(&ctx, b"219-09-9999").unwrap();
    assert_ne!(nonce(&first), nonce(&second));
    // Batches too.
    let items = [("r1", &b"219-09-9999"[..]), ("r2", &b"x"[..])];
    super::rng::restore(cloned.clone());
    let a = f.cipher.encrypt_many(&ctx, &items).unwrap();
    super::rng::restore(cloned);
    let b = f.cipher.encrypt_many(&ctx, &items).unwrap();
    for (a, b) in a.iter().zip(&b) {
        assert_ne!(nonce(a), nonce(b));
    }
}
