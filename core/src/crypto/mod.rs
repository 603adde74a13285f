//! Envelope encryption for PHI fields: the replacement for SQL
//! `encrypt_phi()` / `decrypt_phi()` functions built on one static key.
//!
//! - A master key (KEK) behind [`KeyProvider`] wraps per-scope data keys
//!   (DEKs), which a [`KeyStore`] keeps, wrapped, with versions and states.
//! - [`FieldCipher`] seals each value with XAES-256-GCM under its scope's
//!   active DEK. The associated data binds the value to its scope, tenant
//!   and row, so a value copied elsewhere fails to decrypt. Every call is
//!   checked against a [`Policy`] and written to an
//!   [`AuditSink`](crate::audit::AuditSink) first; no audit record, no
//!   plaintext.
//! - [`BlindIndex`] values give equality search without decryption.
//! - [`KeyAdmin`], built apart from any [`FieldCipher`], rotates, destroys
//!   and rewraps keys under the policy's key-management actions.
//!
//! The byte format is specified in `docs/FORMAT.md` and frozen by golden
//! vectors. That document also states the threat model: the process and
//! the master key are trusted; the database, the keyring's storage and the
//! audit log's storage are not (what each can and cannot do unseen is
//! listed there).
//!
//! ```
//! use std::sync::Arc;
//! use phisafe::audit::MemorySink;
//! use phisafe::crypto::{Context, FieldCipher, LocalKek, MemoryKeyStore, Policy, Scope};
//!
//! let kek = LocalKek::from_bytes([7; 32]);
//! let sink = Arc::new(MemorySink::new());
//! let cipher = FieldCipher::builder(Arc::new(kek), Arc::new(MemoryKeyStore::new()))
//!     .policy(Policy::allow_all())
//!     .build(sink.clone())?;
//!
//! let scope = Scope::new("patients.ssn")?;
//! let ctx = Context::new(&scope, "patient-42").actor("intake-svc").purpose("treatment");
//! let sealed = cipher.encrypt_phi(&ctx, b"219-09-9999")?;
//! assert_eq!(&cipher.decrypt_phi(&ctx, &sealed)?[..], b"219-09-9999");
//!
//! // The same bytes under another row do not decrypt.
//! let other = Context::new(&scope, "patient-43").actor("intake-svc").purpose("treatment");
//! assert!(cipher.decrypt_phi(&other, &sealed).is_err());
//! assert_eq!(sink.records().len(), 4); // key creation, encrypt, decrypt, failed decrypt
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod blind;
mod cipher;
mod format;
mod hot;
pub(crate) mod keys;
#[cfg(feature = "pkcs11")]
mod pkcs11;
mod policy;
pub(crate) mod rng;
mod store;
pub(crate) mod xaes;

use std::fmt;

pub use blind::{BlindIndex, IndexSpec, MAX_INDEX_BITS, Normalizer};
pub use cipher::{
    Context, FieldCipher, FieldCipherBuilder, KeyAdmin, audit_key,
};
pub use format::{
    ALG_XAES_256_GCM, Envelope, FORMAT_VERSION, HEADER_LEN, MAGIC,
    MAX_PLAINTEXT, OVERHEAD, TEXT_PREFIX, from_text, is_envelope, to_text,
};
pub use keys::{DataKey, KeyError, KeyProvider, LocalKek};
pub(crate) use keys::{hex, unhex};
#[cfg(feature = "pkcs11")]
pub use pkcs11::Pkcs11Kek;
pub use policy::{Action, Policy, PolicyError};
pub use store::{
    FileKeyStore, KeyPurpose, KeyRecord, KeyState, KeyStore, Keyring,
    MemoryKeyStore,
};

use crate::audit::AuditError;

/// Longest scope name or tenant, in bytes.
const MAX_SCOPE_PART: usize = 128;
/// Longest row reference, in bytes.
pub const MAX_ROW_REF: usize = 1024;

/// What a data key protects: a field (`table.column`), optionally for one
/// tenant. Names use ASCII letters, digits, `_`, `.` and `-`.
///
/// The canonical form, used in keyrings and audit records, is
/// `tenant/table.column` or `table.column`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Scope {
    name: String,
    tenant: Option<String>,
    canonical: String,
}

impl Scope {
    /// A scope without tenant.
    pub fn new(name: &str) -> Result<Scope, CryptoError> {
        check_part("scope", name)?;
        Ok(Scope {
            name: name.to_string(),
            tenant: None,
            canonical: name.to_string(),
        })
    }

    /// A scope for one tenant: each tenant gets its own data keys, so
    /// destroying them erases that tenant alone.
    pub fn with_tenant(
        name: &str,
        tenant: &str,
    ) -> Result<Scope, CryptoError> {
        check_part("scope", name)?;
        check_part("tenant", tenant)?;
        Ok(Scope {
            name: name.to_string(),
            tenant: Some(tenant.to_string()),
            canonical: format!("{tenant}/{name}"),
        })
    }

    /// Parses the canonical form (`table.column` or `tenant/table.column`).
    pub fn parse(canonical: &str) -> Result<Scope, CryptoError> {
        match canonical.split_once('/') {
            Some((tenant, name)) => Scope::with_tenant(name, tenant),
            None => Scope::new(canonical),
        }
    }

