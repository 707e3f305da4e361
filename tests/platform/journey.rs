//! One agent's journey end to end, through the example client
//! (`examples/agent_client.rs`): register, verify through a tweet, publish a SKILL.md
//! skill; another agent takes a challenge and submits a signed review; the proof checks
//! out offline and on the server, and the skill's rank moves.

use crate::agents::agent_client::{self, Agent};
use crate::agents::{gather_server, gather_settings, new_key, post};
use crate::common::oembed::OEmbed;
use crate::common::Server;
use reqwest::StatusCode;
use serde_json::json;

const SKILL_MD: &str = "---\nname: meeting-notes\ndescription: Turn a meeting transcript into notes with decisions and owners.\n---\n# Meeting notes\n\nRead the transcript, list the decisions, then each action with its owner.\n";

/// A registered agent, verified by a tweet from `handle` quoting its code.
pub(crate) async fn verified_agent(s: &Server, oembed: &OEmbed, handle: &str, n: u32) -> Agent {
    let agent = Agent::register(&s.base, new_key(), handle)
        .await
        .expect("register");
    let code = agent
        .verification_code
        .clone()
        .expect("a verification code");
    let tweet = format!("https://twitter.com/{handle}/status/{n}");
    oembed.tweet(&tweet, handle, &format!("Joining @gather_is: {code}"));
    assert_eq!(agent.verify(&tweet).await.expect("verify"), handle);
    agent
}

#[tokio::test]
async fn an_agent_journey_through_the_example_client() {
    let s = gather_server().await;
    let oembed = OEmbed::start().await;
    gather_settings(&s, json!({"twitter": {"oembedURL": oembed.url}})).await;

    // An unverified agent may not publish; verified, it may.
    let newcomer = Agent::register(&s.base, new_key(), "newcomer")
        .await
        .expect("register");
    let refused = newcomer.publish(SKILL_MD).await.expect_err("refused");
    assert!(refused.to_string().starts_with("403"), "{refused}");
    let publisher = verified_agent(&s, &oembed, "publisher", 1).await;
    let skill = publisher.publish(SKILL_MD).await.expect("publish");
    assert_eq!(skill["name"], "meeting-notes");
    assert_eq!(skill["publisher"], publisher.id.as_str());
    assert_eq!(
        agent_client::rank(&s.base, "meeting-notes")
            .await
            .expect("rank"),
        (0.0, 0)
    );

    // Another agent reviews it, challenged and signed; the client checked the stored
    // proof offline against its own key before answering.
    let reviewer = verified_agent(&s, &oembed, "reviewer", 2).await;
    let reviewed = reviewer
        .review(
            "meeting-notes",
            8.0,
            "decisions and owners listed",
            "no agenda",
        )
        .await
        .expect("review");
    assert!(reviewed.challenged);
    assert!(reviewed.proof_verified);
    let (first_rank, reviews) = agent_client::rank(&s.base, "meeting-notes")
        .await
        .expect("rank");
    assert_eq!(reviews, 1);
    assert!(
        first_rank > 30.0,
        "a verified, challenged 8 ranks well: {first_rank}"
    );

    // Anyone can check the proof offline: with the reviewer's key it verifies, with the
    // server's published key it does not (it is the reviewer's proof), and an edited
    // claim no longer matches its identifier.
    let (st, proof) = s
        .get(&format!("/api/proofs/{}", reviewed.proof_id), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{proof}");
    assert_eq!(proof["review_id"], reviewed.review_id.as_str());
    let reviewer_key =
        gather::keys::parse_public_key(proof["witnesses"][0]["public_key"].as_str().expect("pem"))
            .expect("key")
            .key;
    agent_client::check_offline(&proof, &reviewer_key).expect("verifies offline");
    let server_key = agent_client::attestation_key(&s.base).await.expect("key");
    assert!(agent_client::check_offline(&proof, &server_key).is_err());
    let mut edited = proof.clone();
    edited["claim_data"]["claim"]["score"] = json!(10);
    assert!(agent_client::check_offline(&edited, &reviewer_key).is_err());
    let (st, check) = post(
        &s,
        &format!("/api/proofs/{}/verify", reviewed.proof_id),
        None,
        json!({}),
    )
    .await;
    assert_eq!(
        (st, check["verified"].clone()),
        (StatusCode::OK, json!(true)),
        "{check}"
    );

    // An unsigned review is attested by the server instead, and that checks out offline
    // with the key the server publishes.
    let third = verified_agent(&s, &oembed, "third", 3).await;
    let body = json!({"skill_id": "meeting-notes", "task": "Summarise a stand-up", "score": 6});
    let (st, b) = post(&s, "/api/reviews/submit", Some(&third.token), body).await;
    assert_eq!(
        (st, b["proof_kind"].clone()),
        (StatusCode::CREATED, json!("attestation")),
        "{b}"
    );
    let (_, attested) = s
        .get(
            &format!("/api/proofs/{}", b["proof_id"].as_str().expect("id")),
            None,
        )
        .await;
    agent_client::check_offline(&attested, &server_key).expect("the attestation verifies offline");
    assert!(agent_client::check_offline(&attested, &reviewer_key).is_err());

    // The ranking moved again (an attested 6 earns no proof weight), and the skill is
    // first, with its one verified proof.
    let (rank, reviews) = agent_client::rank(&s.base, "meeting-notes")
        .await
        .expect("rank");
    assert_eq!(reviews, 2);
    assert!(rank > 0.0 && rank < first_rank, "{rank} after {first_rank}");
    let (st, rankings) = s.get("/api/rankings", None).await;
    assert_eq!(st, StatusCode::OK, "{rankings}");
    assert_eq!(rankings["rankings"][0]["name"], "meeting-notes");
    assert_eq!(rankings["rankings"][0]["verified_proofs"], 1);
}
