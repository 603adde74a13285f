//! XAES-256-GCM (C2SP): AES-256-GCM with 192-bit nonces, built on the
//! `aes` and `aes-gcm` crates.
//!
//! A per-message key is derived from the first 12 nonce bytes with the
//! NIST SP 800-108 counter KDF over AES-256 in CMAC mode; the last 12 bytes
//! are the GCM nonce. Random 192-bit nonces can be drawn for about 2^80
//! messages under one key before a collision becomes likely, so no usage
//! counter is needed (docs/FORMAT.md).

use aes::Aes256Enc;
use aes::cipher::consts::U12;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use aes_gcm::{AeadInPlace, AesGcm, Nonce, Tag};
use zeroize::{Zeroize, Zeroizing};

/// AES-256-GCM over the encryption-only key schedule: GCM never runs AES
/// backwards, and the per-message key makes the schedule a per-call cost.
type Aes256Gcm = AesGcm<Aes256Enc, U12>;

/// Nonce length in bytes.
pub(crate) const NONCE_LEN: usize = 24;
/// Tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;

/// One XAES-256-GCM key with its CMAC subkey precomputed.
pub(crate) struct Xaes {
    aes: Aes256Enc,
    k1: [u8; 16],
}

/// Authentication failed; deliberately carries nothing.
#[derive(Debug)]
pub(crate) struct Unauthentic;

impl Xaes {
    pub(crate) fn new(key: &[u8; 32]) -> Xaes {
        let aes = Aes256Enc::new(GenericArray::from_slice(key));
        let mut l = GenericArray::from([0u8; 16]);
        aes.encrypt_block(&mut l);
        let mut k1 = [0u8; 16];
        let msb = l[0] >> 7;
        for i in 0..16 {
            let next = if i < 15 { l[i + 1] >> 7 } else { 0 };
            k1[i] = (l[i] << 1) | next;
        }
        k1[15] ^= 0x87 * msb;
        l.as_mut_slice().zeroize();
        Xaes { aes, k1 }
    }

    /// The AES-256-GCM key for every nonce that starts with `prefix`.
    /// Deriving it is most of XAES's cost on short values, so a batch
    /// derives once and varies only the last 12 nonce bytes (the spec
    /// allows caching the derived key for a fixed first half).
    pub(crate) fn prefix_key(&self, prefix: &[u8; 12]) -> PrefixKey {
        let mut blocks = [GenericArray::from([0u8; 16]); 2];
        for (i, block) in blocks.iter_mut().enumerate() {
            block[1] = i as u8 + 1;
            block[2] = b'X';
            block[4..].copy_from_slice(prefix);
            for (b, k) in block.iter_mut().zip(&self.k1) {
                *b ^= k;
            }
        }
        self.aes.encrypt_blocks(&mut blocks);
        let mut key = Zeroizing::new([0u8; 32]);
        key[..16].copy_from_slice(&blocks[0]);
        key[16..].copy_from_slice(&blocks[1]);
        for b in &mut blocks {
            b.as_mut_slice().zeroize();
        }
        PrefixKey {
            prefix: *prefix,
            gcm: Aes256Gcm::new(GenericArray::from_slice(&key[..])),
        }
    }

    /// Encrypts `buf` in place and returns the tag; `None` only past GCM's
    /// 64 GiB message limit, which callers stay far below.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Option<[u8; TAG_LEN]> {
        let (prefix, rest) = split_nonce(nonce);
        self.prefix_key(prefix).seal(rest, aad, buf)
    }

    /// Decrypts `buf` in place if the tag verifies; on failure `buf` holds
    /// no plaintext.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Unauthentic> {
        let (prefix, rest) = split_nonce(nonce);
        self.prefix_key(prefix).open(rest, aad, buf, tag)
    }
}

/// The nonce's halves: the prefix that selects the derived key, and the
/// GCM nonce under it.
pub(crate) fn split_nonce(nonce: &[u8; NONCE_LEN]) -> (&[u8; 12], &[u8; 12]) {
    let (halves, _) = nonce.as_chunks::<12>();
    (&halves[0], &halves[1])
}

/// XAES-256-GCM for one 12-byte nonce prefix: plain AES-256-GCM under the
/// derived key, with the last 12 nonce bytes as its nonce.
pub(crate) struct PrefixKey {
    prefix: [u8; 12],
    gcm: Aes256Gcm,
}

impl PrefixKey {
    pub(crate) fn prefix(&self) -> &[u8; 12] {
        &self.prefix
    }

