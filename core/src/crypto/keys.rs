//! Master keys (KEKs) behind [`KeyProvider`], and data keys.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::rng;
use super::xaes::{NONCE_LEN, TAG_LEN, Xaes};

/// A 256-bit data key. Zeroized on drop; `Debug` shows nothing.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<DataKey, KeyError> {
        let mut k = Zeroizing::new([0u8; 32]);
        rng::fill_os(&mut k[..])
            .map_err(|_| KeyError::Provider("random source failed".into()))?;
        Ok(DataKey(k))
    }

    /// A key from its bytes (for key providers).
    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        DataKey(Zeroizing::new(bytes))
    }

    /// The key bytes, for key providers that wrap them. Do not log or store
    /// them unwrapped.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Holds the master key (KEK) and wraps data keys with it.
///
/// `aad` binds a wrapped key to its keyring entry (scope, purpose,
/// version and state), so a wrapped key moved to another entry, or an
/// entry whose state was changed in the store, does not unwrap.
pub trait KeyProvider: Send + Sync {
    /// Identifies the KEK this provider wraps with; stored next to every
    /// wrapped key, so rotation knows which entries still need rewrapping.
    fn kek_id(&self) -> &str;

    /// Wraps `key`.
    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Unwraps a key wrapped by the KEK `kek_id`.
    fn unwrap(
        &self,
        kek_id: &str,
        wrapped: &[u8],
        aad: &[u8],
    ) -> Result<DataKey, KeyError>;
}

/// A KEK held in process memory: from a key file (`phisafe keys init`) or
/// an environment variable. Wraps with XAES-256-GCM.
pub struct LocalKek {
    xaes: Xaes,
    id: String,
}

const KEK_FILE_LEN: usize = 32;

impl LocalKek {
    /// A KEK from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> LocalKek {
        let bytes = Zeroizing::new(bytes);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&bytes[..])
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"phisafe kek id v1");
        let digest = mac.finalize().into_bytes();
        let id = format!("local:{}", hex(&digest[..8]));
        LocalKek { xaes: Xaes::new(&bytes), id }
    }

    /// Creates a key file of 32 random bytes with mode 0600. Refuses to
    /// overwrite an existing file: losing a KEK loses every value under it.
    pub fn create_file(path: &Path) -> Result<LocalKek, KeyError> {
        let mut key = Zeroizing::new([0u8; 32]);
        rng::fill_os(&mut key[..])
            .map_err(|_| KeyError::Provider("random source failed".into()))?;
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(path).map_err(|err| {
            if err.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::KeyFileExists(path.to_path_buf())
            } else {
                KeyError::Io {
                    what: "create key file",
                    path: path.to_path_buf(),
                    err,
                }
            }
        })?;
        file.write_all(&key[..]).and_then(|()| file.sync_all()).map_err(
            |err| KeyError::Io {
                what: "write key file",
                path: path.to_path_buf(),
                err,
            },
        )?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            sync_dir(dir);
        }
        Ok(LocalKek::from_bytes(*key))
    }

    /// Reads a key file: exactly 32 bytes, not readable by group or others.
    pub fn from_file(path: &Path) -> Result<LocalKek, KeyError> {
        let io = |err| KeyError::Io {
            what: "read key file",
            path: path.to_path_buf(),
            err,
        };
        let mut file = fs::File::open(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file.metadata().map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions {
                    path: path.to_path_buf(),
                    mode: mode & 0o777,
                });
            }
        }
        let mut buf = Zeroizing::new(Vec::with_capacity(KEK_FILE_LEN + 1));
        Read::by_ref(&mut file)
            .take(KEK_FILE_LEN as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(io)?;
        let key: [u8; 32] =
            buf.as_slice().try_into().map_err(|_| KeyError::BadKey {
                source: path.display().to_string(),
                reason: format!(
                    "expected exactly {KEK_FILE_LEN} bytes, found {}",
                    buf.len()
                ),
            })?;
        Ok(LocalKek::from_bytes(key))
    }

    /// Reads a KEK from an environment variable holding 32 bytes as 64 hex
    /// digits or base64.
    pub fn from_env(var: &str) -> Result<LocalKek, KeyError> {
        let value = Zeroizing::new(std::env::var(var).map_err(|_| {
            KeyError::BadKey {
                source: format!("environment variable {var}"),
                reason: "not set or not valid UTF-8".into(),
            }
        })?);
        let key =
            parse_key_text(value.trim()).ok_or_else(|| KeyError::BadKey {
                source: format!("environment variable {var}"),
                reason: "expected 32 bytes as 64 hex digits or base64".into(),
            })?;
        Ok(LocalKek::from_bytes(*key))
    }
}

