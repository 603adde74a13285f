//! Keyrings: wrapped data keys with versions and states, behind
//! [`KeyStore`].

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::keys::KeyError;

/// What a data key is for. A scope's encryption and blind-index keys are
/// separate random keys, so one never helps attack the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyPurpose {
    /// Seals values.
    Encrypt,
    /// Keys the blind-index HMAC.
    Index,
    /// Keys the audit chain HMAC.
    Audit,
}

impl KeyPurpose {
    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Encrypt => "encrypt",
            KeyPurpose::Index => "index",
            KeyPurpose::Audit => "audit",
        }
    }
}

impl std::str::FromStr for KeyPurpose {
    type Err = KeyError;

    /// The stored name back (`encrypt`, `index`, `audit`).
    fn from_str(s: &str) -> Result<KeyPurpose, KeyError> {
        [KeyPurpose::Encrypt, KeyPurpose::Index, KeyPurpose::Audit]
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                KeyError::Store(format!("unknown key purpose {s:?}"))
            })
    }
}

/// Lifecycle of a data key version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Seals new values (one per scope and purpose) and opens old ones.
    Active,
    /// Opens values sealed earlier; seals nothing new.
    DecryptOnly,
    /// Wrapped key erased: its values are unrecoverable.
    Destroyed,
}

impl KeyState {
    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::DecryptOnly => "decrypt_only",
            KeyState::Destroyed => "destroyed",
        }
    }
}

impl std::str::FromStr for KeyState {
    type Err = KeyError;

    /// The stored name back (`active`, `decrypt_only`, `destroyed`).
    fn from_str(s: &str) -> Result<KeyState, KeyError> {
        [KeyState::Active, KeyState::DecryptOnly, KeyState::Destroyed]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| KeyError::Store(format!("unknown key state {s:?}")))
    }
}

/// One data key version, wrapped by a KEK.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Canonical scope (`table.column` or `tenant/table.column`).
    pub scope: String,
    /// What the key is for.
    pub purpose: KeyPurpose,
    /// Version, from 1, unique within scope and purpose.
    pub version: u32,
    /// Lifecycle state.
    pub state: KeyState,
    /// Id of the KEK that wrapped it.
    pub kek_id: String,
    /// The wrapped key; empty once destroyed.
    #[serde(with = "b64")]
    pub wrapped: Vec<u8>,
    /// Creation time, RFC 3339 UTC.
    pub created: String,
}

impl KeyRecord {
    /// The associated data a KEK binds the wrapped key to: scope, purpose,
    /// version and state, so an entry copied onto another does not
    /// unwrap, nor one whose state was changed in the store (an old
    /// version made active again).
    pub fn wrap_aad(&self) -> Vec<u8> {
        wrap_aad(&self.scope, self.purpose, self.version, self.state)
    }

    /// The associated data of entries wrapped before their state was
    /// bound (version 1): scope, purpose and version.
    pub(crate) fn legacy_wrap_aad(&self) -> Vec<u8> {
        legacy_wrap_aad(&self.scope, self.purpose, self.version)
    }
}

pub(crate) fn legacy_wrap_aad(
    scope: &str,
    purpose: KeyPurpose,
    version: u32,
) -> Vec<u8> {
    aad(scope, purpose, version, None)
}

pub(crate) fn wrap_aad(
    scope: &str,
    purpose: KeyPurpose,
    version: u32,
    state: KeyState,
) -> Vec<u8> {
    aad(scope, purpose, version, Some(state))
}