    /// The field name (`table.column`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tenant, if any.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The canonical form.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

fn check_part(what: &'static str, s: &str) -> Result<(), CryptoError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_SCOPE_PART
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(CryptoError::InvalidScope { what, len: s.len() })
    }
}

/// Why a value is not a well-formed envelope. Descriptive on purpose: it
/// is about framing, not about keys or integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// Does not start with the envelope magic byte (or the text prefix).
    NotEnvelope,
    /// Shorter than its header, nonce and tag.
    Truncated,
    /// A format version this build does not know.
    UnknownVersion(u8),
    /// An algorithm byte this build does not know.
    UnknownAlgorithm(u8),
    /// The text form is not valid base64url.
    BadText,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::NotEnvelope => f.write_str(
                "not a phisafe envelope (binary values start with byte 0xF5, text values with \"psf:\")",
            ),
            Malformed::Truncated => f.write_str("envelope is truncated"),
            Malformed::UnknownVersion(v) => write!(
                f,
                "envelope format version {v} is not supported by this build; upgrade phisafe"
            ),
            Malformed::UnknownAlgorithm(a) => write!(
                f,
                "envelope algorithm {a} is not supported by this build; upgrade phisafe"
            ),
            Malformed::BadText => f.write_str("text envelope is not valid base64url after \"psf:\""),
        }
    }
}

/// An error from [`FieldCipher`]. Never contains plaintext or key bytes.
#[derive(Debug)]
#[non_exhaustive]
pub enum CryptoError {
    /// Decryption failed: wrong key, wrong scope, tenant or row, or the
    /// bytes were changed. One opaque error for all of these, on purpose.
    Decrypt,
    /// The value is not a well-formed envelope.
    Malformed(Malformed),
    /// The envelope names a key version the keyring does not have.
    UnknownKey {
        /// Canonical scope.
        scope: String,
        /// Key version from the envelope header.
        version: u32,
    },
    /// The key version was destroyed (crypto-shredded): the value is gone.
    KeyDestroyed {
        /// Canonical scope.
        scope: String,
        /// Destroyed version.
        version: u32,
    },
    /// The policy does not allow this call.
    Denied(PolicyError),
    /// The audit record could not be written, so the call did not happen.
    Audit(AuditError),
    /// Key provider or keystore failure.
    Key(KeyError),
    /// A scope name or tenant is empty, too long or has other characters
    /// than ASCII letters, digits, `_`, `.` and `-`.
    InvalidScope {
        /// `"scope"` or `"tenant"`.
        what: &'static str,
        /// Its length in bytes (the value itself is not repeated).
        len: usize,
    },
    /// The row reference is longer than [`MAX_ROW_REF`] bytes.
    RowTooLong(usize),
    /// A value to seal or open has an empty row reference.
    RowMissing,
    /// A blind index specification is invalid or unsafe.
    InvalidIndex(String),
    /// The plaintext is larger than [`MAX_PLAINTEXT`].
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The operating system's random source failed.
    Random,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::Decrypt => f.write_str(
                "decryption failed: wrong key, wrong scope or row, or the value was altered",
            ),
            CryptoError::Malformed(m) => m.fmt(f),
            CryptoError::UnknownKey { scope, version } => write!(
                f,
                "no key version {version} for scope {scope} in the keyring; \
                 check that the right keyring is configured"
            ),
            CryptoError::KeyDestroyed { scope, version } => write!(
                f,
                "key version {version} of scope {scope} was destroyed; values sealed with it \
                 cannot be recovered"
            ),
            CryptoError::Denied(e) => e.fmt(f),
            CryptoError::Audit(e) => write!(f, "refused because the audit record failed: {e}"),
            CryptoError::Key(e) => e.fmt(f),
            CryptoError::InvalidScope { what, len } => write!(
                f,
                "invalid {what} ({len} bytes): use 1 to {MAX_SCOPE_PART} ASCII letters, digits, \
                 '_', '.' or '-'"
            ),
            CryptoError::RowMissing => f.write_str(
                "a value needs its row reference (such as the primary key) to bind it to its row; \
                 the empty reference is refused",
            ),
            CryptoError::RowTooLong(n) => {
                write!(f, "row reference of {n} bytes exceeds the {MAX_ROW_REF}-byte limit")
            }
            CryptoError::InvalidIndex(m) => write!(f, "blind index: {m}"),
            CryptoError::TooLarge { len } => write!(
                f,
                "value of {len} bytes exceeds the {MAX_PLAINTEXT}-byte limit of one envelope"
            ),
            CryptoError::Random => f.write_str("the operating system's random source failed"),
        }
    }
}

impl std::error::Error for CryptoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CryptoError::Audit(e) => Some(e),
            CryptoError::Key(e) => Some(e),
            CryptoError::Denied(e) => Some(e),
            _ => None,
        }
    }
}

impl From<KeyError> for CryptoError {
    fn from(e: KeyError) -> CryptoError {
        CryptoError::Key(e)
    }
}

impl From<AuditError> for CryptoError {
    fn from(e: AuditError) -> CryptoError {
        CryptoError::Audit(e)
    }
}

impl From<rng::RandomError> for CryptoError {
    fn from(_: rng::RandomError) -> CryptoError {
        CryptoError::Random
    }
}

#[cfg(test)]
mod tests;