/// A 32-byte key written as hex or base64 (standard or URL-safe, padded
/// or not), decoded in constant time: no branch or table lookup depends
/// on the key's bytes.
fn parse_key_text(s: &str) -> Option<Zeroizing<[u8; 32]>> {
    use base64ct::{
        Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding as _,
    };
    let mut out = Zeroizing::new([0u8; 32]);
    let len = |r: Option<&[u8]>| r.map_or(0, <[u8]>::len);
    let n = if s.len() == 64 {
        len(base16ct::mixed::decode(s, &mut out[..]).ok())
    } else {
        [
            Base64::decode,
            Base64Url::decode,
            Base64Unpadded::decode,
            Base64UrlUnpadded::decode,
        ]
        .iter()
        .map(|decode| len(decode(s, &mut out[..]).ok()))
        .find(|&n| n == 32)
        .unwrap_or(0)
    };
    (n == 32).then_some(out)
}

impl KeyProvider for LocalKek {
    fn kek_id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        // From the kernel: clones of a VM snapshot share the user-space
        // generator, and two of them wrapping under one KEK must not
        // repeat a nonce. Wraps are rare.
        let mut nonce = [0u8; NONCE_LEN];
        rng::fill_os(&mut nonce)
            .map_err(|_| KeyError::Provider("random source failed".into()))?;
        self.wrap_with_nonce(key, aad, &nonce)
    }

    fn unwrap(
        &self,
        kek_id: &str,
        wrapped: &[u8],
        aad: &[u8],
    ) -> Result<DataKey, KeyError> {
        if kek_id != self.id {
            return Err(KeyError::WrongKek {
                wrapped_by: kek_id.to_string(),
                have: self.id.clone(),
            });
        }
        if wrapped.len() != NONCE_LEN + 32 + TAG_LEN {
            return Err(KeyError::Unwrap);
        }
        let nonce: [u8; NONCE_LEN] =
            wrapped[..NONCE_LEN].try_into().map_err(|_| KeyError::Unwrap)?;
        let tag: [u8; TAG_LEN] = wrapped[NONCE_LEN + 32..]
            .try_into()
            .map_err(|_| KeyError::Unwrap)?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&wrapped[NONCE_LEN..NONCE_LEN + 32]);
        self.xaes
            .open(&nonce, aad, &mut key[..], &tag)
            .map_err(|_| KeyError::Unwrap)?;
        Ok(DataKey(key))
    }
}

impl LocalKek {
    /// Wrapped key layout: nonce (24) || XAES-256-GCM(dek) (32) || tag (16).
    pub(crate) fn wrap_with_nonce(
        &self,
        key: &DataKey,
        aad: &[u8],
        nonce: &[u8; NONCE_LEN],
    ) -> Result<Vec<u8>, KeyError> {
        let mut out = vec![0u8; NONCE_LEN + 32 + TAG_LEN];
        out[..NONCE_LEN].copy_from_slice(nonce);
        out[NONCE_LEN..NONCE_LEN + 32].copy_from_slice(key.expose_secret());
        let tag = self
            .xaes
            .seal(nonce, aad, &mut out[NONCE_LEN..NONCE_LEN + 32])
            .ok_or_else(|| KeyError::Provider("wrap failed".into()))?;
        out[NONCE_LEN + 32..].copy_from_slice(&tag);
        Ok(out)
    }
}

impl fmt::Debug for LocalKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Lowercase hex, in constant time: the one hex writer of the crate.
pub(crate) fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// Lowercase hex only (what [`hex`] writes), in constant time.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    base16ct::lower::decode_vec(s).ok()
}

