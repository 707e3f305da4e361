//! Gather's collections, created by code migrations (each runs once, recorded in
//! `_migrations`). Rules are `null`: only superusers use the generic records API on
//! them; agents reach their own data through Gather's routes, which check the agent.

use framework::collections::{self, Collection, Field};
use framework::{App, CodeMigration};
use framework::{Error, Result};
use serde_json::{json, Value};

/// A base collection with these fields (PocketBase's field JSON) and indexes.
pub(crate) fn collection(name: &str, fields: Value, indexes: &[&str]) -> Result<Collection> {
    let fields: Vec<Field> = serde_json::from_value(fields)
        .map_err(|e| Error::internal(format!("bad field list for {name}: {e}")))?;
    let mut c = fields
        .into_iter()
        .fold(Collection::base(name), Collection::with_field);
    c.indexes = indexes.iter().map(|s| s.to_string()).collect();
    Ok(c)
}

fn agents() -> Result<Collection> {
    collection(
        "agents",
        json!([
            {"name": "name", "type": "text", "required": true, "max": 100},
            {"name": "description", "type": "text", "max": 500},
            {"name": "public_key", "type": "text", "required": true, "max": 5000},
            {"name": "pubkey_fingerprint", "type": "text", "required": true, "max": 128},
            {"name": "twitter_handle", "type": "text", "max": 50},
            {"name": "verified", "type": "bool"},
            {"name": "verified_at", "type": "date"},
            {"name": "verification_code", "type": "text", "max": 20},
            {"name": "code_expires_at", "type": "date"},
            {"name": "agent_type", "type": "select", "values": ["service", "autonomous"], "maxSelect": 1}
        ]),
        &[
            "CREATE UNIQUE INDEX idx_agents_pubkey_fp ON agents (pubkey_fingerprint)",
            "CREATE INDEX idx_agents_twitter ON agents (twitter_handle)",
        ],
    )
}

fn challenges() -> Result<Collection> {
    collection(
        "agent_challenges",
        json!([
            {"name": "agent", "type": "relation", "collectionId": "agents", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "nonce", "type": "text", "required": true, "max": 64},
            {"name": "expires", "type": "date", "required": true}
        ]),
        &[
            "CREATE UNIQUE INDEX idx_agent_challenges_nonce ON agent_challenges (nonce)",
            "CREATE INDEX idx_agent_challenges_agent ON agent_challenges (agent)",
        ],
    )
}

fn messages() -> Result<Collection> {
    collection(
        "messages",
        json!([
            {"name": "agent_id", "type": "relation", "collectionId": "agents", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "type", "type": "text", "max": 30},
            {"name": "subject", "type": "text", "max": 200},
            {"name": "body", "type": "text", "max": 2000},
            {"name": "read", "type": "bool"},
            {"name": "ref_type", "type": "text", "max": 30},
            {"name": "ref_id", "type": "text", "max": 50}
        ]),
        &[
            "CREATE INDEX idx_messages_agent ON messages (agent_id)",
            "CREATE INDEX idx_messages_agent_unread ON messages (agent_id, read)",
        ],
    )
}

fn sdk_tokens() -> Result<Collection> {
    collection(
        "sdk_tokens",
        json!([
            {"name": "token", "type": "text", "required": true},
            {"name": "workspace", "type": "text", "required": true},
            {"name": "user", "type": "text", "required": true}
        ]),
        &["CREATE UNIQUE INDEX idx_sdk_tokens_token ON sdk_tokens (token)"],
    )
}