/// Format v2 binds the state; v1 had none.
fn aad(
    scope: &str,
    purpose: KeyPurpose,
    version: u32,
    state: Option<KeyState>,
) -> Vec<u8> {
    let mut aad = Vec::with_capacity(48 + scope.len());
    aad.extend_from_slice(match state {
        Some(_) => b"phisafe-wrap-v2",
        None => b"phisafe-wrap-v1",
    });
    aad.extend_from_slice(&(scope.len() as u32).to_be_bytes());
    aad.extend_from_slice(scope.as_bytes());
    aad.extend_from_slice(purpose.as_str().as_bytes());
    aad.extend_from_slice(&version.to_be_bytes());
    if let Some(state) = state {
        aad.extend_from_slice(state.as_str().as_bytes());
    }
    aad
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRecord")
            .field("scope", &self.scope)
            .field("purpose", &self.purpose)
            .field("version", &self.version)
            .field("state", &self.state)
            .field("kek_id", &self.kek_id)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

mod b64 {
    use super::*;

    pub(super) fn serialize<S: serde::Serializer>(
        v: &[u8],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

/// Every data key version of an application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    /// The entries, in creation order.
    pub keys: Vec<KeyRecord>,
}

impl Keyring {
    /// Checks what `active` and `get` rely on: one entry per scope,
    /// purpose and version, and at most one active version per scope and
    /// purpose. A keyring edited by hand or by an attacker (a second
    /// active entry, an old version set active again beside the new one)
    /// is refused rather than read by whichever entry comes first.
    pub fn validate(&self) -> Result<(), &'static str> {
        let mut versions = std::collections::HashSet::new();
        let mut active = std::collections::HashSet::new();
        for k in &self.keys {
            if !versions.insert((k.scope.as_str(), k.purpose, k.version)) {
                return Err("two entries for one scope, purpose and version");
            }
            if k.state == KeyState::Active
                && !active.insert((k.scope.as_str(), k.purpose))
            {
                return Err("two active versions for one scope and purpose");
            }
        }
        Ok(())
    }

    /// The active version for a scope and purpose.
    pub fn active(
        &self,
        scope: &str,
        purpose: KeyPurpose,
    ) -> Option<&KeyRecord> {
        self.keys.iter().find(|k| {
            k.scope == scope
                && k.purpose == purpose
                && k.state == KeyState::Active
        })
    }

    /// One version.
    pub fn get(
        &self,
        scope: &str,
        purpose: KeyPurpose,
        version: u32,
    ) -> Option<&KeyRecord> {
        self.keys.iter().find(|k| {
            k.scope == scope && k.purpose == purpose && k.version == version
        })
    }

    pub(crate) fn get_mut(
        &mut self,
        scope: &str,
        purpose: KeyPurpose,
        version: u32,
    ) -> Option<&mut KeyRecord> {
        self.keys.iter_mut().find(|k| {
            k.scope == scope && k.purpose == purpose && k.version == version
        })
    }

    /// The next unused version for a scope and purpose.
    pub fn next_version(&self, scope: &str, purpose: KeyPurpose) -> u32 {
        self.keys
            .iter()
            .filter(|k| k.scope == scope && k.purpose == purpose)
            .map(|k| k.version)
            .max()
            .unwrap_or(0)
            + 1
    }
}

/// Where wrapped data keys live.
///
/// `update` is a transaction: it reads the current keyring, lets `change`
/// edit it, and stores the result atomically, serialized against other
/// updates (also from other processes, for shared stores). If `change`
/// fails nothing is written.
pub trait KeyStore: Send + Sync {
    /// The current keyring (empty if none was stored yet).
    fn load(&self) -> Result<Keyring, KeyError>;

    /// Read, change and store, atomically; returns the stored keyring.
    fn update(
        &self,
        change: &mut dyn FnMut(&mut Keyring) -> Result<(), KeyError>,
    ) -> Result<Keyring, KeyError>;
}

/// A keyring in memory, for tests and short-lived tools.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    ring: Mutex<Keyring>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> MemoryKeyStore {
        MemoryKeyStore::default()
    }
}

