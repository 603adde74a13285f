//! Structured scanning (JSON lines, CSV, pg_dump COPY) against plain-text
//! scanning of the same bytes, in the same run.

#![allow(missing_docs, reason = "criterion's macros generate items")]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phisafe::Scanner;
use phisafe::format::csv::CsvOptions;
use phisafe::format::dump::DumpDialect;
use phisafe_benches::{patients_csv, patients_jsonl, patients_pg_dump};

const SIZE: usize = 16 << 20;

/// As in the CLI: glibc's malloc slows frees across threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn structured(c: &mut Criterion) {
    let scanner = Scanner::new();
    let inputs = [
        ("jsonl", patients_jsonl(SIZE)),
        ("csv", patients_csv(SIZE)),
        ("pg-dump", patients_pg_dump(SIZE)),
    ];
    for (name, data) in &inputs {
        let mut g = c.benchmark_group(format!("structured-{name}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.sample_size(10);
        g.bench_function("as-text", |b| {
            b.iter(|| scanner.scan(black_box(data)).len())
        });
        g.bench_function("structured", |b| {
            b.iter(|| match *name {
                "jsonl" => scanner
                    .scan_jsonl(black_box(&data[..]))
                    .map(|r| {
                        r.map(|(_, f)| f.map_or(0, |f| f.len())).unwrap_or(0)
                    })
                    .sum::<usize>(),
                "csv" => scanner
                    .scan_csv(black_box(&data[..]), CsvOptions::new())
                    .count(),
                _ => {
                    let mut rows = scanner.scan_dump(
                        black_box(&data[..]),
                        DumpDialect::Postgres,
                    );
                    let mut n = 0;
                    while let Some(r) = rows.next_row() {
                        n += r.map_or(0, |r| r.findings.len());
                    }
                    n
                }
            })
        });
        g.finish();
    }
}

/// A reader that hands out at most `step` bytes per call, as a socket
/// or a pipe does.
struct Chunks<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// One JSON document streamed element by element, from memory and from a
/// reader that returns 1,500 bytes per call (a network packet), and a
/// document of the same size of notes without PHI.
fn json_stream(c: &mut Criterion) {
    let scanner = Scanner::new();
    let lines = patients_jsonl(SIZE);
    let mut doc = b"{\"export\": {\"patients\": [".to_vec();
    for (i, line) in
        lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate()
    {
        if i > 0 {
            doc.push(b',');
        }
        doc.extend_from_slice(line);
    }
    doc.extend_from_slice(b"]}}");
    let mut g = c.benchmark_group("json-stream");
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.sample_size(10);
    let count = |rdr: &mut dyn std::io::Read| {
        let mut n = 0;
        scanner
            .scan_json_stream(rdr, |e| {
                n += e.findings.len();
                Ok(())
            })
            .expect("valid JSON");
        n
    };
    g.bench_function("whole", |b| b.iter(|| count(&mut black_box(&doc[..]))));
    // Free text with no PHI: what the splitter itself costs shows.
    let mut sparse = b"{\"export\": {\"notes\": [".to_vec();
    for i in 0.. {
        if sparse.len() >= doc.len() {
            break;
        }
        if i > 0 {
            sparse.push(b',');
        }
        let note = "The quick brown fox jumps over the lazy dog near the \
                    river bank while the weather stays calm and dry";
        sparse.extend_from_slice(
            format!("{{\"id\": {i}, \"text\": \"{note}, item {i}.\"}}")
                .as_bytes(),
        );
    }
    sparse.extend_from_slice(b"]}}");
    g.bench_function("sparse-notes", |b| {
        b.iter(|| count(&mut black_box(&sparse[..])))
    });
    g.bench_function("1500-byte-reads", |b| {
        b.iter(|| count(&mut Chunks { data: black_box(&doc[..]), step: 1500 }))
    });
    g.finish();
}

/// JSON lines, CSV and a pg_dump scanned within one stream on 1 and 2
/// threads.
fn threads(c: &mut Criterion) {
    let scanner = Scanner::new();
    let jsonl = patients_jsonl(SIZE);
    let csv = patients_csv(SIZE);
    let dump = patients_pg_dump(SIZE);
    let expect = "reading memory cannot fail";
    type Run<'a> = Box<dyn Fn() -> usize + Sync + 'a>;
    let runs: [(&str, usize, Run<'_>); 3] = [
        (
            "jsonl",
            jsonl.len(),
            Box::new(|| {
                let mut found = 0;
                scanner
                    .scan_jsonl_parallel(black_box(&jsonl[..]), |line| {
                        found += line.result.map_or(0, |f| f.len());
                        Ok(())
                    })
                    .expect(expect);
                found
            }),
        ),
        (
            "csv",
            csv.len(),
            Box::new(|| {
                let mut found = 0;
                scanner
                    .scan_csv_parallel(
                        black_box(&csv[..]),
                        CsvOptions::new(),
                        |rec| {
                            found += rec.findings.len();
                            Ok(())
                        },
                    )
                    .expect(expect);
                found
            }),
        ),
        (
            "pg-dump",
            dump.len(),
            Box::new(|| {
                let mut found = 0;
                scanner
                    .scan_dump_parallel(
                        black_box(&dump[..]),
                        DumpDialect::Postgres,
                        |row| {
                            found += row.findings.len();
                            Ok(())
                        },
                    )
                    .expect(expect);
                found
            }),
        ),
    ];
    for (name, len, run) in &runs {
        let mut g = c.benchmark_group(format!("structured-{name}-threads"));
        g.throughput(Throughput::Bytes(*len as u64));
        g.sample_size(10);
        for n in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("pool");
            g.bench_function(format!("parallel/{n}"), |b| {
                b.iter(|| pool.install(run))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, structured, json_stream, threads);
criterion_main!(benches);
