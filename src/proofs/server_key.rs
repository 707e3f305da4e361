//! The server's Ed25519 attestation key: it signs the attestations of reviews the server
//! ran itself. Derived from a secret kept outside the database (a file made once with
//! mode 0600, or the environment), so it survives restarts and re-deploys, and every
//! instance on one database signs with the same key. Only its public half is served.

use crate::keys::fingerprint;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use framework::secrets::SecretSpec;
use framework::{App, Error, Result};
use sha2::{Digest, Sha256};

/// `GATHER_ATTESTATION_SECRET`, the file `GATHER_ATTESTATION_SECRET_FILE` names, or
/// `<secrets dir>/attestation.key`.
pub const ATTESTATION_SECRET: SecretSpec = SecretSpec {
    name: "attestation",
    value_env: "GATHER_ATTESTATION_SECRET",
    file_env: "GATHER_ATTESTATION_SECRET_FILE",
};

/// Separates this key from anything else one day derived from the same secret.
const DOMAIN: &[u8] = b"gather attestation key v1\0";

pub struct ServerKey {
    signing: SigningKey,
    /// SPKI PEM, as `openssl pkey -pubout` writes it.
    pub public_pem: String,
    /// Lowercase hex SHA-256 of the 32 raw public key bytes.
    pub fingerprint: String,
}

impl ServerKey {
    pub fn load(app: &App) -> Result<ServerKey> {
        let secret = app.secret(&ATTESTATION_SECRET, None)?;
        Self::from_secret(&secret)
    }

    /// The key a secret stands for: its seed is SHA-256 of the domain and the secret.
    pub fn from_secret(secret: &[u8]) -> Result<ServerKey> {
        let seed: [u8; 32] = Sha256::new()
            .chain_update(DOMAIN)
            .chain_update(secret)
            .finalize()
            .into();
        let signing = SigningKey::from_bytes(&seed);
        let public = signing.verifying_key();
        let public_pem = public
            .to_public_key_pem(Default::default())
            .map_err(|e| Error::internal_from("cannot encode the attestation key", e))?;
        Ok(ServerKey {
            fingerprint: fingerprint(&public),
            public_pem,
            signing,
        })
    }

    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier};

    #[test]
    fn one_secret_one_key_and_it_verifies() {
        let a = ServerKey::from_secret(&[7; 32]).expect("key");
        let b = ServerKey::from_secret(&[7; 32]).expect("key");
        let c = ServerKey::from_secret(&[8; 32]).expect("key");
        assert_eq!(a.public_pem, b.public_pem);
        assert_ne!(a.public_pem, c.public_pem);
        let parsed = crate::keys::parse_public_key(&a.public_pem).expect("pem");
        assert_eq!(parsed.fingerprint, a.fingerprint);
        let sig = Signature::from_bytes(&a.sign(b"claim"));
        assert!(a.public().verify(b"claim", &sig).is_ok());
        assert!(c.public().verify(b"claim", &sig).is_err());
    }
}
