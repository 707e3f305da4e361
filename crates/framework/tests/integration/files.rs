//! Record files: multipart uploads with the field modifiers, checks that leave nothing
//! behind, downloads with thumbnails, ranges and headers, protected files with file
//! tokens, cleanup on delete, and files in batches.

use crate::common::files::*;
use crate::common::*;
use reqwest::multipart::Form;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::path::PathBuf;

async fn setup(s: &Server) -> String {
    let c = s
        .create_collection(json!({
            "name": "docs", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "avatar", "type": "file", "maxSelect": 1, "maxSize": 200000,
                 "mimeTypes": ["image/png", "image/jpeg"], "thumbs": ["50x50", "40x0"]},
                {"name": "attachments", "type": "file", "maxSelect": 3},
                {"name": "owner", "type": "relation", "collectionId": "users", "maxSelect": 1}
            ]
        }))
        .await;
    c["id"].as_str().expect("id").to_string()
}

fn storage(s: &Server) -> PathBuf {
    s.config().data_dir.join("storage")
}

/// The names of the files stored for one record (thumbnail folders left out).
fn stored(s: &Server, cid: &str, rid: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(storage(s).join(cid).join(rid))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with("thumbs_"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn download(s: &Server, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = s.http.get(format!("{}{path}", s.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("download")
}

fn size_of(data: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(data).expect("an image");
    (img.width(), img.height())
}

#[tokio::test]
async fn upload_download_thumbs_and_ranges() {
    let s = start().await;
    let cid = setup(&s).await;
    let image = png(200, 100);
    let form = Form::new()
        .text("title", "with files")
        .part("avatar", part("My Photo.PNG", image.clone()))
        .part("attachments", part("notes.txt", b"hello files".to_vec()))
        .part("attachments", part("../../etc/passwd", b"root:x".to_vec()));
    let (st, rec) = send_form(
        &s,
        Method::POST,
        "/api/collections/docs/records",
        None,
        form,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    let rid = rec["id"].as_str().expect("id").to_string();
    let avatar = rec["avatar"].as_str().expect("a name").to_string();
    assert!(
        avatar.starts_with("my_photo_")
            && avatar.ends_with(".png")
            && avatar.len() == "my_photo_".len() + 14,
        "{avatar}"
    );
    let attachments: Vec<String> =
        serde_json::from_value(rec["attachments"].clone()).expect("names");
    assert_eq!(attachments.len(), 2);
    assert!(attachments[1].starts_with("passwd_"), "{attachments:?}");
    assert_eq!(stored(&s, &cid, &rid).len(), 3);

    // By collection name and by id; type from the bytes; PocketBase's headers.
    for coll in ["docs", cid.as_str()] {
        let r = download(&s, &format!("/api/files/{coll}/{rid}/{avatar}"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(
            r.headers()["content-disposition"],
            format!("inline; filename=\"{avatar}\"").as_str()
        );
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap_or_default()
            .contains("sandbox"));
        assert!(r.headers().contains_key("last-modified"));
        assert_eq!(r.bytes().await.expect("bytes").to_vec(), image);
    }
    let r = download(
        &s,
        &format!("/api/files/docs/{rid}/{}?download=1", attachments[0]),
        &[],
    )
    .await;
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap_or_default()
        .starts_with("attachment"));
    assert_eq!(r.text().await.expect("text"), "hello files");

    let r = download(
        &s,
        &format!("/api/files/docs/{rid}/{}", attachments[0]),
        &[("Range", "bytes=0-4")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.text().await.expect("text"), "hello");
    let r = download(
        &s,
        &format!("/api/files/docs/{rid}/{}", attachments[0]),
        &[("Range", "bytes=500-600")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // Thumbnails: the default size and the field's own, made once and kept.
    for (thumb, want) in [
        ("100x100", (100, 100)),
        ("50x50", (50, 50)),
        ("40x0", (40, 20)),
    ] {
        let r = download(
            &s,
            &format!("/api/files/docs/{rid}/{avatar}?thumb={thumb}"),
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(size_of(&r.bytes().await.expect("bytes")), want, "{thumb}");
        let kept = storage(&s)
            .join(&cid)
            .join(&rid)
            .join(format!("thumbs_{avatar}"))
            .join(format!("{thumb}_{avatar}"));
        assert!(kept.exists(), "{kept:?}");
    }
    // A size the field does not offer, or a file that is no image: the original.
    let r = download(
        &s,
        &format!("/api/files/docs/{rid}/{avatar}?thumb=33x33"),
        &[],
    )
    .await;
    assert_eq!(size_of(&r.bytes().await.expect("bytes")), (200, 100));
    let r = download(
        &s,
        &format!("/api/files/docs/{rid}/{}?thumb=100x100", attachments[0]),
        &[],
    )
    .await;
    assert_eq!(r.text().await.expect("text"), "hello files");

    // What is not there is a 404 envelope.
    for path in [
        format!("/api/files/docs/{rid}/nosuch.png"),
        format!("/api/files/docs/nosuchrecord123/{avatar}"),
        format!("/api/files/nosuch/{rid}/{avatar}"),
        format!("/api/files/docs/{rid}/..%2F..%2Fdata.db"),
    ] {
        let (st, b) = s.get(&path, None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {b}");
        assert_eq!(b["status"], 404);
    }
}

#[tokio::test]
async fn modifiers_replace_and_remove_files() {
    let s = start().await;
    let cid = setup(&s).await;
    let form = Form::new()
        .part("avatar", part("a.png", png(10, 10)))
        .part("attachments", part("one.txt", b"1".to_vec()))
        .part("attachments", part("two.txt", b"2".to_vec()));
    let (st, rec) = send_form(
        &s,
        Method::POST,
        "/api/collections/docs/records",
        None,
        form,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    let rid = rec["id"].as_str().expect("id").to_string();
    let path = format!("/api/collections/docs/records/{rid}");
    let old_avatar = rec["avatar"].as_str().expect("avatar").to_string();
    let _ = download(
        &s,
        &format!("/api/files/docs/{rid}/{old_avatar}?thumb=100x100"),
        &[],
    )
    .await;

    // Append, then the limit: a 4th file is refused and not kept.
    let form = Form::new().part("attachments+", part("three.txt", b"3".to_vec()));
    let (st, rec) = send_form(&s, Method::PATCH, &path, None, form).await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    let names: Vec<String> = serde_json::from_value(rec["attachments"].clone()).expect("names");
    assert_eq!(names.len(), 3);
    assert!(names[2].starts_with("three_"));
    let form = Form::new().part("attachments+", part("four.txt", b"4".to_vec()));
    let (st, b) = send_form(&s, Method::PATCH, &path, None, form).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b["data"]["attachments"]["code"],
        "validation_too_many_values"
    );
    assert_eq!(
        stored(&s, &cid, &rid).len(),
        4,
        "three attachments and the avatar"
    );

    // Prepend with +field; remove by name with field- (the file goes too).
    let form = Form::new()
        .part("+attachments", part("zero.txt", b"0".to_vec()))
        .text("attachments-", names[0].clone());
    let (st, rec) = send_form(&s, Method::PATCH, &path, None, form).await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    let after: Vec<String> = serde_json::from_value(rec["attachments"].clone()).expect("names");
    assert!(after[0].starts_with("zero_"), "{after:?}");
    assert_eq!(&after[1..], &names[1..]);
    assert!(!stored(&s, &cid, &rid).contains(&names[0]));

    // Replacing a single file removes the old one and its thumbnails.
    let form = Form::new().part("avatar", part("b.png", png(12, 12)));
    let (st, rec) = send_form(&s, Method::PATCH, &path, None, form).await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    assert_ne!(rec["avatar"], old_avatar.as_str());
    let files = stored(&s, &cid, &rid);
    assert!(!files.contains(&old_avatar), "{files:?}");
    assert!(!storage(&s)
        .join(&cid)
        .join(&rid)
        .join(format!("thumbs_{old_avatar}"))
        .exists());

    // JSON may keep or drop stored names, never name files that are not there.
    let (st, rec) = s
        .call(
            Method::PATCH,
            &path,
            None,
            Some(json!({"attachments": [after[1].clone()], "avatar": null})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    assert_eq!(rec["attachments"], json!([after[1].clone()]));
    assert_eq!(rec["avatar"], "");
    assert_eq!(stored(&s, &cid, &rid), vec![after[1].clone()]);
    let (st, b) = s
        .call(
            Method::PATCH,
            &path,
            None,
            Some(json!({"attachments": ["made_up_123.txt"]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["data"]["attachments"]["code"], "validation_invalid_file");

    // Deleting the record removes its folder.
    let (st, _) = s.call(Method::DELETE, &path, None, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(!storage(&s).join(&cid).join(&rid).exists());
}

#[tokio::test]
async fn bad_uploads_leave_nothing_behind() {
    let s = start().await;
    let cid = setup(&s).await;
    let cases = [
        (
            Form::new().part("avatar", part("big.png", noisy_png(300, 300))),
            "avatar",
            "validation_file_size_limit",
        ),
        (
            Form::new().part("avatar", part("fake.png", b"just text".to_vec())),
            "avatar",
            "validation_invalid_mime_type",
        ),
        (
            Form::new().part("title", part("t.txt", b"x".to_vec())),
            "title",
            "validation_invalid_file",
        ),
        (
            Form::new().part("nosuch", part("t.txt", b"x".to_vec())),
            "nosuch",
            "validation_invalid_file",
        ),
        (
            Form::new()
                .part("attachments", part("a", vec![1]))
                .part("attachments", part("b", vec![2]))
                .part("attachments", part("c", vec![3]))
                .part("attachments", part("d", vec![4])),
            "attachments",
            "validation_too_many_values",
        ),
    ];
    for (form, field, code) in cases {
        let (st, b) = send_form(
            &s,
            Method::POST,
            "/api/collections/docs/records",
            None,
            form,
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(b["data"][field]["code"], code, "{b}");
    }
    let (_, list) = s.list("docs", &[], None).await;
    assert_eq!(list["totalItems"], 0);
    assert!(!storage(&s).join(&cid).exists(), "no files were kept");

    // A write that fails inside the database (a missing relation) removes its uploads.
    let form = Form::new()
        .text("owner", "nosuchuser12345")
        .part("attachments", part("a.txt", b"a".to_vec()));
    let (st, b) = send_form(
        &s,
        Method::POST,
        "/api/collections/docs/records",
        None,
        form,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let left: usize = std::fs::read_dir(storage(&s).join(&cid))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    std::fs::read_dir(e.path())
                        .map(|mut x| x.next().is_some())
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(left, 0, "the upload was removed again");
    // Binary uploads may contain NUL bytes; text fields may not.
    let form = Form::new().part("attachments", part("bin", vec![0, 0, 1, 0]));
    let (st, b) = send_form(
        &s,
        Method::POST,
        "/api/collections/docs/records",
        None,
        form,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let form = Form::new().text("title", "a\0b");
    let (st, b) = send_form(
        &s,
        Method::POST,
        "/api/collections/docs/records",
        None,
        form,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn protected_files_need_a_file_token() {
    let s = start().await;
    s.create_collection(json!({
        "name": "vault", "listRule": "owner = @request.auth.id", "viewRule": "owner = @request.auth.id",
        "createRule": "", "updateRule": null, "deleteRule": null,
        "fields": [
            {"name": "owner", "type": "relation", "collectionId": "users", "maxSelect": 1},
            {"name": "doc", "type": "file", "maxSelect": 1, "protected": true}
        ]
    }))
    .await;
    let (uid, token) = s.user("owner@example.com").await;
    let (_, other) = s.user("other@example.com").await;
    let form = Form::new()
        .text("owner", uid.clone())
        .part("doc", part("secret.txt", b"top secret".to_vec()));
    let (st, rec) = send_form(
        &s,
        Method::POST,
        "/api/collections/vault/records",
        Some(&token),
        form,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    let path = format!(
        "/api/files/vault/{}/{}",
        rec["id"].as_str().unwrap_or_default(),
        rec["doc"].as_str().unwrap_or_default()
    );

    let (st, _) = s.get(&path, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "guests");
    let (st, _) = s.get(&path, Some(&token)).await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "the Authorization header is not used for files"
    );
    let (st, b) = s.call(Method::POST, "/api/files/token", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{b}");

    let file_token = |t: String| {
        let s = &s;
        async move {
            let (st, b) = s
                .call(Method::POST, "/api/files/token", Some(&t), None)
                .await;
            assert_eq!(st, StatusCode::OK, "{b}");
            b["token"].as_str().expect("token").to_string()
        }
    };
    let mine = file_token(token.clone()).await;
    let r = download(&s, &format!("{path}?token={mine}"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.expect("text"), "top secret");
    let theirs = file_token(other).await;
    let (st, _) = s.get(&format!("{path}?token={theirs}"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "the view rule decides");
    let su = file_token(s.su_token.clone()).await;
    let (st, _) = s.get(&format!("{path}?token={su}"), None).await;
    assert_eq!(st, StatusCode::OK, "superusers see everything");
    // An auth token is not a file token, and a forged one is nothing.
    let (st, _) = s.get(&format!("{path}?token={token}"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let forged = format!("{}x", &mine[..mine.len() - 1]);
    let (st, _) = s.get(&format!("{path}?token={forged}"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn batches_carry_files() {
    let s = start().await;
    let cid = setup(&s).await;
    let payload = json!({"requests": [
        {"method": "POST", "url": "/api/collections/docs/records", "body": {"title": "one"}},
        {"method": "POST", "url": "/api/collections/docs/records", "body": {"title": "two"}}
    ]});
    let form = Form::new()
        .text("@jsonPayload", payload.to_string())
        .part("requests.0.avatar", part("a.png", png(8, 8)))
        .part("requests[1].attachments", part("b.txt", b"b".to_vec()));
    let (st, b) = send_form(&s, Method::POST, "/api/batch", None, form).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let first = &b[0]["body"];
    assert!(
        first["avatar"]
            .as_str()
            .unwrap_or_default()
            .starts_with('a'),
        "{b}"
    );
    assert_eq!(
        b[1]["body"]["attachments"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        stored(&s, &cid, first["id"].as_str().unwrap_or_default()).len(),
        1
    );

    // A failing batch keeps none of its uploads.
    let payload = json!({"requests": [
        {"method": "POST", "url": "/api/collections/docs/records", "body": {"id": "filesbatch00001"}},
        {"method": "POST", "url": "/api/collections/docs/records", "body": {"owner": "nosuchuser12345"}}
    ]});
    let form = Form::new()
        .text("@jsonPayload", payload.to_string())
        .part("requests.0.attachments", part("c.txt", b"c".to_vec()));
    let (st, b) = send_form(&s, Method::POST, "/api/batch", None, form).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(!storage(&s)
        .join(&cid)
        .join("filesbatch00001")
        .join("c.txt")
        .exists());
    assert!(stored(&s, &cid, "filesbatch00001").is_empty());
    let form = Form::new()
        .text("@jsonPayload", payload.to_string())
        .part("requests.7.attachments", part("c.txt", b"c".to_vec()));
    let (st, b) = send_form(&s, Method::POST, "/api/batch", None, form).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}
