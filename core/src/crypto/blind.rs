//! Blind indexes: truncated keyed HMACs of normalized values, for equality
//! search over encrypted columns.
//!
//! Leakage: equal values (after normalizing) have equal indexes, so anyone
//! who reads the index column learns which rows share a value, and with a
//! known distribution (surnames, birth years) can guess frequent values.
//! Truncation trades that against lookup precision: with `bits` bits a
//! lookup also returns about `rows / 2^bits` false positives, which the
//! caller removes by decrypting. On a column with few distinct values an
//! index wide enough to tell them apart *is* the value, so
//! [`IndexSpec::distinct_values`] refuses widths above
//! `log2(distinct) - 1` bits (at least two values per index on average).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::CryptoError;

/// How a value is normalized before indexing, so that lookups match the
/// way people type the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalizer {
    /// The bytes as given.
    Exact,
    /// Trim, collapse inner whitespace to one space, lower-case (Unicode):
    /// names and emails.
    TrimCaseFold,
    /// ASCII digits only: SSNs, phone numbers written any way.
    Digits,
    /// The last four digits: the classic partial lookup.
    LastFour,
}

impl Normalizer {
    fn id(self) -> u8 {
        match self {
            Normalizer::Exact => 0,
            Normalizer::TrimCaseFold => 1,
            Normalizer::Digits => 2,
            Normalizer::LastFour => 3,
        }
    }

    /// Parses `exact`, `trim-casefold`, `digits` or `last4`.
    pub fn parse(s: &str) -> Option<Normalizer> {
        Some(match s {
            "exact" => Normalizer::Exact,
            "trim-casefold" => Normalizer::TrimCaseFold,
            "digits" => Normalizer::Digits,
            "last4" => Normalizer::LastFour,
            _ => return None,
        })
    }

    /// Applies the normalizer.
    pub fn apply(self, value: &str) -> String {
        match self {
            Normalizer::Exact => value.to_string(),
            Normalizer::TrimCaseFold => value
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
            Normalizer::Digits => {
                value.chars().filter(char::is_ascii_digit).collect()
            }
            Normalizer::LastFour => {
                let digits: Vec<char> =
                    value.chars().filter(char::is_ascii_digit).collect();
                digits[digits.len().saturating_sub(4)..].iter().collect()
            }
        }
    }
}

/// One blind index on a scope: its name, normalizer and width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    name: String,
    normalizer: Normalizer,
    bits: u16,
}

/// Widest index: the whole HMAC-SHA256.
pub const MAX_INDEX_BITS: u16 = 256;

impl IndexSpec {
    /// An index of `bits` bits (8 to 256). Two indexes on one scope with
    /// different names give unrelated values.
    pub fn new(
        name: &str,
        normalizer: Normalizer,
        bits: u16,
    ) -> Result<IndexSpec, CryptoError> {
        if !(8..=MAX_INDEX_BITS).contains(&bits) {
            return Err(CryptoError::InvalidIndex(format!(
                "index width {bits} bits is outside 8..=256"
            )));
        }
        if name.is_empty() || name.len() > 64 {
            return Err(CryptoError::InvalidIndex(
                "index name must be 1 to 64 bytes".into(),
            ));
        }
        Ok(IndexSpec { name: name.to_string(), normalizer, bits })
    }

    /// Declares that the column holds about `distinct` different values,
    /// and refuses a width that would give nearly every one its own index.
    pub fn distinct_values(
        self,
        distinct: u64,
    ) -> Result<IndexSpec, CryptoError> {
        let max = max_safe_bits(distinct);
        if u32::from(self.bits) > max {
            return Err(CryptoError::InvalidIndex(if max < 8 {
                format!(
                    "a column with about {distinct} distinct values cannot have a blind index: \
                     any index of 8 bits or more reveals the value; leave it unindexed"
                )
            } else {
                format!(
                    "a {}-bit index on a column with about {distinct} distinct values makes \
                     nearly every value unique; use at most {max} bits",
                    self.bits
                )
            }));
        }
        Ok(self)
    }

