//! The collections API: lifecycle with data kept across schema changes, indexes,
//! views, import, truncate and the errors around them.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn field<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|x| x["name"] == name))
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn lifecycle_keeps_data_across_schema_changes() {
    let s = start().await;
    let c = s
        .create_collection(json!({
            "name": "posts", "type": "base", "listRule": "", "viewRule": "",
            "fields": [
                {"name": "title", "type": "text", "required": true},
                {"name": "views", "type": "number"},
                {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 1}
            ]
        }))
        .await;
    assert_eq!(c["type"], "base");
    assert!(c["id"].as_str().unwrap().starts_with("pbc_"));
    let names: Vec<&str> = c["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    // The schema sent is the schema saved (PocketBase adds only `id`).
    assert_eq!(names, ["id", "title", "views", "tags"]);

    let r1 = s
        .create_record("posts", json!({"title": "First", "views": 7, "tags": "a"}))
        .await;
    s.create_record("posts", json!({"title": "Second", "views": 1}))
        .await;

    // Add a field, rename one (same id), remove one, switch tags to multiple values.
    let mut fields = c["fields"].as_array().unwrap().clone();
    for f in fields.iter_mut() {
        if f["name"] == "title" {
            f["name"] = json!("headline");
        }
        if f["name"] == "tags" {
            f["maxSelect"] = json!(3);
        }
    }
    fields.retain(|f| f["name"] != "views");
    fields.push(json!({"name": "body", "type": "editor"}));
    let (st, updated) = s
        .su(
            Method::PATCH,
            "/api/collections/posts",
            Some(json!({"name": "articles", "fields": fields})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "articles");
    assert_eq!(field(&updated, "headline")["id"], field(&c, "title")["id"]);
    assert!(field(&updated, "views").is_null());
    let names: Vec<&str> = updated["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["id", "headline", "tags", "body"],
        "nothing added on the way"
    );

    let (st, rec) = s
        .su(
            Method::GET,
            &format!(
                "/api/collections/articles/records/{}",
                r1["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    assert_eq!(rec["headline"], "First");
    assert_eq!(rec["tags"], json!(["a"]));
    assert_eq!(rec["body"], "");
    assert!(rec.get("views").is_none());
    assert_eq!(rec["collectionName"], "articles");

    // And back to a single value: the last item is kept.
    let mut fields = updated["fields"].as_array().unwrap().clone();
    for f in fields.iter_mut() {
        if f["name"] == "tags" {
            f["maxSelect"] = json!(1);
        }
    }
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/collections/articles",
            Some(json!({"fields": fields})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, rec) = s
        .su(
            Method::GET,
            &format!(
                "/api/collections/articles/records/{}",
                r1["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    assert_eq!(rec["tags"], "a", "{rec}");

    // The old name is gone; the id still works.
    let (st, _) = s.su(Method::GET, "/api/collections/posts", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, by_id) = s
        .su(
            Method::GET,
            &format!("/api/collections/{}", c["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(by_id["name"], "articles");

    let (st, list) = s
        .su(
            Method::GET,
            "/api/collections?filter=name%3D'articles'",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list["totalItems"], 1);

    let (st, _) = s
        .su(Method::DELETE, "/api/collections/articles", None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .su(Method::GET, "/api/collections/articles/records", None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unique_indexes_and_index_changes() {
    let s = start().await;
    s.create_collection(json!({
        "name": "tags", "listRule": "", "fields": [{"name": "slug", "type": "text"}],
        "indexes": ["CREATE UNIQUE INDEX idx_tags_slug ON tags (slug)"]
    }))
    .await;
    s.create_record("tags", json!({"slug": "rust"})).await;
    let (st, err) = s
        .su(
            Method::POST,
            "/api/collections/tags/records",
            Some(json!({"slug": "rust"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["data"]["slug"]["code"], "validation_not_unique");

    // Dropping the index allows duplicates.
    let (st, c) = s
        .su(
            Method::PATCH,
            "/api/collections/tags",
            Some(json!({"indexes": []})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    s.create_record("tags", json!({"slug": "rust"})).await;
    // Re-adding it over duplicates fails and changes nothing.
    let (st, err) = s
        .su(
            Method::PATCH,
            "/api/collections/tags",
            Some(json!({"indexes": ["CREATE UNIQUE INDEX idx_tags_slug ON tags (slug)"]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    let (_, c) = s.su(Method::GET, "/api/collections/tags", None).await;
    assert_eq!(c["indexes"], json!([]));

    let (st, err) = s
        .su(
            Method::PATCH,
            "/api/collections/tags",
            Some(json!({"indexes": ["CREATE INDEX x ON tags (nope)"]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["data"]["indexes"]["0"]["code"],
        "validation_invalid_index_expression"
    );
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/collections/tags",
            Some(json!({"indexes": ["DROP TABLE tags"]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn validation_errors() {
    let s = start().await;
    s.create_collection(json!({"name": "things"})).await;
    // Inputs and the error each gets, as PocketBase 0.40.6 answers them (field positions
    // count the `id` field first). Where PocketBase accepts what we refuse, the README's
    // differences table says so; those rows are at the end.
    let cases = [
        (
            json!({"name": "things"}),
            "/name",
            "validation_collection_name_exists",
        ),
        (
            json!({"name": "THINGS"}),
            "/name",
            "validation_collection_name_exists",
        ),
        (
            json!({"name": "bad name"}),
            "/name",
            "validation_match_invalid",
        ),
        (json!({"name": ""}), "/name", "validation_required"),
        (
            json!({"name": "a".repeat(300)}),
            "/name",
            "validation_length_out_of_range",
        ),
        (
            json!({"name": "_params"}),
            "/name",
            "validation_collection_name_invalid",
        ),
        (
            json!({"name": "x", "listRule": "nope ="}),
            "/listRule",
            "validation_invalid_rule",
        ),
        (
            json!({"name": "x", "viewRule": "missing = 1"}),
            "/viewRule",
            "validation_invalid_rule",
        ),
        (
            json!({"name": "x", "type": "weird"}),
            "/type",
            "validation_in_invalid",
        ),
        (
            json!({"name": "x", "fields": [{"name": "a b", "type": "text"}]}),
            "/fields/1/name",
            "validation_match_invalid",
        ),
        (
            json!({"name": "x", "fields": [{"type": "text"}]}),
            "/fields/1/name",
            "validation_required",
        ),
        (
            json!({"name": "x", "fields": [{"name": "expand", "type": "text"}]}),
            "/fields/1/name",
            "validation_not_in_invalid",
        ),
        (
            json!({"name": "x", "fields": [{"name": "id", "type": "number"}]}),
            "/fields/1/name",
            "validation_duplicated_field_name",
        ),
        (
            json!({"name": "x", "fields": [{"name": "a", "type": "text", "id": "t1"}, {"name": "A", "type": "bool", "id": "b1"}]}),
            "/fields/2/name",
            "validation_duplicated_field_name",
        ),
        (
            json!({"name": "x", "fields": [{"name": "r", "type": "relation", "collectionId": "nowhere"}]}),
            "/fields/1/collectionId",
            "validation_field_relation_missing_collection",
        ),
        (
            json!({"name": "x", "fields": [{"name": "r", "type": "relation", "collectionId": "users", "minSelect": 3, "maxSelect": 1}]}),
            "/fields/1/maxSelect",
            "validation_min_greater_equal_than_required",
        ),
        (
            json!({"name": "x", "fields": [{"name": "s", "type": "select", "values": []}]}),
            "/fields/1/values",
            "validation_required",
        ),
        (
            json!({"name": "x", "fields": [{"name": "s", "type": "select", "values": ["a"], "maxSelect": 3}]}),
            "/fields/1/maxSelect",
            "validation_max_less_equal_than_required",
        ),
        (
            json!({"name": "x", "fields": [{"name": "t", "type": "text", "min": 5, "max": 2}]}),
            "/fields/1/max",
            "validation_min_greater_equal_than_required",
        ),
        (
            json!({"name": "x", "fields": [{"name": "t", "type": "text", "pattern": "("}]}),
            "/fields/1/pattern",
            "validation_invalid_regex",
        ),
        (
            json!({"name": "x", "fields": [{"name": "n", "type": "number", "min": 5, "max": 2}]}),
            "/fields/1/max",
            "validation_min_number_constraint",
        ),
        (
            json!({"name": "x", "fields": [{"name": "a", "type": "text"}], "indexes": ["nope"]}),
            "/indexes/0",
            "validation_invalid_index_expression",
        ),
        (
            json!({"name": "v", "type": "view", "viewQuery": ""}),
            "/viewQuery",
            "validation_required",
        ),
        (
            json!({"name": "v", "type": "view", "viewQuery": "SELECT nope"}),
            "/viewQuery",
            "validation_invalid_view_query",
        ),
        (
            json!({"name": "v", "type": "view", "viewQuery": "SELECT id FROM nowhere"}),
            "/viewQuery",
            "validation_invalid_view_query",
        ),
        (
            json!({"name": "v", "type": "view", "viewQuery": "SELECT 1 AS x"}),
            "/fields",
            "validation_missing_primary_key",
        ),
        // Stricter than PocketBase, which accepts these.
        (
            json!({"name": "x", "fields": [{"name": "a", "type": "text"}, {"name": "a", "type": "text"}]}),
            "/fields/2/name",
            "validation_duplicated_field_name",
        ),
    ];
    for (body, path, code) in cases {
        let (st, err) = s
            .su(Method::POST, "/api/collections", Some(body.clone()))
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {err}");
        let at = err["data"].pointer(path).unwrap_or(&Value::Null);
        assert_eq!(at["code"], code, "{body}: {err}");
        assert_eq!(err["status"], 400);
    }
    // Names starting with '_' are allowed, as in PocketBase, unless they are the
    // server's own tables.
    let (st, err) = s
        .su(
            Method::POST,
            "/api/collections",
            Some(json!({"name": "_private"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{err}");
    let (st, err) = s
        .su(
            Method::POST,
            "/api/collections",
            Some(json!({"name": "x", "fields": [{"name": "a", "type": "nope"}]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");

    // Type changes and system collections.
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/collections/things",
            Some(json!({"type": "auth"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .su(Method::DELETE, "/api/collections/_superusers", None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, err) = s
        .su(
            Method::PATCH,
            "/api/collections/users",
            Some(json!({"fields": [{"name": "id", "type": "text", "primaryKey": true}]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    let (st, _) = s.su(Method::GET, "/api/collections/nope", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Changing a field's type is refused.
    let (_, c) = s.su(Method::GET, "/api/collections/things", None).await;
    let mut fields = c["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "n", "type": "number"}));
    let (st, c) = s
        .su(
            Method::PATCH,
            "/api/collections/things",
            Some(json!({"fields": fields})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut fields = c["fields"].as_array().unwrap().clone();
    for f in fields.iter_mut() {
        if f["name"] == "n" {
            f["type"] = json!("text");
        }
    }
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/collections/things",
            Some(json!({"fields": fields})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn only_superusers_manage_collections() {
    let s = start().await;
    let (_, user) = s.user("u@example.com").await;
    for (m, p) in [
        (Method::GET, "/api/collections"),
        (Method::POST, "/api/collections"),
        (Method::GET, "/api/collections/users"),
        (Method::DELETE, "/api/collections/users"),
    ] {
        let (st, body) = s.call(m.clone(), p, None, Some(json!({"name": "x"}))).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{m} {p}: {body}");
        let (st, body) = s
            .call(m.clone(), p, Some(&user), Some(json!({"name": "x"})))
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{m} {p}: {body}");
        assert_eq!(body["message"], "Only superusers can perform this action.");
    }
}

#[tokio::test]
async fn views_import_and_truncate() {
    let s = start().await;
    let (st, _) = s
        .su(
            Method::PUT,
            "/api/collections/import",
            Some(json!({"collections": [
                {"name": "authors", "listRule": "", "fields": [{"name": "name", "type": "text"}]},
                {"name": "books", "listRule": "", "fields": [{"name": "title", "type": "text"}, {"name": "pages", "type": "number"}, {"name": "author", "type": "relation", "collectionId": "authors", "maxSelect": 1}]}
            ]})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let a = s.create_record("authors", json!({"name": "Ann"})).await;
    for (t, p) in [("A", 100), ("B", 250), ("C", 50)] {
        s.create_record("books", json!({"title": t, "pages": p, "author": a["id"]}))
            .await;
    }
    let v = s
        .create_collection(json!({
            "name": "author_pages", "type": "view", "listRule": "", "viewRule": "",
            "viewQuery": "SELECT authors.id AS id, authors.name AS name, SUM(books.pages) AS total FROM authors JOIN books ON books.author = authors.id GROUP BY authors.id, authors.name"
        }))
        .await;
    let names: Vec<&str> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "name", "total"]);
    let (st, list) = s
        .list("author_pages", &[("filter", "total > 300")], None)
        .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list["items"][0]["name"], "Ann");
    assert_eq!(list["items"][0]["total"], 400);
    let (st, err) = s
        .su(
            Method::POST,
            "/api/collections/author_pages/records",
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["message"], "Unsupported collection type.");
    let (st, _) = s
        .su(
            Method::POST,
            "/api/collections",
            Some(json!({"name": "bad_view", "type": "view", "viewQuery": "DELETE FROM books"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.su(Method::POST, "/api/collections", Some(json!({"name": "bad_view", "type": "view", "viewQuery": "SELECT name FROM authors"}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, _) = s
        .su(Method::DELETE, "/api/collections/books/truncate", None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, list) = s.list("books", &[], None).await;
    assert_eq!(list["totalItems"], 0);

    // A collection referenced by a relation cannot be deleted first.
    let (st, _) = s.su(Method::DELETE, "/api/collections/authors", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Import with deleteMissing removes the others (the view first, then books).
    let (st, _) = s
        .su(Method::DELETE, "/api/collections/author_pages", None)
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, body) = s.su(Method::PUT, "/api/collections/import", Some(json!({"collections": [{"name": "authors", "listRule": "", "fields": [{"name": "name", "type": "text"}]}, {"name": "notes"}], "deleteMissing": true}))).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let (_, all) = s
        .su(Method::GET, "/api/collections?perPage=100", None)
        .await;
    let mut names: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    // `users` is not a system collection, so it goes too, as in PocketBase.
    assert_eq!(
        names,
        [
            "_externalAuths",
            "_mfas",
            "_otps",
            "_superusers",
            "authors",
            "notes"
        ]
    );
    let (st, err) = s
        .su(
            Method::PUT,
            "/api/collections/import",
            Some(json!({"collections": "nope"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["data"]["collections"]["code"],
        "validation_collections_import_failure"
    );
}

#[tokio::test]
async fn scaffolds_and_auth_collections() {
    let s = start().await;
    let (st, sc) = s
        .su(Method::GET, "/api/collections/meta/scaffolds", None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(sc["auth"]["type"], "auth");
    assert!(sc["auth"].get("tokenSecret").is_none());
    let c = s.create_collection(json!({"name": "members", "type": "auth", "listRule": "", "fields": [{"name": "nick", "type": "text"}]})).await;
    for f in [
        "id",
        "password",
        "tokenKey",
        "email",
        "emailVisibility",
        "verified",
        "nick",
    ] {
        assert!(!field(&c, f).is_null(), "{f} missing: {c}");
    }
    assert_eq!(c["passwordAuth"]["enabled"], true);
    assert_eq!(c["authToken"]["duration"], 432000);
}

/// An import is one transaction: a collection the database refuses halfway through
/// leaves the ones before it unwritten, and an existing one unchanged.
#[tokio::test]
async fn an_import_is_all_or_nothing() {
    let s = start().await;
    s.create_collection(json!({"name": "keep", "fields": [{"name": "a", "type": "text"}]}))
        .await;
    let (st, body) = s
        .su(
            Method::PUT,
            "/api/collections/import",
            Some(json!({"collections": [
                {"name": "first", "fields": [{"name": "x", "type": "text"}]},
                {"name": "keep", "fields": [{"name": "a", "type": "text"}, {"name": "b", "type": "number"}]},
                {"name": "broken", "type": "view", "viewQuery": "SELECT id, nope FROM first"}
            ]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["data"]["collections"]["code"],
        "validation_collections_import_failure"
    );
    for gone in ["first", "broken"] {
        let (st, _) = s
            .su(Method::GET, &format!("/api/collections/{gone}"), None)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{gone} was not left behind");
    }
    let (_, keep) = s.su(Method::GET, "/api/collections/keep", None).await;
    let names: Vec<&str> = keep["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "a"], "keep is unchanged");
    // Nor is its table.
    let (st, _) = s
        .su(
            Method::POST,
            "/api/collections/first/records",
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The same import without the broken view goes through whole.
    let (st, body) = s
        .su(
            Method::PUT,
            "/api/collections/import",
            Some(json!({"collections": [
                {"name": "first", "fields": [{"name": "x", "type": "text"}]},
                {"name": "fine", "type": "view", "viewQuery": "SELECT id, x FROM first"}
            ]})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let (st, _) = s
        .su(Method::GET, "/api/collections/fine/records", None)
        .await;
    assert_eq!(st, StatusCode::OK);
}

/// The collections list pages, sorts, filters and counts as record lists do.
#[tokio::test]
async fn the_collections_list_pages_sorts_filters_and_counts() {
    let s = start().await;
    for name in ["zeta", "alpha", "mid"] {
        s.create_collection(json!({"name": name, "fields": [{"name": "v", "type": "text"}]}))
            .await;
        // `created` has milliseconds: apart, so the default order is known.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let list = |q: &'static str| {
        let s = &s;
        async move {
            let (st, b) = s
                .su(Method::GET, &format!("/api/collections?{q}"), None)
                .await;
            assert_eq!(st, StatusCode::OK, "{q}: {b}");
            b
        }
    };
    let names = |b: &Value| -> Vec<String> {
        b["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    // The new ones: not system collections, and not `users`, which every install has.
    let mine = "filter=system%3Dfalse%26%26name!%3D'users'";
    let b = list("filter=system%3Dfalse%26%26name!%3D'users'&sort=name").await;
    assert_eq!(names(&b), ["alpha", "mid", "zeta"]);
    let b = list("filter=system%3Dfalse%26%26name!%3D'users'&sort=-name&perPage=2&page=2").await;
    assert_eq!(names(&b), ["alpha"]);
    assert_eq!(
        (b["page"].clone(), b["perPage"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(
        (b["totalItems"].clone(), b["totalPages"].clone()),
        (json!(3), json!(2))
    );
    // Oldest first by default.
    let b = list(mine).await;
    assert_eq!(names(&b), ["zeta", "alpha", "mid"]);
    let b = list("filter=name~'a'%26%26system%3Dfalse&skipTotal=1").await;
    assert_eq!(b["totalItems"], -1);
    assert_eq!(names(&b).len(), 2, "{b}");
    let (st, b) = s
        .su(Method::GET, "/api/collections?filter=nosuch%3D1", None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}
