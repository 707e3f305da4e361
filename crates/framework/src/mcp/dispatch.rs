//! A tool call as an HTTP request through the server's own route tree: the same guards,
//! rate limits, rules, hooks and error envelopes as over REST, and the answer read back.

use super::catalog::{BodyKind, ParamIn, ToolSpec, BODY_ARGUMENT};
use base64::Engine as _;
use poem::endpoint::DynEndpoint;
use poem::http::{header, Method, StatusCode};
use poem::{Endpoint, Request, Response};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock, Weak};

/// The whole endpoint, once it is built (it contains `/mcp`, so it cannot exist before
/// the MCP route does). Held weakly: the endpoint holds this, and a strong reference
/// back would keep both, and the app's database pool, alive after the server stops.
#[derive(Default)]
pub(crate) struct Loopback(OnceLock<Weak<dyn DynEndpoint<Output = Response>>>);

impl Loopback {
    pub(crate) fn set(&self, endpoint: &Arc<dyn DynEndpoint<Output = Response>>) {
        let _ = self.0.set(Arc::downgrade(endpoint));
    }

    async fn call(&self, req: Request) -> Response {
        match self.0.get().and_then(Weak::upgrade) {
            Some(ep) => match Endpoint::call(ep.as_ref(), req).await {
                Ok(resp) => resp,
                Err(err) => err.into_response(),
            },
            None => StatusCode::SERVICE_UNAVAILABLE.into(),
        }
    }
}

/// The client of an MCP request, as the HTTP layer saw it: the internal request counts
/// against its rate limits, not the server's own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallerIp(pub Option<IpAddr>);

/// Who a tool call is made for.
pub(crate) struct Caller {
    /// The `Authorization` value to send (`Bearer <token>`), if any.
    pub authorization: Option<String>,
    pub ip: CallerIp,
}

/// An operation's answer, as the route gave it.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub json: Option<Value>,
    pub text: String,
}

impl Answer {
    pub(crate) fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The error envelope's message, with its field errors, for a failed call.
    pub(crate) fn error_text(&self) -> String {
        let message = self
            .json
            .as_ref()
            .and_then(|j| j["message"].as_str())
            .map_or_else(|| self.text.trim().to_string(), str::to_string);
        let mut text = format!("{message} (HTTP {})", self.status.as_u16());
        if let Some(data) = self.json.as_ref().map(|j| &j["data"]) {
            if data.as_object().is_some_and(|d| !d.is_empty()) {
                text.push_str(&format!("\n{data}"));
            }
        }
        text
    }
}

/// Calls `path` with `method` (a resource read, a tool call) for `caller`.
pub(crate) async fn send(
    loopback: &Loopback,
    method: Method,
    path_and_query: &str,
    body: Option<(String, Vec<u8>)>,
    caller: &Caller,
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri_str(path_and_query)
        .header(header::ACCEPT, "application/json")
        // What the request log shows as the client of a tool call.
        .header(header::USER_AGENT, "MCP tool call");
    if let Some(auth) = &caller.authorization {
        req = req.header(header::AUTHORIZATION, auth.as_str());
    }
    let mut req = match body {
        Some((content_type, bytes)) => req.content_type(&content_type).body(bytes),
        None => req.finish(),
    };
    req.set_data(caller.ip);
    let resp = loopback.call(req).await;
    let status = resp.status();
    let text = resp.into_body().into_string().await.unwrap_or_default();
    let json = serde_json::from_str(&text).ok();
    Answer { status, json, text }
}

/// Runs the tool `spec` with `args`.
pub(crate) async fn call(
    loopback: &Loopback,
    spec: &ToolSpec,
    args: &JsonObject,
    caller: &Caller,
) -> Result<Answer, String> {
    let target = target(spec, args)?;
    let body = body(spec, args)?;
    Ok(send(loopback, spec.method.clone(), &target, body, caller).await)
}

/// The tool result of an answer.
pub(crate) fn result(spec: &ToolSpec, answer: &Answer) -> CallToolResult {
    if !answer.ok() {
        return CallToolResult::error(vec![ContentBlock::text(answer.error_text())]);
    }
    match &answer.json {
        Some(value @ Value::Object(_)) if spec.structured => {
            CallToolResult::structured(value.clone())
        }
        Some(value) => CallToolResult::success(vec![ContentBlock::text(value.to_string())]),
        None if answer.text.is_empty() => CallToolResult::success(vec![ContentBlock::text(
            format!("Done (HTTP {}).", answer.status.as_u16()),
        )]),
        None => CallToolResult::success(vec![ContentBlock::text(answer.text.clone())]),
    }
}

/// The path with its parameters filled in, and the query.
fn target(spec: &ToolSpec, args: &JsonObject) -> Result<String, String> {
    let mut path = spec.path.clone();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for p in &spec.params {
        let Some(value) = args.get(&p.name).filter(|v| !v.is_null()) else {
            if p.place == ParamIn::Path {
                return Err(format!("The argument `{}` is required.", p.name));
            }
            continue;
        };
        match p.place {
            ParamIn::Path => {
                let text = scalar(value)
                    .ok_or_else(|| format!("`{}` must be a string or a number.", p.name))?;
                path = path.replace(&format!("{{{}}}", p.name), &path_segment(&text));
            }
            ParamIn::Query => match value {
                Value::Array(items) => {
                    for item in items {
                        query.append_pair(
                            &p.name,
                            &scalar(item).unwrap_or_else(|| item.to_string()),
                        );
                    }
                }
                v => {
                    query.append_pair(&p.name, &scalar(v).unwrap_or_else(|| v.to_string()));
                }
            },
        }
    }
    let query = query.finish();
    Ok(if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    })
}

