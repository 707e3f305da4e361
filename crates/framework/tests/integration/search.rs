//! Full-text search (`?search=`) over searchable fields: relevance, the query syntax,
//! the index following every write and every schema change, and its errors.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn articles(s: &Server) -> Value {
    s.create_collection(json!({
        "name": "articles", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [
            {"name": "title", "type": "text", "searchable": true},
            {"name": "body", "type": "editor", "searchable": true},
            {"name": "kind", "type": "text"},
            {"name": "created", "type": "autodate", "onCreate": true}
        ]
    }))
    .await
}

async fn titles(s: &Server, params: &[(&str, &str)]) -> Vec<String> {
    let (status, body) = s.list("articles", params, None).await;
    assert_eq!(status, StatusCode::OK, "{params:?}: {body}");
    column(&body, "title")
        .into_iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn search_finds_stemmed_words_best_match_first() {
    let s = start().await;
    let c = articles(&s).await;
    assert_eq!(c["fields"][1]["searchable"], true);
    // Off is left out, as PocketBase has no such option.
    assert!(c["fields"][3].get("searchable").is_none(), "{c}");
    for (title, body, kind) in [
        (
            "Reviewing pull requests",
            "<p>How to review code</p>",
            "guide",
        ),
        (
            "Release notes",
            "<p>What changed; reviews welcome</p>",
            "news",
        ),
        ("Cooking pasta", "<p>Boil water, add salt</p>", "guide"),
        (
            "Code review checklist",
            "<p>Review the tests first, then the code</p>",
            "guide",
        ),
    ] {
        s.create_record(
            "articles",
            json!({"title": title, "body": body, "kind": kind}),
        )
        .await;
    }
    // Stemmed: "reviews" finds review, reviewing; a title match ranks above a body one.
    let found = titles(&s, &[("search", "reviews")]).await;
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[2], "Release notes", "{found:?}");
    // Every word must match; a phrase must appear as one.
    assert_eq!(
        titles(&s, &[("search", "code review")]).await.len(),
        2,
        "pull requests' body and the checklist"
    );
    assert_eq!(
        titles(&s, &[("search", "\"code review\"")]).await,
        vec!["Code review checklist"]
    );
    assert_eq!(titles(&s, &[("search", "review -tests")]).await.len(), 2);
    let either = titles(&s, &[("search", "pasta or release"), ("sort", "title")]).await;
    assert_eq!(either, vec!["Cooking pasta", "Release notes"]);
    // With the rule's and the client's filter; `sort` overrides relevance; totals count
    // only matches.
    let (_, body) = s
        .list(
            "articles",
            &[
                ("search", "review"),
                ("filter", "kind = 'guide'"),
                ("perPage", "1"),
            ],
            None,
        )
        .await;
    assert_eq!(body["totalItems"], 2, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
    // Query syntax of either engine is inert text; nothing found is an empty page.
    for odd in [
        "name:x",
        "\"unclosed",
        "a AND (",
        "*",
        "NEAR(a b)",
        "-",
        "''; DROP TABLE articles",
    ] {
        let (status, body) = s.list("articles", &[("search", odd)], None).await;
        assert_eq!(status, StatusCode::OK, "{odd}: {body}");
    }
    assert!(titles(&s, &[("search", "***")]).await.is_empty());
    assert_eq!(
        titles(&s, &[("search", "  ")]).await.len(),
        4,
        "blank is no search"
    );
}

#[tokio::test]
async fn the_index_follows_writes_and_schema_changes() {
    let s = start().await;
    let c = articles(&s).await;
    let a = s
        .create_record("articles", json!({"title": "Alpha tools", "body": "first"}))
        .await;
    let id = a["id"].as_str().unwrap_or_default().to_string();
    let path = format!("/api/collections/articles/records/{id}");
    s.su(Method::PATCH, &path, Some(json!({"title": "Omega tools"})))
        .await;
    assert!(titles(&s, &[("search", "alpha")]).await.is_empty());
    assert_eq!(
        titles(&s, &[("search", "omega")]).await,
        vec!["Omega tools"]
    );
    // A batch write is indexed as any other.
    let (status, body) = s
        .su(
            Method::POST,
            "/api/batch",
            Some(json!({"requests": [
                {"method": "POST", "url": "/api/collections/articles/records", "body": {"title": "Batched zebra"}}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(titles(&s, &[("search", "zebra")]).await.len(), 1);

    // Renaming the collection and a field keeps (or rebuilds) the index.
    let mut def = c.clone();
    def["name"] = json!("posts");
    def["fields"][1]["name"] = json!("heading");
    let cid = c["id"].as_str().unwrap_or_default();
    let (status, body) = s
        .su(Method::PATCH, &format!("/api/collections/{cid}"), Some(def))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = s.list("posts", &[("search", "omega")], None).await;
    assert_eq!(
        column(&body, "heading"),
        vec![json!("Omega tools")],
        "{body}"
    );
    // Deleting a record takes it out.
    s.su(
        Method::DELETE,
        &format!("/api/collections/posts/records/{id}"),
        None,
    )
    .await;
    let (_, body) = s.list("posts", &[("search", "omega")], None).await;
    assert_eq!(body["totalItems"], 0, "{body}");

    // Turning search off: a 400 naming the parameter; on again for existing rows:
    // they are indexed at once.
    let (_, mut def) = s
        .su(Method::GET, &format!("/api/collections/{cid}"), None)
        .await;
    def["fields"][1]["searchable"] = json!(false);
    def["fields"][2]["searchable"] = json!(false);
    s.su(
        Method::PATCH,
        &format!("/api/collections/{cid}"),
        Some(def.clone()),
    )
    .await;
    let (status, body) = s.list("posts", &[("search", "zebra")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["data"]["search"]["code"], "validation_invalid_search",
        "{body}"
    );
    def["fields"][3]["searchable"] = json!(true);
    def["fields"][1]["searchable"] = json!(true);
    s.su(Method::PATCH, &format!("/api/collections/{cid}"), Some(def))
        .await;
    let (_, body) = s.list("posts", &[("search", "zebra")], None).await;
    assert_eq!(body["totalItems"], 1, "{body}");

    let long = "word ".repeat(101);
    let (status, body) = s.list("posts", &[("search", &long)], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The collection can go, and its name's index with it: a new one starts empty.
    let (status, _) = s
        .su(Method::DELETE, &format!("/api/collections/{cid}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    articles(&s).await;
    assert!(titles(&s, &[("search", "zebra")]).await.is_empty());
}

#[tokio::test]
async fn engine_names_are_not_for_collections_or_fields() {
    let s = start().await;
    let (status, body) = s
        .su(
            Method::POST,
            "/api/collections",
            Some(json!({"name": "_search_x", "type": "base"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = s
        .su(
            Method::POST,
            "/api/collections",
            Some(json!({"name": "docs", "type": "base", "fields": [{"name": "_search", "type": "text"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