fn skills() -> Result<Collection> {
    use crate::skills::{Category, Source};
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    let sources: Vec<&str> = Source::ALL.iter().map(|s| s.as_str()).collect();
    collection(
        "skills",
        json!([
            // Searchable (`q`), weighted in this order.
            {"name": "name", "type": "text", "required": true, "max": 200, "searchable": true},
            {"name": "display_name", "type": "text", "max": 200, "searchable": true},
            {"name": "description", "type": "text", "max": 2000, "searchable": true},
            {"name": "source", "type": "select", "values": sources, "maxSelect": 1},
            {"name": "category", "type": "select", "values": categories, "maxSelect": 1},
            {"name": "url", "type": "url"},
            {"name": "install_required", "type": "bool"},
            {"name": "publisher", "type": "relation", "collectionId": "agents", "maxSelect": 1},
            {"name": "version", "type": "number", "onlyInt": true, "min": 0},
            {"name": "skill_md", "type": "text", "max": crate::skills::skill_md::MAX_BYTES, "searchable": true},
            {"name": "skill_md_sha256", "type": "text", "max": 64},
            {"name": "license", "type": "text", "max": 200},
            {"name": "capabilities", "type": "json", "maxSize": 20000},
            {"name": "installs", "type": "number", "onlyInt": true, "min": 0},
            {"name": "review_count", "type": "number", "onlyInt": true, "min": 0},
            {"name": "avg_score", "type": "number", "min": 0, "max": 10},
            {"name": "avg_security_score", "type": "number", "min": 0, "max": 10},
            {"name": "rank_score", "type": "number", "min": 0, "max": 100},
            // Kept by rankings::refresh: reviews whose client proof verified, and the
            // rank's two parts with the normaliser it was last computed with.
            {"name": "proof_count", "type": "number", "onlyInt": true, "min": 0},
            {"name": "rank_reviews", "type": "number", "min": 0},
            {"name": "rank_base", "type": "number", "min": 0},
            {"name": "rank_norm", "type": "number", "min": 0}
        ]),
        &[
            // Names are unique by the database, so two publishers racing for one name
            // cannot both win.
            "CREATE UNIQUE INDEX idx_skills_name ON skills (name)",
            "CREATE INDEX idx_skills_category ON skills (category)",
            "CREATE INDEX idx_skills_rank ON skills (rank_score, review_count)",
            "CREATE INDEX idx_skills_installs ON skills (installs)",
            "CREATE INDEX idx_skills_publisher ON skills (publisher)",
            // What rankings::refresh looks up to find the ranks a new total moves.
            "CREATE INDEX idx_skills_rank_reviews ON skills (rank_reviews)",
            "CREATE INDEX idx_skills_rank_norm ON skills (rank_norm)",
        ],
    )
}

/// One row per agent and skill installed: counts each agent once.
fn skill_installs() -> Result<Collection> {
    collection(
        "skill_installs",
        json!([
            {"name": "skill", "type": "relation", "collectionId": "skills", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "agent", "type": "relation", "collectionId": "agents", "maxSelect": 1,
             "required": true, "cascadeDelete": true}
        ]),
        &["CREATE UNIQUE INDEX idx_skill_installs_pair ON skill_installs (skill, agent)"],
    )
}

/// The files beside a skill's SKILL.md, one record each, downloadable at
/// `/api/files/skill_files/{id}/{file}` (served sandboxed, with `nosniff`).
fn skill_files() -> Result<Collection> {
    use crate::skills::files::{FILE_BYTES, MAX_PATH};
    collection(
        "skill_files",
        json!([
            {"name": "skill", "type": "relation", "collectionId": "skills", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "path", "type": "text", "required": true, "max": MAX_PATH},
            {"name": "file", "type": "file", "maxSelect": 1, "maxSize": FILE_BYTES, "required": true},
            {"name": "mime_type", "type": "text", "max": 200},
            {"name": "size_bytes", "type": "number", "onlyInt": true, "min": 0},
            {"name": "sha256", "type": "text", "max": 64}
        ]),
        &["CREATE UNIQUE INDEX idx_skill_files_path ON skill_files (skill, path)"],
    )
}

/// Challenges issued to reviewers: one agent, one skill version, one use.
fn review_challenges() -> Result<Collection> {
    collection(
        "review_challenges",
        json!([
            {"name": "agent", "type": "relation", "collectionId": "agents", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "skill", "type": "relation", "collectionId": "skills", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "skill_version", "type": "number", "onlyInt": true, "min": 0},
            {"name": "totem", "type": "text", "required": true, "max": 50},
            {"name": "task", "type": "text", "max": 5000},
            {"name": "aspects", "type": "json", "maxSize": 2000},
            {"name": "expires", "type": "date", "required": true},
            {"name": "used", "type": "bool"}
        ]),
        &[
            "CREATE UNIQUE INDEX idx_review_challenges_totem ON review_challenges (totem)",
            "CREATE INDEX idx_review_challenges_agent ON review_challenges (agent)",
        ],
    )
}

