//! JSON and JSON lines, walked by structure rather than scanned as text.
//!
//! Every string value, and every number as its text, is scanned on its own
//! and findings carry a JSON Pointer (RFC 6901) to their value. Field names
//! are hints: a value under `"last_name"` is a PERSON even though no pattern
//! matches a bare surname (see `patterns/keys.toml`). Keys themselves are
//! not scanned. The parser is iterative, so nesting depth is bounded by a
//! limit and never by the stack.

use crate::scan::engine::Finding;

mod redact;
mod scan;
pub(crate) mod stream;
mod syntax;

pub(crate) use scan::placeholder;
pub use scan::{JsonlLine, JsonlScan};
pub use stream::JsonElement;
pub(crate) use syntax::{Scalar, Segment, decode_key, walk_in};

/// The default limit on JSON nesting depth.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// A finding inside a JSON document.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonFinding {
    finding: Finding,
    pointer: String,
    folded: String,
}

impl JsonFinding {
    /// The finding. For JSON text its offsets are bytes into the text (for
    /// JSON lines, into the stream); for a [`serde_json::Value`] they are
    /// bytes into the string value (or the number's text) itself.
    pub fn finding(&self) -> &Finding {
        &self.finding
    }

    /// The JSON Pointer of the value holding the finding, such as
    /// `/patient/contact/0/phone`.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// The pointer with array indices as `*` (`/patient/contact/*/phone`):
    /// the column a per-column summary counts it under, as in
    /// [`JsonlLine::paths`].
    pub fn folded_pointer(&self) -> &str {
        &self.folded
    }
}
