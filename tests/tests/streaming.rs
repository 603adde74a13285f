//! Streaming equals whole-buffer scanning, for every chunk size.

use std::io::{self, Read};

use phisafe::scan::ReaderScan;
use phisafe::{Entity, Finding, Redactor, Scanner};
use proptest::prelude::*;

/// A reader that hands out at most `step` bytes per call, to exercise every
/// way a stream can be cut.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

const FRAGMENTS: &[&str] = &[
    "SSN 219-09-9999 ",
    "Dr. Alice Moreno ",
    "call (415) 555-2671",
    "DOB: 03/14/1957\n",
    "2024-03-14T10:22:01Z INFO ",
    "https://portal.example.org/p?ssn=219-09-9999 ",
    "postgres://app:s3cr3tPass@db:5432/x ",
    "NPI 1234567893 ",
    "order 1234567893 ",
    "jo.smith@example.net",
    "4111 1111 1111 1111 ",
    "ip 10.0.4.17 ",
    "José García ",
    "routing 021000021",
    "\u{1F4DE}",
    "\n",
    "   ",
    "MRN 00482913",
];

fn document() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::sample::select(FRAGMENTS).prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..8),
        1 => "[a-zA-Z0-9 .,:/@-]{0,12}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn streamed(
    scanner: &Scanner,
    data: &[u8],
    chunk: usize,
    step: usize,
) -> Vec<Finding> {
    ReaderScan::with_chunk(scanner, Trickle { data, step }, chunk)
        .collect::<io::Result<Vec<_>>>()
        .expect("reading memory cannot fail")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn reader_scan_equals_whole_scan(
        data in document(),
        chunk in 1usize..300,
        step in 1usize..64,
    ) {
        let scanner = shared();
        let whole = scanner.scan(&data);
        prop_assert_eq!(streamed(scanner, &data, chunk, step), whole);
    }

    #[test]
    fn redact_reader_equals_redact(data in document(), step in 1usize..64) {
        let redactor = Redactor::new(shared().clone());
        let mut out = Vec::new();
        redactor.redact_reader(Trickle { data: &data, step }, &mut out).unwrap();
        prop_assert_eq!(out, redactor.redact(&data));
    }
}

fn shared() -> &'static Scanner {
    static S: std::sync::OnceLock<Scanner> = std::sync::OnceLock::new();
    S.get_or_init(Scanner::new)
}

#[test]
fn every_chunk_size_on_a_dense_document() {
    let data: Vec<u8> = FRAGMENTS.concat().repeat(3).into_bytes();
    let scanner = shared();
    let whole = scanner.scan(&data);
    assert!(whole.len() > 30);
    for chunk in 1..=data.len() + 1 {
        assert_eq!(
            streamed(scanner, &data, chunk, chunk),
            whole,
            "chunk {chunk}"
        );
    }
}

#[test]
fn parallel_and_batch_equal_sequential() {
    let scanner = shared();
    let data: Vec<u8> = FRAGMENTS.concat().repeat(40_000).into_bytes();
    assert!(data.len() > 2 << 20);
    assert_eq!(scanner.scan_parallel(&data), scanner.scan(&data));
    let docs: Vec<&str> = FRAGMENTS.to_vec();
    let batch = scanner.scan_many(&docs);
    for (d, got) in docs.iter().zip(batch) {
        assert_eq!(got, scanner.scan(d.as_bytes()));
    }
}

#[test]
fn parallel_blocks_equal_sequential_blocks() {
    use phisafe::scan::Blocks;
    let scanner = shared();
    let data: Vec<u8> = FRAGMENTS.concat().repeat(60_000).into_bytes();
    let whole = scanner.scan(&data);
    // Chunks of 3 and 5 MiB: each block's range is cut into pieces.
    for chunk in [3 << 20, 5 << 20] {
        let mut blocks = Blocks::new(scanner, &data[..], chunk).parallel(true);
        let mut found = Vec::new();
        let mut covered = 0;
        while let Some(b) = blocks.next_block().unwrap() {
            assert_eq!(b.offset, covered);
            covered += b.bytes.len();
            found.extend_from_slice(b.findings);
        }
        assert_eq!(covered, data.len());
        assert_eq!(found, whole, "chunk {chunk}");
    }
}

#[test]
fn a_failing_reader_reports_the_error() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let scanner = shared();
    let mut it = scanner.scan_reader(Broken);
    assert!(it.next().unwrap().is_err());
    assert!(it.next().is_none());
}

/// A reader of `len` bytes of one line of word-like text, made on the fly.
struct OneLine {
    left: u64,
}

impl Read for OneLine {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        const TEXT: &[u8] = b"abc1 XyZ 42 zz";
        let n = (buf.len() as u64).min(self.left) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = TEXT[(self.left as usize + i) % TEXT.len()];
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[test]
fn a_gigabyte_on_one_line_streams() {
    // No line break anywhere: the stream must still advance in bounded
    // memory, and redaction must pass every byte through.
    let len = 1u64 << 30;
    let redactor = Redactor::new(shared().clone());
    let mut sink = io::sink();
    let stats =
        redactor.redact_reader(OneLine { left: len }, &mut sink).unwrap();
    assert_eq!(stats.bytes, len);
    assert_eq!(stats.findings, 0);
}

/// Builder options a user can set, drawn at random.
fn options() -> impl Strategy<Value = (Vec<usize>, f32, bool)> {
    (
        prop::collection::vec(0usize..Entity::ALL.len(), 1..6),
        0.0f32..1.0,
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// No input and no configuration panics, and every finding respects
    /// the configuration and lies inside the input.
    #[test]
    fn any_bytes_any_options(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        mixed in document(),
        (entities, min_score, log_timestamps) in options(),
    ) {
        let entities: Vec<Entity> = entities.iter().map(|&i| Entity::ALL[i]).collect();
        let scanner = Scanner::builder()
            .entities(entities.clone())
            .min_score(min_score)
            .log_timestamps(log_timestamps)
            .build()
            .unwrap();
        for hay in [&data, &mixed] {
            let found = scanner.scan(hay);
            for f in &found {
                prop_assert!(entities.contains(&f.entity()));
                prop_assert!(f.score() >= min_score);
                prop_assert!(f.start() < f.end() && f.end() <= hay.len());
            }
            prop_assert_eq!(streamed(&scanner, hay, 97, 13), found);
            let _ = Redactor::new(scanner.clone()).redact(hay);
        }
    }
}
