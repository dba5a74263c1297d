//! Encryption of secrets at rest: AES-256-GCM with a random 96-bit nonce per value.
//!
//! Every ciphertext is bound to where it belongs through the associated data (the tenant and the
//! column), so a value copied into another tenant's row, or into another column, fails to
//! decrypt instead of leaking. Ciphertexts carry the id of the key that made them, so the key can
//! be rotated: configure the new key as current and the old one as previous, run
//! `teamline rekey`, then drop the old key.
//!
//! Layout: `[version = 1][key id: 8 bytes][nonce: 12 bytes][ciphertext + 16-byte tag]`.

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use std::fmt;

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error(
        "the encryption key must be 64 hexadecimal characters (32 bytes); generate one with `openssl rand -hex 32` or let `teamline serve` create the key file"
    )]
    BadKey,
    #[error(
        "a stored secret ({column}) was encrypted with a key Teamline does not have (key id {key_id}): configure that key as TEAMLINE_PREVIOUS_ENCRYPTION_KEYS, or re-enter the secret"
    )]
    UnknownKey { column: String, key_id: String },
    #[error(
        "a stored secret ({column}) could not be decrypted: it was altered, or moved from another row"
    )]
    Tampered { column: String },
    #[error("a stored secret ({column}) is not in Teamline's format")]
    Malformed { column: String },
    #[error("the secret for {column} could not be encrypted")]
    EncryptFailed { column: String },
}

/// A 256-bit key. Never printed.
pub struct EncryptionKey {
    bytes: SecretBox<[u8; 32]>,
    id: [u8; KEY_ID_LEN],
}

impl EncryptionKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"teamline key id")
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self {
            bytes: SecretBox::new(Box::new(bytes)),
            id,
        }
    }

    /// Parses 64 hexadecimal characters (surrounding whitespace ignored).
    pub fn from_hex(hex_key: &str) -> Result<Self, CryptoError> {
        let raw = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
        let bytes: [u8; 32] = raw.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::from_bytes(bytes))
    }

    /// A fresh random key, as 64 hexadecimal characters (for the key file).
    pub fn generate_hex() -> String {
        hex::encode(aes_gcm::Key::<Aes256Gcm>::generate())
    }

    /// The id stored in front of each ciphertext (not secret: derived one-way from the key).
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&(*self.bytes.expose_secret()).into())
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey(id {})", self.id_hex())
    }
}

/// Where a secret belongs: its tenant (or the platform) and its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSlot {
    pub tenant: String,
    pub column: &'static str,
}

impl SecretSlot {
    pub fn enterprise(id: impl fmt::Display, column: &'static str) -> Self {
        Self {
            tenant: format!("enterprise:{id}"),
            column,
        }
    }

    pub fn platform(column: &'static str) -> Self {
        Self {
            tenant: "platform".to_owned(),
            column,
        }
    }

    fn aad(&self) -> Vec<u8> {
        format!("teamline/v1/{}/{}", self.tenant, self.column).into_bytes()
    }
}

/// The current key and any previous ones still accepted for decryption.
#[derive(Debug)]
pub struct Keyring {
    current: EncryptionKey,
    previous: Vec<EncryptionKey>,
}

impl Keyring {
    pub fn new(current: EncryptionKey, previous: Vec<EncryptionKey>) -> Self {
        Self { current, previous }
    }

    /// A fixed key for tests only.
    pub fn for_testing() -> Self {
        Self::new(EncryptionKey::from_bytes([7u8; 32]), Vec::new())
    }

    pub fn current_key_id(&self) -> String {
        self.current.id_hex()
    }

