//! A master key inside an HSM, over PKCS#11 (`pkcs11` feature).
//!
//! The KEK is a non-extractable AES-256 key on the token; data keys are
//! wrapped by `CKM_AES_GCM` encryption on the token with the keyring
//! entry as associated data, so key bytes of the KEK never reach this
//! process. Tested against SoftHSM2.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use super::keys::{DataKey, KeyError, KeyProvider};
use super::rng;

const IV_LEN: usize = 12;
const WRAPPED_LEN: usize = IV_LEN + 32 + 16;

/// A KEK held by a PKCS#11 token (an HSM, or SoftHSM2 in tests).
pub struct Pkcs11Kek {
    session: Mutex<Session>,
    key: ObjectHandle,
    id: String,
}

fn provider_error(what: &str, e: Error) -> KeyError {
    KeyError::Provider(format!("PKCS#11 {what}: {e}"))
}

/// One initialized context per module: `C_Initialize` is process-wide.
fn context(module: &Path) -> Result<Pkcs11, KeyError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> =
        OnceLock::new();
    let mut map = CONTEXTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(ctx) = map.get(module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module).map_err(|e| {
        KeyError::Provider(format!(
            "cannot load PKCS#11 module {}: {e}",
            module.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
    {
        Ok(())
        | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(provider_error("initialize", e)),
    }
    map.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

fn open_session(
    module: &Path,
    token: &str,
    pin: &str,
) -> Result<Session, KeyError> {
    let ctx = context(module)?;
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| provider_error("list slots", e))?;
    let slot = slots
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s).is_ok_and(|t| t.label().trim_end() == token)
        })
        .ok_or_else(|| {
            KeyError::Provider(format!(
                "no PKCS#11 token labelled {token:?} in {}",
                module.display()
            ))
        })?;
    let session = ctx
        .open_rw_session(slot)
        .map_err(|e| provider_error("open session", e))?;
    match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
            Ok(session)
        }
        Err(e) => Err(provider_error("login (check the PIN)", e)),
    }
}

fn find_key(
    session: &Session,
    label: &str,
) -> Result<Vec<ObjectHandle>, KeyError> {
    session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| provider_error("find key", e))
}

impl Pkcs11Kek {
    /// Opens the AES key labelled `key_label` on the token labelled
    /// `token`, logging in with `pin`.
    pub fn open(
        module: &Path,
        token: &str,
        pin: &str,
        key_label: &str,
    ) -> Result<Pkcs11Kek, KeyError> {
        let session = open_session(module, token, pin)?;
        let keys = find_key(&session, key_label)?;
        let [key] = keys[..] else {
            return Err(KeyError::Provider(format!(
                "expected one AES key labelled {key_label:?} on token {token:?}, found {}; \
                 create one with `phisafe keys init --pkcs11-module ...`",
                keys.len()
            )));
        };
        Ok(Pkcs11Kek {
            session: Mutex::new(session),
            key,
            id: format!("pkcs11:{token}/{key_label}"),
        })
    }

    /// Generates a new AES-256 KEK on the token: persistent, sensitive and
    /// never extractable. Refuses if a key with that label exists.
    pub fn generate(
        module: &Path,
        token: &str,
        pin: &str,
        key_label: &str,
    ) -> Result<Pkcs11Kek, KeyError> {
        let session = open_session(module, token, pin)?;
        if !find_key(&session, key_label)?.is_empty() {
            return Err(KeyError::Provider(format!(
                "token {token:?} already has a key labelled {key_label:?}; refusing to create another"
            )));
        }
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32.into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Label(key_label.as_bytes().to_vec()),
        ];
        let key = session
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(|e| provider_error("generate key", e))?;
        Ok(Pkcs11Kek {
            session: Mutex::new(session),
            key,
            id: format!("pkcs11:{token}/{key_label}"),
        })
    }
}

impl KeyProvider for Pkcs11Kek {
    fn kek_id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        // The IV is made here, from the kernel (see docs/FORMAT.md,
        // "Wrapping in an HSM", for why not by the token): random 96-bit
        // IVs are safe for far more wraps than a keyring ever makes, and
        // the kernel's differ between clones of a VM snapshot.
        let mut iv = [0u8; IV_LEN];
        rng::fill_os(&mut iv)
            .map_err(|_| KeyError::Provider("random source failed".into()))?;
        let mut iv_param = iv;
        let params = GcmParams::new(&mut iv_param, aad, 128.into())
            .map_err(|e| provider_error("GCM parameters", e))?;
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let sealed = session
            .encrypt(&Mechanism::AesGcm(params), self.key, key.expose_secret())
            .map_err(|e| provider_error("wrap", e))?;
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&sealed);
        Ok(out)
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
        if wrapped.len() != WRAPPED_LEN {
            return Err(KeyError::Unwrap);
        }
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&wrapped[..IV_LEN]);
        let params = GcmParams::new(&mut iv, aad, 128.into())
            .map_err(|e| provider_error("GCM parameters", e))?;
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        // Tampered input comes back as a token error; either way it is
        // the one opaque unwrap failure.
        let plain = Zeroizing::new(
            session
                .decrypt(
                    &Mechanism::AesGcm(params),
                    self.key,
                    &wrapped[IV_LEN..],
                )
                .map_err(|_| KeyError::Unwrap)?,
        );
        let bytes: [u8; 32] =
            plain.as_slice().try_into().map_err(|_| KeyError::Unwrap)?;
        Ok(DataKey::from_bytes(bytes))
    }
}

