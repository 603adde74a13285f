//! Detection: the pattern pack, the one-pass engine, validators, context
//! scoring, overlap resolution and streaming.
//!
//! Every enabled pattern is compiled into one leftmost-first multi-pattern
//! regex (ASCII mode, over bytes). The scan visits every offset where some
//! pattern matches; a match-all automaton, asked anchored at that offset,
//! says which other patterns match there too, so a validator rejecting one
//! reading never hides another. Each candidate then passes its validator,
//! context words around it set its score, and overlapping findings are
//! resolved (see `resolve.rs`).

mod classify;
mod context;
pub(crate) mod csv;
pub(crate) mod dump;
mod engine;
pub(crate) mod json;
pub(crate) mod json_stream;
pub(crate) mod names;
pub(crate) mod pattern;
mod resolve;
mod stream;
#[cfg(test)]
mod tests;
pub(crate) mod validate;

pub use classify::{
    Classifier, ColumnSummary, DEFAULT_CLASSIFY_THRESHOLD, EntityCount,
};
pub use csv::{CsvFinding, CsvOptions, CsvRecord, CsvScan};
pub use dump::{
    DumpDialect, DumpError, DumpFinding, DumpRow, DumpScan, DumpValues,
};
pub use engine::{DEFAULT_MIN_SCORE, Finding, Scanner, ScannerBuilder};
pub use json::{
    DEFAULT_MAX_DEPTH, JsonError, JsonFinding, JsonlLine, JsonlScan,
};
pub use json_stream::JsonElement;
pub use pattern::{Pattern, PatternId};
pub use stream::{Block, Blocks, DEFAULT_CHUNK, ReaderScan};
