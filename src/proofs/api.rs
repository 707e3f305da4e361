//! `/api/proofs`: the server's attestation key, for checking attestations offline.

use crate::agent_auth::PerIp;
use crate::{state, GatherTags};
use base64::Engine;
use framework::http::{ApiResult, Ctx};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

#[derive(Default)]
pub struct ProofsApi;

/// The key the server signs its attestations with.
#[derive(Object)]
struct ProofsServerKey {
    /// `ed25519`
    algorithm: String,
    /// SPKI PEM (`openssl pkey -pubin -in key.pem -text` reads it).
    public_key: String,
    /// The 32 raw key bytes, standard base64.
    public_key_base64: String,
    /// Lowercase hex SHA-256 of the raw key bytes.
    fingerprint: String,
}

#[OpenApi(tag = "GatherTags::Proofs")]
impl ProofsApi {
    /// The server's attestation public key (it stays the same across restarts).
    #[oai(
        path = "/api/proofs/key",
        method = "get",
        operation_id = "get-proof-key"
    )]
    async fn key(&self, ctx: Ctx, _limit: PerIp) -> ApiResult<Json<ProofsServerKey>> {
        let g = state(&ctx.app)?;
        let key = &g.server_key;
        Ok(Json(ProofsServerKey {
            algorithm: "ed25519".into(),
            public_key: key.public_pem.clone(),
            public_key_base64: base64::engine::general_purpose::STANDARD
                .encode(key.public().as_bytes()),
            fingerprint: key.fingerprint.clone(),
        }))
    }
}
