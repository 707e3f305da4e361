//! Record files in an S3-compatible bucket (a real moto server): switched on in the
//! settings, checked, shared by two instances, cleaned up on delete.

use crate::common::files::*;
use crate::common::s3::S3Server;
use crate::common::*;
use reqwest::multipart::Form;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn files_live_in_the_bucket_and_every_instance_sees_them() {
    let s3 = S3Server::start().await;
    s3.bucket("gather-files").await;
    let s = start().await;

    // Incomplete settings are refused; a secret is never returned.
    let (st, b) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"s3": {"enabled": true, "bucket": ""}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["data"]["s3"]["bucket"]["code"], "validation_required");
    let settings = json!({"s3": {
        "enabled": true, "bucket": "gather-files", "region": "us-east-1", "endpoint": s3.endpoint,
        "accessKey": "test-key", "secret": "test-secret", "forcePathStyle": true
    }});
    let (st, b) = s.su(Method::PATCH, "/api/settings", Some(settings)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert!(b["s3"].get("secret").is_none(), "{b}");
    assert_eq!(b["s3"]["bucket"], "gather-files");
    let (st, b) = s
        .su(
            Method::POST,
            "/api/settings/test/s3",
            Some(json!({"filesystem": "storage"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{b}");
    let (st, _) = s
        .call(Method::POST, "/api/settings/test/s3", None, Some(json!({})))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    let c = s
        .create_collection(json!({
            "name": "pics", "listRule": "", "viewRule": "", "createRule": "", "deleteRule": "",
            "fields": [{"name": "img", "type": "file", "maxSelect": 2}]
        }))
        .await;
    let cid = c["id"].as_str().expect("id").to_string();
    let image = png(64, 32);
    let form = Form::new()
        .part("img", part("cat.png", image.clone()))
        .part("img", part("note.txt", b"in the bucket".to_vec()));
    let (st, rec) = send_form(
        &s,
        Method::POST,
        "/api/collections/pics/records",
        None,
        form,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{rec}");
    let rid = rec["id"].as_str().expect("id").to_string();
    let names: Vec<String> = serde_json::from_value(rec["img"].clone()).expect("names");
    let mut keys = s3.keys("gather-files", &format!("{cid}/{rid}/")).await;
    keys.sort();
    let mut want: Vec<String> = names.iter().map(|n| format!("{cid}/{rid}/{n}")).collect();
    want.sort();
    assert_eq!(keys, want);
    assert!(
        !s.config().data_dir.join("storage").join(&cid).exists(),
        "nothing was written locally"
    );

    // A second instance on the same database serves the same files.
    let (twin, _stop) = s.twin().await;
    for base in [s.base.clone(), twin] {
        let url = format!("{base}/api/files/pics/{rid}/{}", names[0]);
        let r = s.http.get(&url).send().await.expect("download");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(r.bytes().await.expect("bytes").to_vec(), image);
        let r = s
            .http
            .get(format!("{url}?thumb=100x100"))
            .send()
            .await
            .expect("thumb");
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert!(s3
        .keys("gather-files", &format!("{cid}/{rid}/thumbs_{}/", names[0]))
        .await
        .contains(&format!(
            "{cid}/{rid}/thumbs_{}/100x100_{}",
            names[0], names[0]
        )));

    // Deleting the record empties its folder in the bucket.
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/collections/pics/records/{rid}"),
            None,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(s3
        .keys("gather-files", &format!("{cid}/{rid}/"))
        .await
        .is_empty());

    // A bucket that is not there fails the check with a clear 400.
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"s3": {"bucket": "no-such-bucket"}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, b) = s
        .su(Method::POST, "/api/settings/test/s3", Some(json!({})))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap_or_default()
            .contains("storage check failed"),
        "{b}"
    );
}
