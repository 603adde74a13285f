//! Field encryption throughput: `FieldCipher` with and without the JSONL
//! audit sink, single values and batches of 1,000, against raw
//! AES-256-GCM seal/open from `aes-gcm` in the same run (the ceiling).
//! `scripts/bench_crypto.sh` adds pgcrypto from a throwaway PostgreSQL.

use std::hint::black_box;
use std::sync::Arc;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phisafe::audit::{
    AuditError, AuditEvent, AuditSink, Durability, JsonlSink,
};
use phisafe::crypto::{
    Context, FieldCipher, LocalKek, MemoryKeyStore, Policy, Scope, audit_key,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Discards records: the "without audit" configuration.
struct NullSink;

impl AuditSink for NullSink {
    fn append(&self, _: &AuditEvent<'_>) -> Result<(), AuditError> {
        Ok(())
    }
}

/// The opt-out: records written up to 50 ms after their call returned.
const DEFERRED: Durability = Durability::Deferred {
    max_records: 1024,
    max_delay: std::time::Duration::from_millis(50),
};

fn cipher(audit: Option<(&std::path::Path, Durability)>) -> FieldCipher {
    let kek = Arc::new(LocalKek::from_bytes([7; 32]));
    let store = Arc::new(MemoryKeyStore::new());
    let sink: Arc<dyn AuditSink> = match audit {
        None => Arc::new(NullSink),
        Some((path, durability)) => {
            let key = audit_key(&*kek, &*store).expect("audit key");
            Arc::new(
                JsonlSink::open(path, key, durability).expect("audit log"),
            )
        }
    };
    FieldCipher::builder(kek, store)
        .policy(Policy::allow_all())
        .build(sink)
        .expect("cipher")
}

fn value(len: usize) -> Vec<u8> {
    (0..len).map(|i| b"0123456789-ABCDEFGHIJ "[i % 22]).collect()
}

fn bench_size(c: &mut Criterion, len: usize) {
    let mut g = c.benchmark_group(format!("crypto-{len}"));
    g.throughput(Throughput::Elements(1));
    let plain = value(len);

    let raw = Aes256Gcm::new(&[9u8; 32].into());
    let nonce = Nonce::from_slice(&[3u8; 12]);
    g.bench_function("raw-aes-gcm-seal", |b| {
        let mut buf = plain.clone();
        b.iter(|| {
            buf.copy_from_slice(&plain);
            black_box(
                raw.encrypt_in_place_detached(nonce, b"", &mut buf)
                    .expect("seal"),
            )
        })
    });
    let mut sealed = plain.clone();
    let tag =
        raw.encrypt_in_place_detached(nonce, b"", &mut sealed).expect("seal");
    g.bench_function("raw-aes-gcm-open", |b| {
        let mut buf = sealed.clone();
        b.iter(|| {
            buf.copy_from_slice(&sealed);
            raw.decrypt_in_place_detached(nonce, b"", &mut buf, &tag)
                .expect("open");
            black_box(&buf);
        })
    });

    let scope = Scope::new("patients.ssn").expect("scope");
    let ctx = Context::new(&scope, "patient-000042")
        .actor("bench")
        .role("app")
        .purpose("treatment");
    // A fresh cipher and audit log for every bench: a log grown by gigabytes
    // in an earlier bench would make the kernel's page-cache work part of
    // a later one (decrypting after encrypting measured 40% slower).
    let fresh = |audit: Option<Durability>| {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("audit.jsonl");
        (cipher(audit.map(|d| (log.as_path(), d))), dir)
    };
    // jsonl-audit: the default group commit, each call back only once its
    // record is fsynced; jsonl-deferred: the opt-out.
    for (name, audit) in [
        ("no-audit", None),
        ("jsonl-audit", Some(Durability::default())),
        ("jsonl-deferred", Some(DEFERRED)),
    ] {
        let (cipher, dir) = fresh(audit);
        g.bench_function(format!("encrypt-{name}"), |b| {
            b.iter(|| {
                black_box(
                    cipher
                        .encrypt_phi(&ctx, black_box(&plain))
                        .expect("encrypt"),
                )
            })
        });
        drop((cipher, dir));
        let (cipher, dir) = fresh(audit);
        let env = cipher.encrypt_phi(&ctx, &plain).expect("encrypt");
        g.bench_function(format!("decrypt-{name}"), |b| {
            b.iter(|| {
                black_box(
                    cipher
                        .decrypt_phi(&ctx, black_box(&env))
                        .expect("decrypt"),
                )
            })
        });
        drop((cipher, dir));
    }

    // Two threads decrypting through one durable sink share its fsyncs.
    let (cipher, dir) = fresh(Some(Durability::default()));
    let env = cipher.encrypt_phi(&ctx, &plain).expect("encrypt");
    g.bench_function("decrypt-jsonl-audit-2-threads", |b| {
        b.iter_custom(|n| {
            let start = std::time::Instant::now();
            std::thread::scope(|t| {
                for _ in 0..2 {
                    t.spawn(|| {
                        for _ in 0..n.div_ceil(2) {
                            black_box(
                                cipher
                                    .decrypt_phi(&ctx, &env)
                                    .expect("decrypt"),
                            );
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    drop((cipher, dir));

    // Batches of 1,000 with the audit sink: one record per call.
    let rows: Vec<String> =
        (0..1000).map(|i| format!("patient-{i:06}")).collect();
    let items: Vec<(&str, &[u8])> =
        rows.iter().map(|r| (r.as_str(), plain.as_slice())).collect();
    g.throughput(Throughput::Elements(1000));
    let (cipher, dir) = fresh(Some(Durability::default()));
    g.bench_function("encrypt-many-1000-jsonl-audit", |b| {
        b.iter(|| black_box(cipher.encrypt_many(&ctx, &items).expect("batch")))
    });
    drop((cipher, dir));
    let (cipher, dir) = fresh(Some(Durability::default()));
    let sealed = cipher.encrypt_many(&ctx, &items).expect("encrypt_many");
    let sealed_items: Vec<(&str, &[u8])> = rows
        .iter()
        .zip(&sealed)
        .map(|(r, s)| (r.as_str(), s.as_slice()))
        .collect();
    g.bench_function("decrypt-many-1000-jsonl-audit", |b| {
        b.iter(|| {
            black_box(cipher.decrypt_many(&ctx, &sealed_items).expect("batch"))
        })
    });
    drop((cipher, dir));
    g.finish();
}

fn crypto(c: &mut Criterion) {
    bench_size(c, 32);
    bench_size(c, 256);
}

criterion_group!(benches, crypto);
criterion_main!(benches);
