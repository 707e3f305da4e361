//! Agents' Ed25519 public keys: read from PEM (SPKI `SubjectPublicKeyInfo`, as
//! `openssl pkey -pubout` writes it) and fingerprinted.

use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use spki::der::Decode;
use spki::SubjectPublicKeyInfoRef;

/// The OID of Ed25519 keys (RFC 8410).
const ED25519_OID: &str = "1.3.101.112";

/// Why a public key was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KeyError {
    #[error("no PEM block found (expected -----BEGIN PUBLIC KEY-----)")]
    NoPem,
    #[error("the PEM block is not a valid public key: {0}")]
    Malformed(String),
    #[error("the key is not an Ed25519 key (algorithm {0})")]
    NotEd25519(String),
}

/// A parsed agent key and its fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentKey {
    pub key: VerifyingKey,
    /// Lowercase hex SHA-256 of the 32 raw key bytes.
    pub fingerprint: String,
}

/// Reads the first PEM block of `text` (text before it is ignored; its label is not
/// checked) as an Ed25519 SPKI public key.
pub fn parse_public_key(text: &str) -> Result<AgentKey, KeyError> {
    let block = first_pem_block(text).ok_or(KeyError::NoPem)?;
    let (_label, der) = pem_rfc7468::decode_vec(block.as_bytes())
        .map_err(|e| KeyError::Malformed(e.to_string()))?;
    let spki =
        SubjectPublicKeyInfoRef::from_der(&der).map_err(|e| KeyError::Malformed(e.to_string()))?;
    let oid = spki.algorithm.oid.to_string();
    if oid != ED25519_OID {
        return Err(KeyError::NotEd25519(oid));
    }
    let key =
        VerifyingKey::from_public_key_der(&der).map_err(|e| KeyError::Malformed(e.to_string()))?;
    Ok(AgentKey {
        fingerprint: fingerprint(&key),
        key,
    })
}

pub fn fingerprint(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())
}

/// Lowercase hex SHA-256 of `bytes`: fingerprints, digests, execution hashes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The text from the first `-----BEGIN ` line to the end of its `-----END ...-----` line.
fn first_pem_block(text: &str) -> Option<String> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start..];
    let end_marker = rest.find("-----END ")?;
    let after = &rest[end_marker + "-----END ".len()..];
    let close = after.find("-----")? + "-----".len();
    let block = &rest[..end_marker + "-----END ".len() + close];
    // Normalise line endings and indentation, which copy-pasting often changes.
    let lines: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Some(lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::EncodePublicKey;
    use ed25519_dalek::SigningKey;

    pub const RSA_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQD7LU1l1VClt4m61qrrmAOc2xk5
1ZmQb1vnF00ynUJWMZYJ59RahR2LPPXhi+WAgtMj5+/rL6SDaNiON4Q/SAaUeFa3
ZkVh/YAg3WPnriUiclx2GvCjxFWybQZ9Lnn2ACeHDqY2zMNLt8V3HvcBJwM/t/Vv
GAzVQ1TC9AHUElMNhQIDAQAB
-----END PUBLIC KEY-----";
    const P256_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdHuZWt4MMX5i/Pb/9Ff7HnZAq54f
iMa7BOIck6LvH8gcVdajj2L2xMTEPSwMcfimgPMIFzE8w0r5YEwMCb2svg==
-----END PUBLIC KEY-----";

    fn pem_of(seed: u8) -> (SigningKey, String) {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let pem = sk
            .verifying_key()
            .to_public_key_pem(Default::default())
            .expect("pem");
        (sk, pem)
    }

    #[test]
    fn ed25519_keys_are_read_and_fingerprinted() {
        let (sk, pem) = pem_of(7);
        let k = parse_public_key(&pem).expect("valid");
        assert_eq!(k.key, sk.verifying_key());
        assert_eq!(k.fingerprint.len(), 64);
        assert_eq!(k.fingerprint, fingerprint(&sk.verifying_key()));
        // Text around the block, CRLF line ends and indentation are tolerated.
        let messy = format!("my key:\r\n  {}\r\ntrailing", pem.replace('\n', "\r\n  "));
        assert_eq!(
            parse_public_key(&messy).expect("messy").fingerprint,
            k.fingerprint
        );
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(
            parse_public_key("ssh-ed25519 AAAA..."),
            Err(KeyError::NoPem)
        );
        assert!(matches!(
            parse_public_key("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----"),
            Err(KeyError::Malformed(_))
        ));
        // RSA and P-256 public keys made by openssl.
        for other in [RSA_PUBLIC, P256_PUBLIC] {
            assert!(
                matches!(parse_public_key(other), Err(KeyError::NotEd25519(_))),
                "{other}"
            );
        }
        // A private key is not a public key.
        let sk = SigningKey::from_bytes(&[1; 32]);
        let private = ed25519_dalek::pkcs8::EncodePrivateKey::to_pkcs8_pem(&sk, Default::default())
            .expect("pem");
        assert!(parse_public_key(&private).is_err());
    }
}
