//! Identifiers: random record ids and tokens, deterministic collection and field ids.

use crate::collections::model::CollectionType;
use rand::distributions::{Alphanumeric, Distribution, Uniform};
use rand::Rng;

const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A PocketBase-style record id: 15 characters of `[a-z0-9]`.
pub fn new_record_id() -> String {
    random_from(ID_ALPHABET, 15)
}

pub fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    let pick = Uniform::from(0..alphabet.len());
    (0..len)
        .map(|_| alphabet[pick.sample(&mut rng)] as char)
        .collect()
}

/// Random letters and digits, for secrets and token keys.
pub fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// FNV-1a: a stable, dependency-free 32-bit hash for deterministic ids.
fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// `pbc_<hash>`, stable for a (type, name) pair so collections created in code keep their ids.
pub fn collection_id(kind: CollectionType, name: &str) -> String {
    format!("pbc_{}", fnv1a(&format!("{}{}", kind.as_str(), name)))
}

/// `<type><hash>`, as PocketBase names field ids.
pub fn field_id(type_name: &str, name: &str) -> String {
    format!("{type_name}{}", fnv1a(name))
}

/// Is `id` an acceptable record id (client-supplied ids included)?
pub fn is_valid_record_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ids() {
        let id = new_record_id();
        assert_eq!(id.len(), 15);
        assert!(id.bytes().all(|b| ID_ALPHABET.contains(&b)));
        assert_ne!(new_record_id(), new_record_id());
        assert_eq!(
            collection_id(CollectionType::Base, "posts"),
            collection_id(CollectionType::Base, "posts")
        );
        assert_ne!(
            collection_id(CollectionType::Base, "posts"),
            collection_id(CollectionType::Auth, "posts")
        );
        assert!(is_valid_record_id("abc_1-2"));
        assert!(!is_valid_record_id("a b"));
        assert!(!is_valid_record_id("../x"));
    }
}
