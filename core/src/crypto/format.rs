//! The envelope: a self-describing, versioned ciphertext (docs/FORMAT.md).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::xaes::{NONCE_LEN, TAG_LEN};
use super::{CryptoError, Malformed, Scope};

/// First byte of every binary envelope. 0xF5 never starts a UTF-8 string,
/// so an envelope cannot be mistaken for text that was stored as bytes.
pub const MAGIC: u8 = 0xF5;
/// The one envelope format version defined so far.
pub const FORMAT_VERSION: u8 = 1;
/// Algorithm byte for XAES-256-GCM.
pub const ALG_XAES_256_GCM: u8 = 1;
/// Prefix of the text form: `psf:` then the binary envelope in unpadded
/// base64url.
pub const TEXT_PREFIX: &str = "psf:";
/// Bytes before the nonce: magic, format version, algorithm, key version.
pub const HEADER_LEN: usize = 7;
/// Bytes a binary envelope adds to its plaintext (47).
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
/// Largest plaintext one envelope takes (16 MiB): a field, not a file.
pub const MAX_PLAINTEXT: usize = 16 << 20;

/// A parsed binary envelope, borrowed from its bytes.
///
/// ```
/// use phisafe::crypto::Envelope;
///
/// let err = Envelope::parse(b"not an envelope").unwrap_err();
/// assert!(err.to_string().contains("not a phisafe envelope"));
/// ```
#[derive(Clone, Copy)]
pub struct Envelope<'a> {
    bytes: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Checks the framing (magic, version, algorithm, length) without any
    /// key; a malformed value gives [`CryptoError::Malformed`].
    pub fn parse(bytes: &'a [u8]) -> Result<Envelope<'a>, CryptoError> {
        if bytes.first() != Some(&MAGIC) {
            return Err(CryptoError::Malformed(Malformed::NotEnvelope));
        }
        if bytes.len() < 2 {
            return Err(CryptoError::Malformed(Malformed::Truncated));
        }
        if bytes[1] != FORMAT_VERSION {
            return Err(CryptoError::Malformed(Malformed::UnknownVersion(
                bytes[1],
            )));
        }
        if bytes.len() < 3 {
            return Err(CryptoError::Malformed(Malformed::Truncated));
        }
        if bytes[2] != ALG_XAES_256_GCM {
            return Err(CryptoError::Malformed(Malformed::UnknownAlgorithm(
                bytes[2],
            )));
        }
        if bytes.len() < OVERHEAD {
            return Err(CryptoError::Malformed(Malformed::Truncated));
        }
        if bytes.len() - OVERHEAD > MAX_PLAINTEXT {
            return Err(CryptoError::TooLarge { len: bytes.len() - OVERHEAD });
        }
        Ok(Envelope { bytes })
    }

    /// The data key version that sealed this value.
    pub fn key_version(&self) -> u32 {
        u32::from_be_bytes([
            self.bytes[3],
            self.bytes[4],
            self.bytes[5],
            self.bytes[6],
        ])
    }

    /// The format version byte (always [`FORMAT_VERSION`] today).
    pub fn format_version(&self) -> u8 {
        self.bytes[1]
    }

    /// The algorithm byte ([`ALG_XAES_256_GCM`]).
    pub fn algorithm(&self) -> u8 {
        self.bytes[2]
    }

    /// Length of the plaintext inside.
    pub fn plaintext_len(&self) -> usize {
        self.bytes.len() - OVERHEAD
    }

    pub(crate) fn header(&self) -> &'a [u8] {
        &self.bytes[..HEADER_LEN]
    }

    pub(crate) fn nonce(&self) -> &'a [u8; NONCE_LEN] {
        // Length checked in parse: a wrong one is a bug, never zeros.
        self.bytes[HEADER_LEN..]
            .first_chunk()
            .expect("parse checked the envelope's length")
    }

    pub(crate) fn ciphertext(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN + NONCE_LEN..self.bytes.len() - TAG_LEN]
    }

    pub(crate) fn tag(&self) -> &'a [u8; TAG_LEN] {
        self.bytes.last_chunk().expect("parse checked the envelope's length")
    }
}

impl fmt::Debug for Envelope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("format_version", &self.format_version())
            .field("algorithm", &self.algorithm())
            .field("key_version", &self.key_version())
            .field("plaintext_len", &self.plaintext_len())
            .finish()
    }
}

/// Writes the 7-byte header.
pub(crate) fn header(key_version: u32) -> [u8; HEADER_LEN] {
    let v = key_version.to_be_bytes();
    [MAGIC, FORMAT_VERSION, ALG_XAES_256_GCM, v[0], v[1], v[2], v[3]]
}

/// Associated data: the header, then the scope name, tenant and row
/// reference, each with a 4-byte big-endian length. Built on the stack
/// unless the row reference is long: a heap allocation is a tenth of
/// sealing a short value.
pub(crate) struct Aad {
    inline: [u8; AAD_INLINE],
    len: usize,
    heap: Vec<u8>,
}

/// Room for a 64-byte scope and tenant with a 40-byte row reference.
const AAD_INLINE: usize = 192;

impl Aad {
    pub(crate) fn new() -> Aad {
        Aad { inline: [0; AAD_INLINE], len: 0, heap: Vec::new() }
    }

    /// Replaces the contents with the associated data of one value.
    pub(crate) fn set(&mut self, header: &[u8], scope: &Scope, row: &str) {
        let parts = [scope.name(), scope.tenant().unwrap_or(""), row];
        let len =
            header.len() + parts.iter().map(|p| 4 + p.len()).sum::<usize>();
        self.len = len;
        let out = if len <= AAD_INLINE {
            &mut self.inline[..len]
        } else {
            self.heap.resize(len, 0);
            &mut self.heap[..]
        };
        let (head, mut rest) = out.split_at_mut(header.len());
        head.copy_from_slice(header);
        for part in parts {
            let (n, tail) = rest.split_at_mut(4);
            n.copy_from_slice(&(part.len() as u32).to_be_bytes());
            let (bytes, tail) = tail.split_at_mut(part.len());
            bytes.copy_from_slice(part.as_bytes());
            rest = tail;
        }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        if self.len <= AAD_INLINE {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }
}

/// The text form of a binary envelope: `psf:` + base64url, no padding.
pub fn to_text(envelope: &[u8]) -> String {
    let mut s = String::with_capacity(
        TEXT_PREFIX.len() + envelope.len().div_ceil(3) * 4,
    );
    s.push_str(TEXT_PREFIX);
    URL_SAFE_NO_PAD.encode_string(envelope, &mut s);
    s
}

/// The binary envelope inside a text form.
pub fn from_text(text: &str) -> Result<Vec<u8>, CryptoError> {
    let body = text
        .trim_end()
        .strip_prefix(TEXT_PREFIX)
        .ok_or(CryptoError::Malformed(Malformed::NotEnvelope))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| CryptoError::Malformed(Malformed::BadText))?;
    Envelope::parse(&bytes)?;
    Ok(bytes)
}

/// Whether `value` looks like an envelope, in binary or text form: the
/// check a migration uses to skip values that are already encrypted.
/// Framing only; it proves nothing about keys or integrity.
pub fn is_envelope(value: &[u8]) -> bool {
    if value.starts_with(TEXT_PREFIX.as_bytes()) {
        return std::str::from_utf8(value).is_ok_and(|t| from_text(t).is_ok());
    }
    Envelope::parse(value).is_ok()
}