    pub(crate) fn seal(
        &self,
        rest: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Option<[u8; TAG_LEN]> {
        self.gcm
            .encrypt_in_place_detached(Nonce::from_slice(rest), aad, buf)
            .ok()
            .map(Into::into)
    }

    pub(crate) fn open(
        &self,
        rest: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Unauthentic> {
        self.gcm
            .decrypt_in_place_detached(
                Nonce::from_slice(rest),
                aad,
                buf,
                Tag::from_slice(tag),
            )
            .map_err(|_| Unauthentic)
    }
}

impl Drop for Xaes {
    fn drop(&mut self) {
        self.k1.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // The two vectors of the C2SP XAES-256-GCM specification.
    #[test]
    fn c2sp_vectors() {
        let cases = [
            (
                [1u8; 32],
                &b""[..],
                "ce546ef63c9cc60765923609",
                "b33a9a1974e96e52daf2fcf7075e2271",
            ),
            (
                [3u8; 32],
                &b"c2sp.org/XAES-256-GCM"[..],
                "986ec1832593df5443a17943",
                "7fd083bf3fdb41abd740a21f71eb769d",
            ),
        ];
        let nonce: [u8; 24] = *b"ABCDEFGHIJKLMNOPQRSTUVWX";
        for (key, aad, ct, tag) in cases {
            let x = Xaes::new(&key);
            let mut buf = b"XAES-256-GCM".to_vec();
            let got = x.seal(&nonce, aad, &mut buf).unwrap();
            assert_eq!(buf, hex(ct));
            assert_eq!(got.to_vec(), hex(tag));
            x.open(&nonce, aad, &mut buf, &got).unwrap();
            assert_eq!(buf, b"XAES-256-GCM");
        }
    }

    #[test]
    fn wrong_aad_or_tag_fails() {
        let x = Xaes::new(&[7; 32]);
        let nonce = [9u8; 24];
        let mut buf = b"value".to_vec();
        let tag = x.seal(&nonce, b"a", &mut buf).unwrap();
        let mut copy = buf.clone();
        assert!(x.open(&nonce, b"b", &mut copy, &tag).is_err());
        let mut bad = tag;
        bad[0] ^= 1;
        let mut copy = buf.clone();
        assert!(x.open(&nonce, b"a", &mut copy, &bad).is_err());
    }

    /// C2SP's accumulated randomized test: keys, nonces, plaintexts and
    /// associated data read from one SHAKE-128 stream, every ciphertext
    /// (tag included) hashed with another.
    fn accumulated(iterations: usize) -> Vec<u8> {
        use sha3::Shake128;
        use sha3::digest::{ExtendableOutput, Update, XofReader};
        let mut rng = Shake128::default().finalize_xof();
        let mut hash = Shake128::default();
        let mut read = |n: usize| {
            let mut v = vec![0u8; n];
            rng.read(&mut v);
            v
        };
        for _ in 0..iterations {
            let key: [u8; 32] = read(32).try_into().unwrap();
            let nonce: [u8; 24] = read(24).try_into().unwrap();
            let len = read(1)[0] as usize;
            let plaintext = read(len);
            let len = read(1)[0] as usize;
            let aad = read(len);
            let x = Xaes::new(&key);
            let mut buf = plaintext.clone();
            let tag = x.seal(&nonce, &aad, &mut buf).unwrap();
            hash.update(&buf);
            hash.update(&tag);
            x.open(&nonce, &aad, &mut buf, &tag).unwrap();
            assert_eq!(buf, plaintext);
        }
        let mut out = vec![0u8; 32];
        hash.finalize_xof().read(&mut out);
        out
    }

    #[test]
    fn c2sp_accumulated_10k() {
        let want =
            "e6b9edf2df6cec60c8cbd864e2211b597fb69a529160cd040d56c0c210081939";
        assert_eq!(accumulated(10_000), hex(want));
    }

    /// A minute or more in a debug build: run with `--ignored` in release.
    #[test]
    #[ignore = "slow; run with --release -- --ignored"]
    fn c2sp_accumulated_1m() {
        let want =
            "2163ae1445985a30b60585ee67daa55674df06901b890593e824b8a7c885ab15";
        assert_eq!(accumulated(1_000_000), hex(want));
    }

    /// Wycheproof's AES-GCM vectors of the sizes the crate uses (AES-256,
    /// 96-bit nonce, 128-bit tag) through the exact AEAD type XAES runs
    /// after deriving its key (`core/tests/data/wycheproof/`).
    #[test]
    fn wycheproof_aes_256_gcm() {
        let text =
            include_str!("../../tests/data/wycheproof/aes_gcm_test.json");
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let field =
            |t: &serde_json::Value, k: &str| hex(t[k].as_str().unwrap());
        let (mut valid, mut invalid) = (0, 0);
        for group in doc["testGroups"].as_array().unwrap() {
            let sizes =
                ["keySize", "ivSize", "tagSize"].map(|k| group[k].as_u64());
            if sizes != [Some(256), Some(96), Some(128)] {
                continue;
            }
            for t in group["tests"].as_array().unwrap() {
                let id = &t["tcId"];
                let key: [u8; 32] = field(t, "key").try_into().unwrap();
                let iv: [u8; 12] = field(t, "iv").try_into().unwrap();
                let (aad, msg, ct) =
                    (field(t, "aad"), field(t, "msg"), field(t, "ct"));
                let tag: [u8; 16] = field(t, "tag").try_into().unwrap();
                let k = PrefixKey {
                    prefix: [0; 12],
                    gcm: Aes256Gcm::new(GenericArray::from_slice(&key)),
                };
                let mut buf = ct.clone();
                let opened = k.open(&iv, &aad, &mut buf, &tag);
                match t["result"].as_str().unwrap() {
                    "valid" => {
                        valid += 1;
                        assert!(opened.is_ok(), "tcId {id}");
                        assert_eq!(buf, msg, "tcId {id}");
                        let mut buf = msg.clone();
                        let sealed = k.seal(&iv, &aad, &mut buf).unwrap();
                        assert_eq!((buf, sealed), (ct, tag), "tcId {id}");
                    }
                    _ => {
                        invalid += 1;
                        assert!(opened.is_err(), "tcId {id} was accepted");
                    }
                }
            }
        }
        // Every vector of those sizes in the vendored file was run.
        assert_eq!((valid, invalid), (39, 27));
    }
}
