//! `/api/batch`: several record creates, updates, upserts and deletes in one
//! transaction, as PocketBase's `pb.createBatch()` sends them.

use super::context::Ctx;
use super::error::ApiResult;
use super::record_body::MultipartBody;
use super::Tags;
use crate::error::Error;
use crate::files::FormFile;
use crate::records::batch::{self, BatchAction, BatchRequest};
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiRequest, Object, OpenApi};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub struct BatchApi;

/// A batch: `{"requests": [{"method", "url", "headers", "body"}]}`, as JSON or as
/// multipart/form-data with that object in the `@jsonPayload` field and files named
/// `requests.N.field`.
#[derive(ApiRequest)]
pub enum BatchBody {
    Json(Json<Value>),
    Multipart(MultipartBody),
}

/// The answer to one request of a committed batch.
#[derive(Object)]
struct BatchResult {
    /// 200 for a create, update or upsert; 204 for a delete.
    status: u16,
    /// The record written (shaped by the request's `?expand=` and `?fields=`), or `null`.
    body: Value,
}

#[OpenApi(tag = "Tags::Records")]
impl BatchApi {
    /// Run several record writes all-or-nothing.
    ///
    /// Each request is `{"method", "url", "headers"?, "body"?}` where method and url are
    /// one of `POST /api/collections/{c}/records` (create), `PUT
    /// /api/collections/{c}/records` (upsert: update when `body.id` exists, else create),
    /// `PATCH /api/collections/{c}/records/{id}` and `DELETE
    /// /api/collections/{c}/records/{id}`, optionally with `?expand=` and `?fields=`.
    /// Every request is checked against its collection's rules (with
    /// `@request.context = "batch"`) and sees what earlier requests of the batch wrote.
    /// If one fails, nothing is written and the error says which one
    /// (`data.requests.{index}.response`).
    #[oai(path = "/api/batch", method = "post", operation_id = "batch")]
    async fn batch(
        &self,
        ctx: Ctx,
        req: &Request,
        body: BatchBody,
    ) -> ApiResult<Json<Vec<BatchResult>>> {
        let max = ctx.app.settings().batch.max_body_size;
        let declared = req
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if max > 0 && declared.is_some_and(|n| n > max) {
            return Err(Error::PayloadTooLarge("The batch body is too large.".into()).into());
        }
        let (payload, files) = match body {
            BatchBody::Json(j) => (super::body_object(j.0)?, Vec::new()),
            BatchBody::Multipart(m) => (m.fields, m.files),
        };
        let mut requests = parse_requests(payload)?;
        attach_files(&mut requests, files)?;
        let done = batch::run(&ctx.app, &ctx.info, requests).await?;
        Ok(Json(
            done.into_iter()
                .map(|r| BatchResult {
                    status: r.status,
                    body: r.body,
                })
                .collect(),
        ))
    }
}

fn invalid(message: &str) -> Error {
    Error::field(
        "Invalid batch request data.",
        "requests",
        crate::fields::FieldError::new("validation_invalid_batch_request", message),
    )
}

/// The batch's requests, each turned into what it asks for.
fn parse_requests(mut payload: Map<String, Value>) -> Result<Vec<BatchRequest>, Error> {
    let list = match payload.remove("requests") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("requests must be a list.")),
    };
    list.into_iter()
        .enumerate()
        .map(|(index, item)| {
            parse_request(item).map_err(|e| Error::Batch {
                index,
                error: Box::new(e),
            })
        })
        .collect()
}

/// Gives each request the files sent for it as `requests.N.field` (or `requests[N].field`).
fn attach_files(requests: &mut [BatchRequest], files: Vec<FormFile>) -> Result<(), Error> {
    for mut f in files {
        let target = f
            .key
            .strip_prefix("requests.")
            .and_then(|rest| rest.split_once('.'))
            .or_else(|| {
                f.key
                    .strip_prefix("requests[")
                    .and_then(|rest| rest.split_once("]."))
            })
            .and_then(|(i, key)| Some((i.parse::<usize>().ok()?, key.to_string())));
        let Some((index, key)) = target.filter(|(i, _)| *i < requests.len()) else {
            return Err(invalid(&format!(
                "The file part {:?} names no request of the batch (use requests.N.field).",
                f.key
            )));
        };
        f.key = key;
        requests[index].files.push(f);
    }
    Ok(())
}