/// Writes `bytes` to `path` through a temporary file (named with `prefix`)
/// in the same directory, synced and renamed into place: readers, and a
/// crash, see the old file or the new one, never half of one. An error
/// says which step failed ("create a temporary file next to", "write",
/// "replace").
pub(crate) fn replace_file(
    path: &Path,
    prefix: &str,
    bytes: &[u8],
) -> Result<(), (&'static str, std::io::Error)> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(dir)
        .map_err(|e| ("create a temporary file next to", e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| ("write", e))?;
    tmp.persist(path).map_err(|e| ("replace", e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Best effort: makes a rename or create durable on filesystems that need
/// the directory synced too.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// An error from a key provider or keystore. Never contains key bytes.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyError {
    /// A file operation failed.
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        err: std::io::Error,
    },
    /// `keys init` found a key file already there.
    KeyFileExists(PathBuf),
    /// A key file is readable by group or others.
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file or variable does not hold a key.
    BadKey {
        /// Where the key came from (path or variable name).
        source: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The keyring file cannot be parsed.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong (never key bytes).
        reason: String,
    },
    /// The entry was wrapped by another KEK than the provider holds.
    WrongKek {
        /// KEK id recorded with the wrapped key.
        wrapped_by: String,
        /// KEK id of the provider.
        have: String,
    },
    /// The KEK could not unwrap a key: the entry was altered or moved.
    Unwrap,
    /// A key provider (HSM, KMS) failed.
    Provider(String),
    /// A keyring store (a database) failed.
    Store(String),
    /// No such key in the keyring.
    NotFound {
        /// Canonical scope.
        scope: String,
        /// Version asked for.
        version: u32,
    },
    /// A destructive operation was not confirmed with the expected words.
    NotConfirmed {
        /// What the caller must pass to confirm.
        expected: String,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Io { what, path, err } => {
                write!(f, "cannot {what} {}: {err}", path.display())
            }
            KeyError::KeyFileExists(p) => write!(
                f,
                "key file {} already exists; refusing to overwrite a master key (move it away \
                 first if you really mean to replace it)",
                p.display()
            ),
            KeyError::Permissions { path, mode } => write!(
                f,
                "key file {} has mode {mode:03o}, readable by others; run chmod 600 on it",
                path.display()
            ),
            KeyError::BadKey { source, reason } => write!(f, "{source} is not a key: {reason}"),
            KeyError::Corrupt { path, reason } => write!(
                f,
                "keyring {} cannot be read: {reason}; restore it from backup",
                path.display()
            ),
            KeyError::WrongKek { wrapped_by, have } => write!(
                f,
                "the keyring entry was wrapped by master key {wrapped_by} but the configured \
                 master key is {have}; configure the right key file, or run `phisafe keys rewrap`"
            ),
            KeyError::Unwrap => f.write_str(
                "the master key cannot unwrap a data key: the keyring entry was altered (its \
                 state changed outside phisafe, for example) or belongs to another entry",
            ),
            KeyError::Provider(m) => write!(f, "key provider failed: {m}"),
            KeyError::Store(m) => write!(f, "keyring store failed: {m}"),
            KeyError::NotFound { scope, version } => {
                write!(f, "no key version {version} for scope {scope}")
            }
            KeyError::NotConfirmed { expected } => write!(
                f,
                "refusing to destroy a key without confirmation; confirm with {expected:?}"
            ),
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyError::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trip_and_binding() {
        let kek = LocalKek::from_bytes([1; 32]);
        let dek = DataKey::from_bytes([2; 32]);
        let w = kek.wrap(&dek, b"a").unwrap();
        assert_eq!(
            kek.unwrap(kek.kek_id(), &w, b"a").unwrap().expose_secret(),
            &[2; 32]
        );
        assert!(matches!(
            kek.unwrap(kek.kek_id(), &w, b"b"),
            Err(KeyError::Unwrap)
        ));
        let other = LocalKek::from_bytes([3; 32]);
        assert_ne!(other.kek_id(), kek.kek_id());
        assert!(matches!(
            other.unwrap(kek.kek_id(), &w, b"a"),
            Err(KeyError::WrongKek { .. })
        ));
        for i in 0..w.len() {
            let mut bad = w.clone();
            bad[i] ^= 0x40;
            assert!(kek.unwrap(kek.kek_id(), &bad, b"a").is_err());
        }
    }

    #[test]
    fn key_text_forms() {
        let hex64 = "00".repeat(31) + "ff";
        assert_eq!(parse_key_text(&hex64).unwrap()[31], 0xff);
        let b64 = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [9u8; 32],
        );
        assert_eq!(*parse_key_text(&b64).unwrap(), [9u8; 32]);
        assert_eq!(parse_key_text(&hex64.to_uppercase()).unwrap()[31], 0xff);
        // URL-safe without padding: `-` and `_` where standard has + and /.
        let url = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            [0xfbu8; 32],
        );
        assert!(url.contains(['-', '_']) && !url.ends_with('='));
        assert_eq!(*parse_key_text(&url).unwrap(), [0xfb; 32]);
        assert!(parse_key_text("short").is_none());
        assert!(parse_key_text(&"zz".repeat(32)).is_none());
        // 31 or 33 bytes are no key.
        for n in [31, 33] {
            let b64 = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                vec![9u8; n],
            );
            assert!(parse_key_text(&b64).is_none(), "{n} bytes");
        }
    }

    #[test]
    fn key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        let a = LocalKek::create_file(&path).unwrap();
        assert!(matches!(
            LocalKek::create_file(&path),
            Err(KeyError::KeyFileExists(_))
        ));
        let b = LocalKek::from_file(&path).unwrap();
        assert_eq!(a.kek_id(), b.kek_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644))
                .unwrap();
            assert!(matches!(
                LocalKek::from_file(&path),
                Err(KeyError::Permissions { .. })
            ));
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        fs::write(&path, [0u8; 31]).unwrap();
        let err = LocalKek::from_file(&path).unwrap_err();
        assert!(err.to_string().contains("exactly 32 bytes"), "{err}");
    }

    #[test]
    fn debug_shows_no_key() {
        let kek = LocalKek::from_bytes([0xab; 32]);
        let dek = DataKey::from_bytes([0xcd; 32]);
        let text = format!("{kek:?} {dek:?}");
        assert!(
            !text.contains("171")
                && !text.contains("ab, ab")
                && !text.contains("abab")
        );
        assert!(!text.contains("205") && !text.contains("cdcd"));
    }
}