    pub fn encrypt(&self, plaintext: &str, slot: &SecretSlot) -> Result<Vec<u8>, CryptoError> {
        let nonce = Nonce::generate();
        let aad = slot.aad();
        let ciphertext = self
            .current
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::EncryptFailed {
                column: slot.column.to_owned(),
            })?;
        let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    pub fn decrypt(&self, blob: &[u8], slot: &SecretSlot) -> Result<String, CryptoError> {
        let malformed = || CryptoError::Malformed {
            column: slot.column.to_owned(),
        };
        if blob.len() < HEADER_LEN + 16 || blob[0] != VERSION {
            return Err(malformed());
        }
        let key_id = &blob[1..1 + KEY_ID_LEN];
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey {
                column: slot.column.to_owned(),
                key_id: hex::encode(key_id),
            })?;
        let nonce_bytes: [u8; NONCE_LEN] = blob[1 + KEY_ID_LEN..HEADER_LEN]
            .try_into()
            .map_err(|_| malformed())?;
        let aad = slot.aad();
        let plain = key
            .cipher()
            .decrypt(
                &Nonce::from(nonce_bytes),
                Payload {
                    msg: &blob[HEADER_LEN..],
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Tampered {
                column: slot.column.to_owned(),
            })?;
        String::from_utf8(plain).map_err(|_| malformed())
    }

    /// Whether a ciphertext was made with an older key (and should be re-encrypted).
    pub fn is_stale(&self, blob: &[u8]) -> bool {
        blob.len() > KEY_ID_LEN && blob[1..1 + KEY_ID_LEN] != self.current.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slot() -> SecretSlot {
        SecretSlot::enterprise(1, "pbx_locations.api_key")
    }

    #[test]
    fn round_trip_and_no_plaintext_in_ciphertext() {
        let k = Keyring::for_testing();
        let blob = k.encrypt("nsk_super_secret", &slot()).unwrap();
        assert!(!blob.windows(6).any(|w| w == b"nsk_su"));
        assert_eq!(k.decrypt(&blob, &slot()).unwrap(), "nsk_super_secret");
    }

    #[test]
    fn same_plaintext_encrypts_differently() {
        let k = Keyring::for_testing();
        assert_ne!(
            k.encrypt("x", &slot()).unwrap(),
            k.encrypt("x", &slot()).unwrap()
        );
    }

    #[test]
    fn moved_to_another_tenant_or_column_fails() {
        let k = Keyring::for_testing();
        let blob = k.encrypt("secret", &slot()).unwrap();
        let other_tenant = SecretSlot::enterprise(2, "pbx_locations.api_key");
        let other_column = SecretSlot::enterprise(1, "device_handles.sip_password");
        assert!(matches!(
            k.decrypt(&blob, &other_tenant),
            Err(CryptoError::Tampered { .. })
        ));
        assert!(matches!(
            k.decrypt(&blob, &other_column),
            Err(CryptoError::Tampered { .. })
        ));
    }

    #[test]
    fn rotation_with_previous_key() {
        let old = EncryptionKey::from_bytes([1u8; 32]);
        let old_ring = Keyring::new(EncryptionKey::from_bytes([1u8; 32]), vec![]);
        let blob = old_ring.encrypt("secret", &slot()).unwrap();
        let new_ring = Keyring::new(EncryptionKey::from_bytes([2u8; 32]), vec![old]);
        assert!(new_ring.is_stale(&blob));
        assert_eq!(new_ring.decrypt(&blob, &slot()).unwrap(), "secret");
        let without_old = Keyring::new(EncryptionKey::from_bytes([2u8; 32]), vec![]);
        let err = without_old.decrypt(&blob, &slot()).unwrap_err();
        assert!(matches!(err, CryptoError::UnknownKey { .. }), "{err}");
    }

    #[test]
    fn keys_from_hex() {
        let hex_key = EncryptionKey::generate_hex();
        assert_eq!(hex_key.len(), 64);
        assert!(EncryptionKey::from_hex(&hex_key).is_ok());
        assert_eq!(
            EncryptionKey::from_hex("abc").unwrap_err(),
            CryptoError::BadKey
        );
        let dbg = format!("{:?}", EncryptionKey::from_hex(&hex_key).unwrap());
        assert!(!dbg.contains(&hex_key[..16]));
    }

    proptest! {
        #[test]
        fn any_secret_round_trips(s in "\\PC{0,100}") {
            let k = Keyring::for_testing();
            prop_assert_eq!(k.decrypt(&k.encrypt(&s, &slot()).unwrap(), &slot()).unwrap(), s);
        }

        #[test]
        fn corrupted_blobs_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Keyring::for_testing().decrypt(&bytes, &slot());
        }
    }
}
