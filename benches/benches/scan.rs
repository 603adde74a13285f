//! Scanner throughput. Every group also measures, on the same bytes and in
//! the same process, `memchr` for an absent byte (the memory-speed limit)
//! and, for the main workload, a naive baseline of one `regex` per pattern
//! run one after another; `scripts/bench_ratios.py` prints the ratios.

#![allow(missing_docs, reason = "criterion's macros generate items")]
#![allow(clippy::print_stdout, reason = "benches report the search state")]

use std::hint::black_box;

use criterion::{
    BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use phisafe::scan::ReaderScan;
use phisafe::{Entity, Scanner};
use phisafe_benches::{clinical_notes, dense_mixed, documents, sparse_log};

/// Larger than the last-level cache (32 MiB here), so `memchr` measures
/// memory speed rather than cache speed.
const SIZE: usize = 64 << 20;

fn memchr_baseline(c: &mut Criterion, group: &str, hay: &[u8]) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.bench_function("memchr-absent-byte", |b| {
        b.iter(|| memchr::memchr(0xFF, black_box(hay)))
    });
    g.finish();
}

fn naive_regexes(scanner: &Scanner) -> Vec<regex::bytes::Regex> {
    scanner
        .patterns()
        .iter()
        .map(|p| {
            regex::bytes::RegexBuilder::new(p.regex())
                .unicode(false)
                .size_limit(64 << 20)
                .build()
                .expect("pack regexes compile")
        })
        .collect()
}

fn sparse_logs(c: &mut Criterion) {
    let hay = sparse_log(SIZE);
    let scanner = Scanner::new();
    memchr_baseline(c, "sparse-log", &hay);
    let naive = naive_regexes(&scanner);
    let ssn = ssn_regex();
    let mut g = c.benchmark_group("sparse-log");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.sample_size(10);
    g.bench_function("phisafe-scan", |b| {
        b.iter(|| scanner.scan(black_box(&hay)).len())
    });
    g.bench_function("regex-ssn", |b| {
        b.iter(|| ssn.find_iter(black_box(&hay)).count())
    });
    g.bench_function("naive-regex-per-pattern", |b| {
        b.iter(|| {
            naive
                .iter()
                .map(|re| re.find_iter(black_box(&hay)).count())
                .sum::<usize>()
        })
    });
    g.bench_function("phisafe-scan-reader", |b| {
        b.iter(|| {
            ReaderScan::with_chunk(&scanner, black_box(&hay[..]), 64 << 10)
                .count()
        })
    });
    g.finish();
}

fn dense_notes(c: &mut Criterion) {
    let hay = clinical_notes(SIZE / 16);
    let scanner = Scanner::new();
    memchr_baseline(c, "clinical-notes", &hay);
    let mut g = c.benchmark_group("clinical-notes");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.sample_size(10);
    g.bench_function("phisafe-scan", |b| {
        b.iter(|| scanner.scan(black_box(&hay)).len())
    });
    g.finish();
}

/// The SSN shape alone, as `grep -E` would look for it: the one-pattern
/// bar the engine is held to on dense text.
fn ssn_regex() -> regex::bytes::Regex {
    regex::bytes::RegexBuilder::new(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b")
        .unicode(false)
        .build()
        .expect("the SSN shape compiles")
}

/// Dense, varied text (`scripts/gen_corpus.py --dense`): notes, logs in
/// thirty formats, HL7, JSON, CSV and SQL, about 11,000 PHI values per MB.
fn dense(c: &mut Criterion) {
    let all = dense_mixed(64 << 20);
    let hay = &all[..32 << 20];
    let scanner = Scanner::new();
    memchr_baseline(c, "dense-mixed", hay);
    let ssn = ssn_regex();
    let naive = naive_regexes(&scanner);
    let mut g = c.benchmark_group("dense-mixed");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.sample_size(10);
    g.bench_function("phisafe-scan", |b| {
        b.iter(|| scanner.scan(black_box(hay)).len())
    });
    g.bench_function("regex-ssn", |b| {
        b.iter(|| ssn.find_iter(black_box(hay)).count())
    });
    g.bench_function("naive-regex-per-pattern", |b| {
        b.iter(|| {
            naive
                .iter()
                .map(|re| re.find_iter(black_box(hay)).count())
                .sum::<usize>()
        })
    });
    g.finish();
    // The lazy DFAs must not thrash: in a steady state nothing is cleared.
    println!("dense-mixed search state: {:?}", scanner.search_stats());
    let docs = documents(hay, 1024);
    let mut g = c.benchmark_group("short-documents");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.sample_size(10);
    g.bench_function("phisafe-scan-1k", |b| {
        b.iter(|| {
            docs.iter()
                .map(|d| scanner.scan(black_box(d)).len())
                .sum::<usize>()
        })
    });
    g.finish();
    let mut g = c.benchmark_group("dense-threads");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.sample_size(10);
    for n in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("pool");
        g.bench_with_input(
            BenchmarkId::new("scan-parallel", n),
            hay,
            |b, hay| {
                b.iter(|| {
                    pool.install(|| {
                        scanner.scan_parallel(black_box(hay)).len()
                    })
                })
            },
        );
    }
    g.finish();
}

fn entity_sweep(c: &mut Criterion) {
    let hay = sparse_log(SIZE / 4);
    let mut g = c.benchmark_group("entity-sweep");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.sample_size(10);
    let order = [
        Entity::Ssn,
        Entity::Email,
        Entity::Phone,
        Entity::CreditCard,
        Entity::IpAddress,
        Entity::Secret,
        Entity::Date,
        Entity::Person,
        Entity::Mrn,
        Entity::Url,
    ];
    for n in [1, 5, 10, Entity::ALL.len()] {
        let entities: Vec<Entity> = if n == Entity::ALL.len() {
            Entity::ALL.to_vec()
        } else {
            order[..n].to_vec()
        };
        let scanner = Scanner::builder()
            .entities(entities)
            .build()
            .expect("valid filter");
        g.bench_with_input(BenchmarkId::new("entities", n), &hay, |b, hay| {
            b.iter(|| scanner.scan(black_box(hay)).len())
        });
    }
    g.finish();
}

fn threads(c: &mut Criterion) {
    let hay = sparse_log(SIZE);
    let scanner = Scanner::new();
    let mut g = c.benchmark_group("threads");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.sample_size(10);
    for n in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("pool");
        g.bench_with_input(
            BenchmarkId::new("scan-parallel", n),
            &hay,
            |b, hay| {
                b.iter(|| {
                    pool.install(|| {
                        scanner.scan_parallel(black_box(hay)).len()
                    })
                })
            },
        );
    }
    g.finish();
}

criterion_group!(
    benches,
    sparse_logs,
    dense,
    dense_notes,
    entity_sweep,
    threads
);
criterion_main!(benches);
