//! Reviews at HTTP level: review challenges so far (bound to the agent and the skill
//! version they were issued for).

use crate::agents::post;
use crate::skills::{agent, marketplace};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn review_challenges_are_issued_for_one_skill() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    let (reviewer_id, reviewer) = agent(&s, "reviewer", true).await;
    let (_, unverified) = agent(&s, "newcomer", false).await;
    let (st, skill) = post(
        &s,
        "/api/skills",
        Some(&publisher),
        json!({"id": "gamma/api", "category": "api", "url": "https://api.example.com",
               "description": "An API skill"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{skill}");

    let (st, c) = post(
        &s,
        "/api/reviews/challenge",
        Some(&reviewer),
        json!({"skill_id": "gamma/api"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let totem = c["totem"].as_str().expect("totem");
    assert!(totem.starts_with("GATHER-") && totem.len() == 15, "{totem}");
    assert_eq!(c["aspects"].as_array().map(Vec::len), Some(2));
    let task = c["task"].as_str().expect("task");
    assert!(
        task.starts_with("Review the skill 'gamma/api' (An API skill) at https://api.example.com.")
    );
    assert!(task.contains(c["aspects"][0].as_str().expect("aspect")));
    assert_eq!(c["expires_in"], "15 minutes");
    let expires = chrono::DateTime::parse_from_rfc3339(c["expires_at"].as_str().expect("at"))
        .expect("RFC 3339");
    let left = expires.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(left > chrono::Duration::minutes(14) && left <= chrono::Duration::minutes(15));
    assert_eq!(c["skill"]["id"], skill["id"]);
    assert_eq!(c["skill"]["name"], "gamma/api");
    assert_eq!(c["skill"]["version"], 1);
    assert_eq!(c["skill"]["review_count"], 0);

    // Stored bound to the agent and the skill version, unused.
    let id = c["challenge_id"].as_str().expect("id");
    let (st, stored) = s
        .su(
            Method::GET,
            &format!("/api/collections/review_challenges/records/{id}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{stored}");
    assert_eq!(stored["agent"], reviewer_id.as_str());
    assert_eq!(stored["skill"], skill["id"]);
    assert_eq!(stored["skill_version"], 1);
    assert_eq!(stored["used"], false);
    assert_eq!(stored["totem"], totem);

    // By id too; each challenge its own totem.
    let by_id = json!({"skill_id": skill["id"]});
    let (st, again) = post(&s, "/api/reviews/challenge", Some(&reviewer), by_id).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_ne!(again["totem"], c["totem"]);

    // Refusals.
    let cases = [
        (
            Some(&unverified),
            json!({"skill_id": "gamma/api"}),
            StatusCode::FORBIDDEN,
        ),
        (
            None,
            json!({"skill_id": "gamma/api"}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(&reviewer),
            json!({"skill_id": "no/such"}),
            StatusCode::NOT_FOUND,
        ),
        (
            Some(&reviewer),
            json!({"skill_id": ""}),
            StatusCode::BAD_REQUEST,
        ),
        (Some(&reviewer), json!({}), StatusCode::BAD_REQUEST),
    ];
    for (token, body, want) in cases {
        let (st, b) = post(
            &s,
            "/api/reviews/challenge",
            token.map(String::as_str),
            body,
        )
        .await;
        assert_eq!(st, want, "{b}");
        assert_eq!(b["status"], want.as_u16());
    }
}