/// `value` as one path segment: everything but unreserved characters percent-encoded.
pub(crate) fn path_segment(value: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The request body: a content type and its bytes.
fn body(spec: &ToolSpec, args: &JsonObject) -> Result<Option<(String, Vec<u8>)>, String> {
    let is_param = |k: &str| spec.params.iter().any(|p| p.name == k);
    let json = |v: &Value| Some(("application/json".to_string(), v.to_string().into_bytes()));
    match &spec.body {
        BodyKind::None => Ok(None),
        BodyKind::JsonArgument => Ok(args.get(BODY_ARGUMENT).and_then(json)),
        BodyKind::JsonFields => {
            let fields: JsonObject = args
                .iter()
                .filter(|(k, _)| !is_param(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(json(&Value::Object(fields)))
        }
        BodyKind::Multipart { binary } => {
            let fields = args.iter().filter(|(k, _)| !is_param(k));
            multipart(fields, binary).map(Some)
        }
    }
}

/// A `multipart/form-data` body: binary fields are decoded from base64, the others sent
/// as text.
fn multipart<'a>(
    fields: impl Iterator<Item = (&'a String, &'a Value)>,
    binary: &[String],
) -> Result<(String, Vec<u8>), String> {
    let boundary = format!("gather-mcp-{:032x}", rand::random::<u128>());
    let mut out = Vec::new();
    for (name, value) in fields {
        if name.contains(['"', '\r', '\n']) {
            return Err(format!("`{name}` is not a field of this form."));
        }
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if binary.contains(name) {
            let text = value
                .as_str()
                .ok_or_else(|| format!("`{name}` must be base64 text."))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| format!("`{name}` is not valid base64."))?;
            out.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            out.extend_from_slice(&bytes);
        } else {
            let text = scalar(value).unwrap_or_else(|| value.to_string());
            out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
            out.extend_from_slice(text.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((format!("multipart/form-data; boundary={boundary}"), out))
}

#[cfg(test)]
mod tests {
    use super::super::catalog::Param;
    use super::*;
    use rmcp::model::Tool;
    use serde_json::json;

    fn spec(body: BodyKind) -> ToolSpec {
        ToolSpec {
            tool: Tool::new("t", "d", JsonObject::new()),
            method: Method::POST,
            path: "/api/skills/{id}/install".into(),
            params: vec![
                Param {
                    name: "id".into(),
                    place: ParamIn::Path,
                },
                Param {
                    name: "tags".into(),
                    place: ParamIn::Query,
                },
            ],
            body,
            needs_token: false,
            binds_token: None,
            structured: true,
        }
    }

    fn args(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn path_parameters_are_percent_encoded_and_arrays_repeat_in_the_query() {
        let s = spec(BodyKind::None);
        let t = target(
            &s,
            &args(json!({"id": "anthropics/pdf x", "tags": ["a", "b"]})),
        );
        assert_eq!(
            t.as_deref(),
            Ok("/api/skills/anthropics%2Fpdf%20x/install?tags=a&tags=b")
        );
        assert!(target(&s, &args(json!({}))).is_err_and(|e| e.contains("`id`")));
    }

    #[test]
    fn the_other_arguments_are_the_json_body() {
        let s = spec(BodyKind::JsonFields);
        let (ct, bytes) = body(&s, &args(json!({"id": "x", "score": 9})))
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(ct, "application/json");
        assert_eq!(
            serde_json::from_slice::<Value>(&bytes).ok(),
            Some(json!({"score": 9}))
        );
    }

    #[test]
    fn binary_fields_are_decoded_into_the_form() {
        let s = spec(BodyKind::Multipart {
            binary: vec!["file".into()],
        });
        let (ct, bytes) = body(&s, &args(json!({"file": "aGk=", "note": "n"})))
            .ok()
            .flatten()
            .unwrap_or_default();
        assert!(ct.starts_with("multipart/form-data; boundary="));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text
            .contains("filename=\"file\"\r\nContent-Type: application/octet-stream\r\n\r\nhi\r\n"));
        assert!(text.contains("name=\"note\"\r\n\r\nn\r\n"));
        assert!(body(&s, &args(json!({"file": "not base64!"}))).is_err());
    }

    #[test]
    fn a_failed_call_reads_the_envelope() {
        let a = Answer {
            status: StatusCode::BAD_REQUEST,
            json: Some(
                json!({"status": 400, "message": "Bad score.", "data": {"score": {"code": "x"}}}),
            ),
            text: String::new(),
        };
        let r = result(&spec(BodyKind::None), &a);
        assert_eq!(r.is_error, Some(true));
        let text = serde_json::to_value(&r.content).unwrap_or_default()[0]["text"].clone();
        assert_eq!(
            text,
            json!("Bad score. (HTTP 400)\n{\"score\":{\"code\":\"x\"}}")
        );
    }
}