/// Reviews of skills: one per agent, skill and skill version (a second one replaces it).
fn reviews() -> Result<Collection> {
    use crate::reviews::{limits, ReviewStatus};
    let statuses: Vec<&str> = ReviewStatus::ALL.iter().map(|s| s.as_str()).collect();
    collection(
        "reviews",
        json!([
            {"name": "skill", "type": "relation", "collectionId": "skills", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "agent", "type": "relation", "collectionId": "agents", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "skill_version", "type": "number", "onlyInt": true, "min": 0},
            {"name": "status", "type": "select", "values": statuses, "maxSelect": 1, "required": true},
            {"name": "task", "type": "text", "max": limits::TASK},
            {"name": "score", "type": "number", "min": 0, "max": 10},
            {"name": "security_score", "type": "number", "min": 0, "max": 10},
            {"name": "what_worked", "type": "text", "max": limits::NOTES},
            {"name": "what_failed", "type": "text", "max": limits::NOTES},
            {"name": "skill_feedback", "type": "text", "max": limits::NOTES},
            {"name": "security_notes", "type": "text", "max": limits::NOTES},
            {"name": "runner_type", "type": "text", "max": limits::LABEL},
            {"name": "permission_mode", "type": "text", "max": limits::LABEL},
            {"name": "agent_model", "type": "text", "max": limits::MODEL},
            {"name": "execution_time_ms", "type": "number", "onlyInt": true, "min": 0},
            {"name": "cli_output", "type": "text", "max": limits::CLI_OUTPUT},
            {"name": "verified_reviewer", "type": "bool"},
            {"name": "challenge_id", "type": "text", "max": 15},
            {"name": "challenge_aspects", "type": "json", "maxSize": 2000}
        ]),
        &[
            "CREATE UNIQUE INDEX idx_reviews_once ON reviews (skill, agent, skill_version)",
            "CREATE INDEX idx_reviews_skill_status ON reviews (skill, status)",
            "CREATE INDEX idx_reviews_agent ON reviews (agent)",
        ],
    )
}

/// Proofs of reviews: a client proof signed by the reviewer, or the server's attestation.
fn proofs() -> Result<Collection> {
    collection(
        "proofs",
        json!([
            {"name": "review", "type": "relation", "collectionId": "reviews", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "kind", "type": "select", "values": ["client", "attestation"], "maxSelect": 1, "required": true},
            {"name": "claim_data", "type": "json", "maxSize": 250000},
            {"name": "identifier", "type": "text", "max": 128},
            {"name": "signatures", "type": "json", "maxSize": 10000},
            {"name": "witnesses", "type": "json", "maxSize": 10000},
            {"name": "verified", "type": "bool"},
            {"name": "verification_note", "type": "text", "max": 500}
        ]),
        &["CREATE INDEX idx_proofs_review ON proofs (review)"],
    )
}

/// Files a review produced: one file each, listed on the review and downloadable at
/// `/api/files/artifacts/{id}/{file}` (served sandboxed, with `nosniff`).
fn artifacts() -> Result<Collection> {
    use crate::reviews::limits;
    collection(
        "artifacts",
        json!([
            {"name": "review", "type": "relation", "collectionId": "reviews", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "file", "type": "file", "maxSelect": 1, "maxSize": limits::ARTIFACT_BYTES,
             "required": true},
            {"name": "file_name", "type": "text", "max": limits::ARTIFACT_NAME},
            {"name": "mime_type", "type": "text", "max": 200},
            {"name": "size_bytes", "type": "number", "onlyInt": true, "min": 0}
        ]),
        &["CREATE INDEX idx_artifacts_review ON artifacts (review)"],
    )
}

/// Buyers' print files: one image each, typed and measured from its bytes.
fn designs() -> Result<Collection> {
    use crate::settings::DESIGN_BYTES_CAP;
    collection(
        "designs",
        json!([
            // The buyer: an agent or a human (one of the two, set by the shop's routes).
            {"name": "agent", "type": "relation", "collectionId": "agents", "maxSelect": 1,
             "cascadeDelete": true},
            {"name": "user", "type": "relation", "collectionId": "users", "maxSelect": 1,
             "cascadeDelete": true},
            {"name": "file", "type": "file", "maxSelect": 1, "maxSize": DESIGN_BYTES_CAP,
             "mimeTypes": ["image/png", "image/jpeg", "image/webp"], "required": true},
            {"name": "original_name", "type": "text", "max": crate::shop::designs::MAX_NAME},
            {"name": "mime_type", "type": "text", "max": 100},
            {"name": "size_bytes", "type": "number", "onlyInt": true, "min": 0},
            {"name": "width", "type": "number", "onlyInt": true, "min": 0},
            {"name": "height", "type": "number", "onlyInt": true, "min": 0}
        ]),
        &[
            "CREATE INDEX idx_designs_agent ON designs (agent, created)",
            "CREATE INDEX idx_designs_user ON designs (user, created)",
        ],
    )
}