fn parse_request(item: Value) -> Result<BatchRequest, Error> {
    let Value::Object(mut item) = item else {
        return Err(Error::BadRequest(
            "A batch request must be an object.".into(),
        ));
    };
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let method = text(item.remove("method")).to_ascii_uppercase();
    let url = text(item.remove("url"));
    let headers = match item.remove("headers") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(h)) => h
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k.to_ascii_lowercase().replace('-', "_"), v)
            })
            .collect(),
        Some(_) => return Err(Error::BadRequest("headers must be an object.".into())),
    };
    let body = match item.remove("body") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(b)) => b,
        Some(_) => return Err(Error::BadRequest("body must be a JSON object.".into())),
    };
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let (collection, action) = route(&method, path).ok_or_else(|| {
        Error::BadRequest(format!(
            "{method} {path} is not allowed in a batch: only record create, upsert, update and delete requests are."
        ))
    })?;
    Ok(BatchRequest {
        action,
        collection,
        query,
        headers,
        body,
        files: Vec::new(),
        guard: None,
    })
}

/// Which record write `method path` is, if it is one.
fn route(method: &str, path: &str) -> Option<(String, BatchAction)> {
    let rest = path
        .trim_end_matches('/')
        .strip_prefix("/api/collections/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let decode = |s: &str| percent_decode(s).filter(|s| !s.is_empty() && !s.contains('/'));
    match (method, parts.as_slice()) {
        ("POST", [c, "records"]) => Some((decode(c)?, BatchAction::Create)),
        ("PUT", [c, "records"]) => Some((decode(c)?, BatchAction::Upsert)),
        ("PATCH", [c, "records", id]) => Some((decode(c)?, BatchAction::Update(decode(id)?))),
        ("DELETE", [c, "records", id]) => Some((decode(c)?, BatchAction::Delete(decode(id)?))),
        _ => None,
    }
}

fn percent_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route("POST", "/api/collections/posts/records"),
            Some(("posts".into(), BatchAction::Create))
        );
        assert_eq!(
            route("PUT", "/api/collections/posts/records/"),
            Some(("posts".into(), BatchAction::Upsert))
        );
        assert_eq!(
            route("PATCH", "/api/collections/posts/records/abc"),
            Some(("posts".into(), BatchAction::Update("abc".into())))
        );
        assert_eq!(
            route("DELETE", "/api/collections/a%20b/records/x1"),
            Some(("a b".into(), BatchAction::Delete("x1".into())))
        );
        assert_eq!(route("GET", "/api/collections/posts/records"), None);
        assert_eq!(route("POST", "/api/collections/posts/records/abc"), None);
        assert_eq!(route("DELETE", "/api/collections/posts"), None);
        assert_eq!(route("POST", "/api/collections//records"), None);
        assert_eq!(route("POST", "/api/settings"), None);
    }

    #[test]
    fn requests_are_read_with_their_query_and_headers() {
        let payload = serde_json::json!({"requests": [
            {"method": "post", "url": "/api/collections/posts/records?expand=author&fields=id",
             "headers": {"X-Token": "abc"}, "body": {"title": "a"}},
        ]});
        let Value::Object(p) = payload else {
            unreachable!()
        };
        let r = parse_requests(p).expect("valid");
        assert_eq!(r[0].action, BatchAction::Create);
        assert_eq!(r[0].query.get("expand").map(String::as_str), Some("author"));
        assert_eq!(r[0].headers.get("x_token").map(String::as_str), Some("abc"));
        assert_eq!(r[0].body.get("title"), Some(&Value::String("a".into())));
        let bad = serde_json::json!({"requests": [{"method": "GET", "url": "/api/health"}]});
        let Value::Object(p) = bad else {
            unreachable!()
        };
        assert!(matches!(
            parse_requests(p),
            Err(Error::Batch { index: 0, .. })
        ));
    }
}
