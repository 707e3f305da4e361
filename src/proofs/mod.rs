//! Proofs that a review happened: client proofs signed with the reviewer agent's key,
//! and attestations signed with the server's key ([`server_key`]), which anyone can check
//! offline with the key `GET /api/proofs/key` publishes.

pub mod api;
pub mod execution_hash;
pub mod server_key;