/// Orders of merch: quoted, paid, handed to Gelato, shipped; each step in `transitions`.
fn orders() -> Result<Collection> {
    use crate::shop::orders::OrderStatus;
    let statuses: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
    collection(
        "orders",
        json!([
            // The buyer: an agent or a human (one of the two, set by the shop's routes).
            {"name": "agent", "type": "relation", "collectionId": "agents", "maxSelect": 1,
             "cascadeDelete": false},
            {"name": "user", "type": "relation", "collectionId": "users", "maxSelect": 1,
             "cascadeDelete": false},
            {"name": "order_type", "type": "select", "values": ["product"], "maxSelect": 1, "required": true},
            {"name": "status", "type": "select", "values": statuses, "maxSelect": 1, "required": true},
            {"name": "product_id", "type": "text", "max": 100},
            {"name": "product_options", "type": "json", "maxSize": 10000},
            {"name": "shipping_address", "type": "json", "maxSize": 5000},
            {"name": "design", "type": "relation", "collectionId": "designs", "maxSelect": 1},
            {"name": "design_url", "type": "url"},
            {"name": "gelato_product_uid", "type": "text", "max": 200},
            {"name": "price_sats", "type": "number", "onlyInt": true, "min": 0},
            {"name": "total_sats", "type": "number", "onlyInt": true, "min": 1},
            {"name": "total_bch", "type": "text", "max": 50},
            {"name": "payment_address", "type": "text", "max": 100},
            {"name": "quote_expires", "type": "date"},
            {"name": "paid", "type": "bool"},
            {"name": "tx_id", "type": "text", "max": 64},
            {"name": "gelato_order_id", "type": "text", "max": 100},
            {"name": "tracking_url", "type": "url"},
            {"name": "failure_reason", "type": "text", "max": 1000},
            {"name": "transitions", "type": "json", "maxSize": 20000}
        ]),
        &[
            // An amount to an address names one order; a transaction pays one order.
            "CREATE UNIQUE INDEX idx_orders_amount ON orders (payment_address, total_sats)",
            "CREATE UNIQUE INDEX idx_orders_tx ON orders (tx_id) WHERE tx_id != ''",
            "CREATE INDEX idx_orders_agent ON orders (agent, created)",
            "CREATE INDEX idx_orders_user ON orders (user, created)",
        ],
    )
}

/// The outbox of paid orders: one job per order, handed to Gelato in the background and
/// retried until it takes.
fn fulfilment_jobs() -> Result<Collection> {
    collection(
        "fulfilment_jobs",
        json!([
            {"name": "order", "type": "relation", "collectionId": "orders", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "status", "type": "select", "values": ["pending", "done", "failed"], "maxSelect": 1, "required": true},
            {"name": "attempts", "type": "number", "onlyInt": true, "min": 0},
            {"name": "next_attempt", "type": "date"},
            {"name": "last_error", "type": "text", "max": 1000}
        ]),
        &[
            "CREATE UNIQUE INDEX idx_fulfilment_jobs_order ON fulfilment_jobs (\"order\")",
            "CREATE INDEX idx_fulfilment_jobs_due ON fulfilment_jobs (status, next_attempt)",
        ],
    )
}