impl fmt::Debug for Pkcs11Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Kek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::process::Command;
    use std::sync::Arc;

    use super::*;
    use crate::audit::MemorySink;
    use crate::crypto::{
        Context, FieldCipher, KeyStore, MemoryKeyStore, Policy, Scope,
    };

    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

    /// Makes a fresh SoftHSM2 token in a temporary directory, then runs
    /// the real test in a child process whose `SOFTHSM2_CONF` points at it
    /// (the module reads the variable when loaded, and the environment of
    /// this process cannot be changed safely).
    #[test]
    fn softhsm() {
        assert!(
            Path::new(MODULE).exists(),
            "SoftHSM2 is not installed: apt-get install softhsm2 (scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tokens")).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.path().join("tokens").display()
            ),
        )
        .unwrap();
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", "phisafe-test"])
            .args(["--pin", "1234", "--so-pin", "5678"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(std::env::current_exe().unwrap())
            .env("SOFTHSM2_CONF", &conf)
            .args([
                "--exact",
                "crypto::pkcs11::tests::softhsm_kek",
                "--ignored",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .output()
            .unwrap();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && log.contains("1 passed"), "{log}");
    }

    #[test]
    #[ignore = "run by `softhsm` with SOFTHSM2_CONF set"]
    fn softhsm_kek() {
        assert!(std::env::var_os("SOFTHSM2_CONF").is_some());
        let module = Path::new(MODULE);
        // Login is per process and token: try the wrong PIN first.
        let err = Pkcs11Kek::open(module, "phisafe-test", "9999", "kek-1")
            .unwrap_err();
        assert!(err.to_string().contains("check the PIN"), "{err}");
        let err = Pkcs11Kek::open(module, "no-such-token", "1234", "kek-1")
            .unwrap_err();
        assert!(err.to_string().contains("no PKCS#11 token"), "{err}");
        let kek = Pkcs11Kek::generate(module, "phisafe-test", "1234", "kek-1")
            .unwrap();
        assert!(
            Pkcs11Kek::generate(module, "phisafe-test", "1234", "kek-1")
                .is_err()
        );
        {
            use cryptoki::object::AttributeType;
            let session = kek.session.lock().unwrap();
            let attrs = session
                .get_attributes(
                    kek.key,
                    &[AttributeType::Extractable, AttributeType::Sensitive],
                )
                .unwrap();
            assert!(
                attrs.contains(&Attribute::Extractable(false)),
                "{attrs:?}"
            );
            assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
        }
        let dek = DataKey::from_bytes([5; 32]);
        let w = kek.wrap(&dek, b"entry").unwrap();
        assert_eq!(w.len(), WRAPPED_LEN);
        assert!(!w.windows(32).any(|x| x == [5; 32]));
        let again =
            Pkcs11Kek::open(module, "phisafe-test", "1234", "kek-1").unwrap();
        assert_eq!(
            again.unwrap(kek.kek_id(), &w, b"entry").unwrap().expose_secret(),
            &[5; 32]
        );
        assert!(matches!(
            again.unwrap(kek.kek_id(), &w, b"other"),
            Err(KeyError::Unwrap)
        ));
        let mut bad = w.clone();
        bad[20] ^= 1;
        assert!(matches!(
            again.unwrap(kek.kek_id(), &bad, b"entry"),
            Err(KeyError::Unwrap)
        ));

        // The whole envelope stack on top of the HSM, then a rewrap to a
        // local key and back.
        let store = Arc::new(MemoryKeyStore::new());
        let kek: Arc<dyn KeyProvider> = Arc::new(kek);
        let builder = || {
            FieldCipher::builder(Arc::clone(&kek), store.clone())
                .policy(Policy::allow_all())
        };
        let cipher = builder().build(Arc::new(MemorySink::new())).unwrap();
        let admin =
            builder().build_admin(Arc::new(MemorySink::new())).unwrap();
        let scope = Scope::new("patients.ssn").unwrap();
        let ctx = Context::new(&scope, "r1");
        let sealed = cipher.encrypt_phi(&ctx, b"219-09-9999").unwrap();
        assert_eq!(
            &cipher.decrypt_phi(&ctx, &sealed).unwrap()[..],
            b"219-09-9999"
        );
        let ring = store.load().unwrap();
        assert!(
            ring.keys.iter().all(|k| k.kek_id == "pkcs11:phisafe-test/kek-1")
        );
        let kek2 =
            Pkcs11Kek::generate(module, "phisafe-test", "1234", "kek-2")
                .unwrap();
        assert_eq!(admin.rewrap(&ctx, &kek2).unwrap(), 1);
        let rotated = FieldCipher::builder(Arc::new(kek2), store)
            .policy(Policy::allow_all())
            .build(Arc::new(MemorySink::new()))
            .unwrap();
        assert_eq!(
            &rotated.decrypt_phi(&ctx, &sealed).unwrap()[..],
            b"219-09-9999"
        );
    }
}
