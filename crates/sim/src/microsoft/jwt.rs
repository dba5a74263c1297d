//! RS256 signing of id and access tokens, and the JWKS that publishes the public key.
//!
//! One RSA key is generated per process (key generation is the slow part of starting a
//! simulator); its `kid` is derived from the public key.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::Digest;

/// The simulator's token signing key.
pub(crate) struct SigningKeys {
    pub kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    n_b64: String,
    e_b64: String,
}

/// Errors building the signing key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate the simulator's RSA signing key: {0}")]
    Generate(String),
}

static KEYS: OnceLock<Arc<SigningKeys>> = OnceLock::new();

impl SigningKeys {
    /// The process-wide key (generated on first use).
    pub(crate) fn shared() -> Result<Arc<SigningKeys>, KeyError> {
        if let Some(k) = KEYS.get() {
            return Ok(k.clone());
        }
        let keys = Arc::new(Self::generate()?);
        Ok(KEYS.get_or_init(|| keys).clone())
    }

    fn generate() -> Result<Self, KeyError> {
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let public = private.to_public_key();
        let n_b64 = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
        let e_b64 = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
        let decoding = DecodingKey::from_rsa_components(&n_b64, &e_b64)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let digest = sha2::Sha256::digest(n_b64.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(&digest[..20]);
        Ok(Self {
            kid,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            decoding,
            n_b64,
            e_b64,
        })
    }

    /// Signs claims as a JWT with RS256 and this key's `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap_or_default()
    }

    /// Verifies a token signed by this key (signature, `exp`, `nbf`) and returns its claims.
    pub(crate) fn verify(&self, token: &str) -> Option<Value> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.leeway = 5;
        validation.required_spec_claims.clear();
        validation.required_spec_claims.insert("exp".into());
        jsonwebtoken::decode::<Value>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }

    /// The JWKS document (`keys` array) as Entra publishes it.
    pub(crate) fn jwks(&self, issuer: Option<&str>) -> Value {
        let mut key = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": self.n_b64,
            "e": self.e_b64,
            "alg": "RS256",
        });
        if let Some(iss) = issuer
            && let Some(obj) = key.as_object_mut()
        {
            obj.insert("issuer".into(), Value::from(iss));
        }
        json!({ "keys": [key] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_tampered_ones_do_not() {
        let keys = SigningKeys::shared().unwrap();
        let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 60;
        let token = keys.sign(&json!({"tid": "t", "exp": exp}));
        assert_eq!(keys.verify(&token).unwrap()["tid"], "t");
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(br#"{"tid":"other","exp":9999999999}"#);
        assert!(keys.verify(&parts.join(".")).is_none());
        let expired = keys.sign(&json!({"tid": "t", "exp": 1000}));
        assert!(keys.verify(&expired).is_none());
    }
}