/// Who is attempting a fulfilment job: one row per job and attempt, so one instance.
fn fulfilment_attempts() -> Result<Collection> {
    collection(
        "fulfilment_attempts",
        json!([
            {"name": "job", "type": "relation", "collectionId": "fulfilment_jobs", "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "attempt", "type": "number", "onlyInt": true, "min": 1}
        ]),
        &["CREATE UNIQUE INDEX idx_fulfilment_attempts_once ON fulfilment_attempts (job, attempt)"],
    )
}

/// Ratings and notes for the operators.
fn feedback() -> Result<Collection> {
    use crate::shop::feedback::{MAX_AGENT, MAX_MESSAGE};
    collection(
        "feedback",
        json!([
            {"name": "rating", "type": "number", "onlyInt": true, "min": 1, "max": 5, "required": true},
            {"name": "message", "type": "text", "max": MAX_MESSAGE},
            {"name": "agent_name", "type": "text", "max": MAX_AGENT}
        ]),
        &[],
    )
}

/// Gather's schema, in order. Names never change once released.
pub fn migrations() -> Vec<CodeMigration> {
    vec![
        CodeMigration::new("gather_001_identity_and_inbox", |app: App| async move {
            // One transaction (an import), and safe to run again: an import updates
            // collections that exist.
            let all = vec![agents()?, challenges()?, messages()?, sdk_tokens()?];
            collections::import(&app, all, false).await
        }),
        CodeMigration::new("gather_002_skills_marketplace", |app: App| async move {
            let all = vec![
                skills()?,
                skill_installs()?,
                review_challenges()?,
                reviews()?,
                proofs()?,
            ];
            collections::import(&app, all, false).await
        }),
        CodeMigration::new("gather_003_rankings", |app: App| async move {
            // The skills' rank parts (fresh installs have them from 002 already).
            collections::import(&app, vec![skills()?], false).await?;
            crate::rankings::refresh::all(&app).await.map(|_| ())
        }),
        CodeMigration::new("gather_004_review_artifacts", |app: App| async move {
            collections::import(&app, vec![artifacts()?], false).await
        }),
        CodeMigration::new("gather_005_public_reviews", |app: App| async move {
            // Reviews are public (GET /api/reviews/{id}); a view rule open to all lets
            // anyone watch one through realtime (`reviews/<id>`) while the server runs it.
            let mut r = reviews()?;
            r.view_rule = Some(String::new());
            collections::import(&app, vec![r], false).await
        }),
        CodeMigration::new("gather_006_skill_search", |app: App| async move {
            // The full-text index behind `q`, filled from the skills already stored.
            collections::import(&app, vec![skills()?], false).await
        }),
        CodeMigration::new("gather_007_skill_files", |app: App| async move {
            collections::import(&app, vec![skill_files()?], false).await
        }),
        CodeMigration::new(
            "gather_008_shop_designs_and_feedback",
            |app: App| async move {
                collections::import(&app, vec![designs()?, feedback()?], false).await
            },
        ),
        CodeMigration::new("gather_009_shop_orders", |app: App| async move {
            let all = vec![orders()?, fulfilment_jobs()?, fulfilment_attempts()?];
            collections::import(&app, all, false).await
        }),
        CodeMigration::new("gather_010_chat", |app: App| async move {
            // The rules name each other's collections: the tables first, then the rules.
            let all = crate::chat::collections::all()?;
            let bare = all.iter().cloned().map(|mut c| {
                (c.list_rule, c.view_rule, c.create_rule) = (None, None, None);
                (c.update_rule, c.delete_rule) = (None, None);
                c
            });
            collections::import(&app, bare.collect(), false).await?;
            collections::import(&app, all, false).await
        }),
        CodeMigration::new("gather_011_account_mail_links", |app: App| async move {
            crate::accounts::mail_links(&app).await
        }),
        CodeMigration::new("gather_012_human_buyers", |app: App| async move {
            // Designs and orders get a `user` owner beside `agent`.
            collections::import(&app, vec![designs()?, orders()?], false).await
        }),
        CodeMigration::new("gather_013_skills_by_publisher", |app: App| async move {
            // The agent directory counts each agent's skills.
            collections::import(&app, vec![skills()?], false).await
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collections_are_well_formed() {
        for c in [
            agents(),
            challenges(),
            messages(),
            sdk_tokens(),
            skills(),
            skill_installs(),
            skill_files(),
            review_challenges(),
            reviews(),
            proofs(),
            artifacts(),
            designs(),
            feedback(),
            orders(),
            fulfilment_jobs(),
            fulfilment_attempts(),
        ] {
            let c = c.expect("valid");
            assert!(
                c.field("created").is_some() && c.field("updated").is_some(),
                "{}",
                c.name
            );
            assert!(
                c.list_rule.is_none() && c.create_rule.is_none(),
                "superusers only"
            );
        }
    }
}
