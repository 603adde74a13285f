//! Detection: the pattern pack, the search engine, validators, context
//! scoring, overlap resolution and streaming.
//!
//! Every enabled pattern is compiled from its regex (ASCII mode, over
//! bytes). The search (see `search.rs`) finds, at every offset where some
//! pattern matches, each matching pattern's longest match there, so a
//! validator rejecting one reading never hides another. Each candidate then
//! passes its validator, context words around it set its score, and
//! overlapping findings are resolved (see `resolve.rs`).

mod context;
pub(crate) mod engine;
pub(crate) mod hints;
pub(crate) mod names;
pub(crate) mod pattern;
mod resolve;
mod search;
mod stream;
#[cfg(test)]
mod tests;
pub(crate) mod validate;

pub use engine::{DEFAULT_MIN_SCORE, Finding, Scanner, ScannerBuilder};
pub use pattern::{Pattern, PatternId};
pub use search::SearchStats;
pub use stream::{Block, Blocks, DEFAULT_CHUNK, ReaderScan};