impl KeyStore for MemoryKeyStore {
    fn load(&self) -> Result<Keyring, KeyError> {
        Ok(self.ring.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    fn update(
        &self,
        change: &mut dyn FnMut(&mut Keyring) -> Result<(), KeyError>,
    ) -> Result<Keyring, KeyError> {
        let mut guard = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = guard.clone();
        change(&mut next)?;
        *guard = next.clone();
        Ok(next)
    }
}

/// A keyring in one JSON file, the embedded default.
///
/// Updates hold an exclusive lock on `<file>.lock` (other processes wait),
/// write the new keyring to a temporary file in the same directory, sync
/// it and rename it over the old one: a crash at any point leaves either
/// the old or the new keyring, never a torn one.
#[derive(Debug, Clone)]
pub struct FileKeyStore {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct KeyringFile {
    format: String,
    version: u32,
    keys: Vec<KeyRecord>,
}

const FILE_FORMAT: &str = "phisafe-keyring";

impl FileKeyStore {
    /// A store at `path`; the file is created on the first update.
    pub fn new(path: impl Into<PathBuf>) -> FileKeyStore {
        FileKeyStore { path: path.into() }
    }

    /// The keyring file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        PathBuf::from(p)
    }

    fn io(&self, what: &'static str, err: std::io::Error) -> KeyError {
        KeyError::Io { what, path: self.path.clone(), err }
    }

    fn write(&self, ring: &Keyring) -> Result<(), KeyError> {
        let file = KeyringFile {
            format: FILE_FORMAT.into(),
            version: 1,
            keys: ring.keys.clone(),
        };
        let mut json = serde_json::to_vec_pretty(&file).map_err(|e| {
            KeyError::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        })?;
        json.push(b'\n');
        super::keys::replace_file(&self.path, ".phisafe-keyring", &json)
            .map_err(|(what, e)| self.io(what, e))
    }
}

impl KeyStore for FileKeyStore {
    fn load(&self) -> Result<Keyring, KeyError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Keyring::default());
            }
            Err(e) => return Err(self.io("read", e)),
        };
        let file: KeyringFile =
            serde_json::from_slice(&bytes).map_err(|e| KeyError::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        if file.format != FILE_FORMAT || file.version != 1 {
            return Err(KeyError::Corrupt {
                path: self.path.clone(),
                reason: format!(
                    "unknown format {:?} version {}",
                    file.format, file.version
                ),
            });
        }
        let ring = Keyring { keys: file.keys };
        ring.validate().map_err(|reason| KeyError::Corrupt {
            path: self.path.clone(),
            reason: reason.into(),
        })?;
        Ok(ring)
    }

    fn update(
        &self,
        change: &mut dyn FnMut(&mut Keyring) -> Result<(), KeyError>,
    ) -> Result<Keyring, KeyError> {
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.lock_path())
            .map_err(|e| self.io("open the lock file of", e))?;
        lock.lock().map_err(|e| self.io("lock", e))?;
        let mut ring = self.load()?;
        change(&mut ring)?;
        self.write(&ring)?;
        drop(lock);
        Ok(ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: u32) -> KeyRecord {
        KeyRecord {
            scope: "t.c".into(),
            purpose: KeyPurpose::Encrypt,
            version,
            state: KeyState::Active,
            kek_id: "local:00".into(),
            wrapped: vec![1, 2, 3],
            created: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_keyring_with_two_actives_or_a_repeated_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        let store = FileKeyStore::new(&path);
        let mut retired = record(1);
        retired.state = KeyState::DecryptOnly;
        store
            .update(&mut |r| {
                r.keys = vec![retired.clone(), record(2)];
                Ok(())
            })
            .unwrap();
        assert_eq!(store.load().unwrap().keys.len(), 2);
        // An old version set active again beside the current one, and a
        // version written twice: both are edits of the file.
        let doc: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        for (field, value) in
            [("state", serde_json::json!("active")), ("version", 2.into())]
        {
            let mut edited = doc.clone();
            edited["keys"][0][field] = value;
            fs::write(&path, edited.to_string()).unwrap();
            match store.load() {
                Err(KeyError::Corrupt { reason, .. }) => {
                    assert!(reason.starts_with("two "), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn file_store_round_trip_and_failed_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileKeyStore::new(dir.path().join("keyring.json"));
        assert!(store.load().unwrap().keys.is_empty());
        store
            .update(&mut |r| {
                r.keys.push(record(1));
                Ok(())
            })
            .unwrap();
        let err = store.update(&mut |r| {
            r.keys.push(record(2));
            Err(KeyError::Unwrap)
        });
        assert!(err.is_err());
        assert_eq!(store.load().unwrap().keys, vec![record(1)]);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name().to_string_lossy().starts_with(".phisafe-keyring")
            })
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn corrupt_keyring_is_an_error_not_an_empty_ring() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        fs::write(&path, b"{\"format\":\"phisafe-keyring\",\"vers").unwrap();
        let err = FileKeyStore::new(&path).load().unwrap_err();
        assert!(err.to_string().contains("restore it from backup"), "{err}");
    }

    #[test]
    fn concurrent_updates_are_serialized() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        std::thread::scope(|s| {
            for _ in 0..4 {
                let store = FileKeyStore::new(&path);
                s.spawn(move || {
                    for _ in 0..10 {
                        store
                            .update(&mut |r| {
                                let v =
                                    r.next_version("t.c", KeyPurpose::Encrypt);
                                // One active version at most, as ever.
                                let mut k = record(v);
                                k.state = KeyState::DecryptOnly;
                                r.keys.push(k);
                                Ok(())
                            })
                            .unwrap();
                    }
                });
            }
        });
        let ring = FileKeyStore::new(&path).load().unwrap();
        let versions: Vec<u32> = ring.keys.iter().map(|k| k.version).collect();
        assert_eq!(versions, (1..=40).collect::<Vec<_>>());
    }
}
