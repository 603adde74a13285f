//! Scanning readers in bounded memory.
//!
//! The input is read into a buffer that keeps, besides unprocessed bytes,
//! only what decisions near the next candidate may read (the scanner's
//! lookbehind). A candidate is evaluated once the buffer holds its longest
//! possible match plus the lookahead, so each decision sees the same bytes
//! it would see in a whole-buffer scan; overlap groups are resolved once no
//! later match can join them. The result is exactly [`Scanner::scan`] of
//! the whole input, whatever the chunk size.

use std::io::{self, Read};

use super::engine::Scanner;
use super::resolve;
use crate::Finding;

/// The default number of bytes read at a time.
pub const DEFAULT_CHUNK: usize = 64 * 1024;

/// A consecutive piece of a stream and the findings inside it.
///
/// The blocks of a stream, in order, cover every byte exactly once, and
/// every finding lies entirely within one block.
pub struct Block<'a> {
    /// Offset of `bytes[0]` from the start of the stream.
    pub offset: usize,
    /// The bytes of this block.
    pub bytes: &'a [u8],
    /// Findings inside this block, offsets from the start of the stream.
    pub findings: &'a [Finding],
}

/// Splits a reader into [`Block`]s with their findings.
///
/// This is the building block of streaming scans and redaction; most
/// callers want [`Scanner::scan_reader`] or
/// [`Redactor::redact_reader`](crate::Redactor::redact_reader).
pub struct Blocks<'s, R> {
    scanner: &'s Scanner,
    rdr: R,
    chunk: usize,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: usize,
    /// Stream offset up to which bytes were handed out in blocks.
    emitted: usize,
    /// Every match starting before this offset has been evaluated.
    next_start: usize,
    raw: Vec<Finding>,
    done: Vec<Finding>,
    eof: bool,
    /// Whether each block's candidates are found on the rayon pool.
    parallel: bool,
}

/// Shows the block's place and findings, never its bytes.
impl std::fmt::Debug for Block<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("offset", &self.offset)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("findings", &self.findings)
            .finish()
    }
}

/// Shows the position, never the buffered bytes.
impl<R> std::fmt::Debug for Blocks<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocks")
            .field("chunk", &self.chunk)
            .field("emitted", &self.emitted)
            .field("buffered", &self.buf.len())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl<'s, R: Read> Blocks<'s, R> {
    /// Reads `rdr` `chunk` bytes at a time (at least 1).
    pub fn new(scanner: &'s Scanner, rdr: R, chunk: usize) -> Blocks<'s, R> {
        Blocks {
            scanner,
            rdr,
            chunk: chunk.max(1),
            buf: Vec::new(),
            base: 0,
            emitted: 0,
            next_start: 0,
            raw: Vec::new(),
            done: Vec::new(),
            eof: false,
            parallel: false,
        }
    }

    /// Finds each block's candidates on the rayon pool, in pieces of about
    /// a megabyte (the blocks and findings are the same). Worth it with a
    /// chunk of several megabytes: one large file then scans on every
    /// core, in bounded memory.
    pub fn parallel(mut self, yes: bool) -> Blocks<'s, R> {
        self.parallel = yes;
        self
    }

    /// One read call's worth of bytes appended to the buffer.
    fn fill(&mut self) -> io::Result<()> {
        let old = self.buf.len();
        self.buf.resize(old + self.chunk, 0);
        let result = loop {
            match self.rdr.read(&mut self.buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let n = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(old + n);
        self.eof = n == 0 && result.is_ok();
        result.map(drop)
    }

    /// Drops buffered bytes no later step needs.
    fn compact(&mut self) {
        let lookbehind = self.scanner.inner.lookbehind;
        let keep_from = self
            .emitted
            .min(self.next_start.saturating_sub(lookbehind))
            .max(self.base);
        self.buf.drain(..keep_from - self.base);
        self.base = keep_from;
    }

    /// The next block, or `None` at the end of the stream.
    pub fn next_block(&mut self) -> io::Result<Option<Block<'_>>> {
        let inner = &self.scanner.inner;
        let reserve = inner.max_match_len + inner.lookahead;
        loop {
            if self.eof && self.emitted == self.base + self.buf.len() {
                return Ok(None);
            }
            if !self.eof {
                self.compact();
                self.fill()?;
            }
            let end = self.base + self.buf.len();
            let limit =
                if self.eof { end } else { end.saturating_sub(reserve) };
            if self.next_start < limit {
                let new = self.raw.len();
                let (from, to) =
                    (self.next_start - self.base, limit - self.base);
                let resume = if self.parallel {
                    inner.candidates_parallel(
                        &self.buf,
                        from,
                        to,
                        &mut self.raw,
                    )
                } else {
                    inner.candidates(&self.buf, from, to, &mut self.raw)
                };
                let base = self.base;
                for f in &mut self.raw[new..] {
                    *f = f.offset_by(base);
                }
                self.next_start = base + resume;
            }
            // Candidates come in start order, but a capture group can start
            // later than its match: sort before grouping.
            self.raw.sort_by_key(|f| f.start);
            let horizon = if self.eof { usize::MAX } else { self.next_start };
            self.done.clear();
            let used =
                resolve::resolve(&mut self.raw, horizon, &mut self.done);
            self.raw.drain(..used);
            let safe = match self.raw.first() {
                Some(f) => f.start.min(self.next_start),
                None => self.next_start,
            };
            if safe <= self.emitted {
                // Resolved findings end by `safe`, so there are none.
                debug_assert!(self.done.is_empty());
                continue;
            }
            let start = self.emitted;
            self.emitted = safe;
            return Ok(Some(Block {
                offset: start,
                bytes: &self.buf[start - self.base..safe - self.base],
                findings: &self.done,
            }));
        }
    }
}

/// An iterator over the findings of a reader; see
/// [`Scanner::scan_reader`].
#[derive(Debug)]
pub struct ReaderScan<'s, R> {
    blocks: Blocks<'s, R>,
    queue: std::collections::VecDeque<Finding>,
    failed: bool,
}

impl<'s, R: Read> ReaderScan<'s, R> {
    pub(crate) fn new(scanner: &'s Scanner, rdr: R) -> ReaderScan<'s, R> {
        ReaderScan::with_chunk(scanner, rdr, DEFAULT_CHUNK)
    }

    /// Reads `chunk` bytes at a time; the findings do not depend on it.
    pub fn with_chunk(
        scanner: &'s Scanner,
        rdr: R,
        chunk: usize,
    ) -> ReaderScan<'s, R> {
        ReaderScan {
            blocks: Blocks::new(scanner, rdr, chunk),
            queue: Default::default(),
            failed: false,
        }
    }
}

impl<R: Read> Iterator for ReaderScan<'_, R> {
    type Item = io::Result<Finding>;

    fn next(&mut self) -> Option<io::Result<Finding>> {
        while self.queue.is_empty() && !self.failed {
            match self.blocks.next_block() {
                Ok(Some(block)) => self.queue.extend(block.findings),
                Ok(None) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        self.queue.pop_front().map(Ok)
    }
}

impl<R: Read> std::iter::FusedIterator for ReaderScan<'_, R> {}
