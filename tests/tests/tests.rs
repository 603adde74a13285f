//! Integration tests, one binary. Modules:
//!
//! - `accuracy`: per-entity precision and recall on the synthetic labeled
//!   corpus in `data/corpus.jsonl`, with the thresholds they must meet.
//! - `streaming`: scanning and redacting readers gives exactly the
//!   whole-buffer result, for every chunk size (property tests).

mod accuracy;
mod streaming;