    /// The index name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The normalizer.
    pub fn normalizer(&self) -> Normalizer {
        self.normalizer
    }

    /// The width in bits.
    pub fn bits(&self) -> u16 {
        self.bits
    }

    pub(crate) fn compute(
        &self,
        key: &Hmac<Sha256>,
        value: &str,
    ) -> BlindIndex {
        let normalized = zeroize::Zeroizing::new(self.normalizer.apply(value));
        let mut m = key.clone();
        m.update(b"phisafe-bidx-v1");
        m.update(&[self.name.len() as u8]);
        m.update(self.name.as_bytes());
        m.update(&[self.normalizer.id()]);
        m.update(&self.bits.to_be_bytes());
        m.update(normalized.as_bytes());
        let full = m.finalize().into_bytes();
        let len = usize::from(self.bits).div_ceil(8);
        let mut bytes = full[..len].to_vec();
        let spare = len * 8 - usize::from(self.bits);
        if let Some(last) = bytes.last_mut() {
            *last &= 0xffu8 << spare;
        }
        BlindIndex { bytes }
    }
}

/// Widest index that leaves at least two values per index on average.
pub(crate) fn max_safe_bits(distinct: u64) -> u32 {
    distinct.checked_ilog2().unwrap_or(0).saturating_sub(1)
}

/// A blind index value. Compares in constant time.
#[derive(Clone, Eq)]
pub struct BlindIndex {
    bytes: Vec<u8>,
}

impl BlindIndex {
    /// The index bytes (what goes into the index column).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Lower-case hex, for TEXT index columns.
    pub fn to_hex(&self) -> String {
        super::hex(&self.bytes)
    }
}

impl PartialEq for BlindIndex {
    fn eq(&self, other: &BlindIndex) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The index is a keyed digest of PHI: equal values give equal
        // indexes, so it stays out of logs like the value.
        write!(f, "BlindIndex({} bytes)", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Hmac<Sha256> {
        <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&[5; 32]).unwrap()
    }

    #[test]
    fn normalizers() {
        assert_eq!(
            Normalizer::TrimCaseFold.apply("  Maria   LÓPEZ \t"),
            "maria lópez"
        );
        assert_eq!(Normalizer::Digits.apply("219-09-9999"), "219099999");
        assert_eq!(Normalizer::LastFour.apply("4111 1111 1111 1234"), "1234");
        assert_eq!(Normalizer::LastFour.apply("12"), "12");
        assert_eq!(Normalizer::Exact.apply(" a "), " a ");
    }

    #[test]
    fn equal_after_normalizing_and_truncated() {
        let spec = IndexSpec::new("ssn", Normalizer::Digits, 20).unwrap();
        let a = spec.compute(&key(), "219-09-9999");
        let b = spec.compute(&key(), "219 09 9999");
        assert_eq!(a, b);
        assert_eq!(a.as_bytes().len(), 3);
        assert_eq!(a.as_bytes()[2] & 0x0f, 0);
        assert_ne!(a, spec.compute(&key(), "219-09-9998"));
        let other = IndexSpec::new("ssn2", Normalizer::Digits, 20).unwrap();
        assert_ne!(a, other.compute(&key(), "219-09-9999"));
    }

    #[test]
    fn low_cardinality_widths_are_refused() {
        assert_eq!(max_safe_bits(1 << 20), 19);
        let spec =
            IndexSpec::new("state", Normalizer::TrimCaseFold, 16).unwrap();
        let err = spec.clone().distinct_values(60).unwrap_err();
        assert!(
            err.to_string().contains("cannot have a blind index"),
            "{err}"
        );
        let err = spec.clone().distinct_values(10_000).unwrap_err();
        assert!(err.to_string().contains("at most 12 bits"), "{err}");
        assert!(spec.distinct_values(1 << 20).is_ok());
        assert!(IndexSpec::new("x", Normalizer::Exact, 4).is_err());
    }
}
