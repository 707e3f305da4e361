//! The tool list, read from the OpenAPI document: one tool per chosen operation, its
//! parameters and body as the input schema and its JSON answer as the output schema.

use super::schema;
use super::McpOptions;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Tags of the framework's own operations, offered as tools when the operator sets
/// `mcp.coreTools` (realtime streams and file downloads are not calls a tool can make).
pub(crate) const CORE_TAGS: &[&str] = &[
    "Health",
    "Collections",
    "Records",
    "Auth",
    "Settings",
    "Files",
    "Logs",
];

/// The framework's own sign-in operations: their `token` is kept for the session too.
const CORE_SIGN_INS: &[&str] = &[
    "authWithPassword",
    "authWithOtp",
    "authWithOAuth2",
    "authRefresh",
];

/// Where an operation parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamIn {
    Path,
    Query,
}

#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub name: String,
    pub place: ParamIn,
}

/// How a tool's arguments become the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyKind {
    None,
    /// The arguments other than parameters are the JSON body's fields.
    JsonFields,
    /// The JSON body is the `body` argument (it is not an object, or its fields clash
    /// with the parameters' names).
    JsonArgument,
    /// A multipart form: its binary fields arrive base64-encoded.
    Multipart {
        binary: Vec<String>,
    },
}

/// The argument that carries a non-object body.
pub(crate) const BODY_ARGUMENT: &str = "body";

/// One tool and the operation it calls.
#[derive(Debug, Clone)]
pub(crate) struct ToolSpec {
    pub tool: Tool,
    pub method: poem::http::Method,
    /// The path template (`/api/skills/{id}`).
    pub path: String,
    pub params: Vec<Param>,
    pub body: BodyKind,
    /// The operation names a security scheme and none of its alternatives is "none".
    pub needs_token: bool,
    /// The field of the answer that holds a token to keep for the session.
    pub binds_token: Option<String>,
    /// Whether the answer is structured (an object, as the output schema says).
    pub structured: bool,
}

/// Every tool `options` (and, with `core`, the framework's routes) makes of `doc`, in the
/// document's order.
pub(crate) fn tools(doc: &Value, options: &McpOptions, core: bool) -> Vec<ToolSpec> {
    let mut out = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, ops) in paths {
        let Some(ops) = ops.as_object() else { continue };
        for (method, op) in ops {
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            let tagged = |tags: &[&str]| {
                op["tags"].as_array().is_some_and(|t| {
                    t.iter()
                        .any(|t| t.as_str().is_some_and(|t| tags.contains(&t)))
                })
            };
            let app_tool = tagged(&options.tags) && !options.excluded.contains(&id);
            let core_tool = core && tagged(CORE_TAGS);
            let offered = core_tool || app_tool && !needs_superuser(op);
            if !offered {
                continue;
            }
            if let Some(spec) = tool(doc, path, method, op, id, options) {
                out.push(spec);
            }
        }
    }
    out
}

fn tool(
    doc: &Value,
    path: &str,
    method: &str,
    op: &Value,
    id: &str,
    options: &McpOptions,
) -> Option<ToolSpec> {
    let method = poem::http::Method::from_bytes(method.to_uppercase().as_bytes()).ok()?;
    let answer = success_content(op)?;
    let name = options
        .renamed
        .iter()
        .find(|(op_id, _)| *op_id == id)
        .map_or(id, |(_, name)| name);

    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut params = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let place = match p["in"].as_str() {
            Some("path") => ParamIn::Path,
            Some("query") => ParamIn::Query,
            _ => continue,
        };
        let Some(pname) = p["name"].as_str() else {
            continue;
        };
        let mut s = schema::convert(doc, &p["schema"]);
        if let (Some(d), Value::Object(s)) = (p["description"].as_str(), &mut s) {
            s.insert("description".into(), d.into());
        }
        properties.insert(pname.to_string(), s);
        if p["required"].as_bool() == Some(true) || place == ParamIn::Path {
            required.push(Value::from(pname));
        }
        params.push(Param {
            name: pname.to_string(),
            place,
        });
    }
    let body = body(doc, op, &mut properties, &mut required);

    let needs_token = op["security"].as_array().is_some_and(|reqs| {
        !reqs.is_empty()
            && reqs
                .iter()
                .all(|r| r.as_object().is_some_and(|r| !r.is_empty()))
    });
    let binds_token = options
        .sign_ins
        .iter()
        .find(|(op_id, _)| *op_id == id)
        .map(|(_, field)| field.to_string())
        .or_else(|| CORE_SIGN_INS.contains(&id).then(|| "token".to_string()));

    let mut input = Map::new();
    input.insert("type".into(), "object".into());
    input.insert("properties".into(), properties.into());
    if !required.is_empty() {
        input.insert("required".into(), required.into());
    }
    let output = answer.as_ref().map(|s| schema::convert(doc, s));
    let structured = output.as_ref().is_some_and(|s| s["type"] == "object");

    let tool = Tool::new(
        name.to_string(),
        description(op, id, needs_token, binds_token.is_some(), options),
        input,
    );
    let mut tool = tool.with_annotations(annotations(&method, op));
    if let (true, Some(Value::Object(output))) = (structured, output) {
        tool = tool.with_raw_output_schema(Arc::new(output));
    }
    Some(ToolSpec {
        tool,
        method,
        path: path.to_string(),
        params,
        body,
        needs_token,
        binds_token,
        structured,
    })
}

/// The input properties of the request body, and how to send it.
fn body(
    doc: &Value,
    op: &Value,
    properties: &mut JsonObject,
    required: &mut Vec<Value>,
) -> BodyKind {
    let Some(content) = op["requestBody"]["content"].as_object() else {
        return BodyKind::None;
    };
    let body_required = op["requestBody"]["required"].as_bool() == Some(true);
    if let Some((_, media)) = content
        .iter()
        .find(|(t, _)| t.starts_with("application/json"))
    {
        let s = schema::convert(doc, &media["schema"]);
        let fields = s["properties"].as_object();
        let clashes = fields.is_some_and(|f| f.keys().any(|k| properties.contains_key(k)));
        if let (Some(fields), "object", false) = (fields, s["type"].as_str().unwrap_or(""), clashes)
        {
            properties.extend(fields.clone());
            required.extend(s["required"].as_array().cloned().unwrap_or_default());
            return BodyKind::JsonFields;
        }
        properties.insert(BODY_ARGUMENT.into(), s);
        if body_required {
            required.push(BODY_ARGUMENT.into());
        }
        return BodyKind::JsonArgument;
    }
    let Some(form) = content.get("multipart/form-data") else {
        return BodyKind::None;
    };
    let mut binary = Vec::new();
    let form = &form["schema"];
    for (name, field) in form["properties"].as_object().into_iter().flatten() {
        let field = match field {
            f if f["format"] == "binary" => {
                binary.push(name.clone());
                let about = f["description"].as_str().unwrap_or("A file.");
                json!({
                    "type": "string",
                    "contentEncoding": "base64",
                    "description": format!("{about} Its bytes, base64-encoded."),
                })
            }
            // Several files in one field: not something a tool argument carries.
            f if f["items"]["format"] == "binary" => continue,
            f => schema::convert(doc, f),
        };
        properties.insert(name.clone(), field);
    }
    for r in form["required"].as_array().into_iter().flatten() {
        if r.as_str().is_some_and(|r| properties.contains_key(r)) {
            required.push(r.clone());
        }
    }
    BodyKind::Multipart { binary }
}

/// The schema of the operation's JSON answer (`None` for an answer with no body or
/// text); `None` overall when the operation answers something a tool cannot return: a
/// stream, a file, or nothing documented.
fn success_content(op: &Value) -> Option<Option<Value>> {
    let responses = op["responses"].as_object()?;
    let (_, ok) = responses.iter().find(|(code, _)| code.starts_with('2'))?;
    let Some(content) = ok["content"].as_object() else {
        return Some(None);
    };
    if let Some((_, media)) = content
        .iter()
        .find(|(t, _)| t.starts_with("application/json"))
    {
        return Some(Some(media["schema"].clone()));
    }
    content
        .keys()
        .any(|t| t.starts_with("text/") && t != "text/event-stream")
        .then_some(None)
}

/// Whether only a superuser may call the operation: those are tools only when the
/// operator offers the framework's routes.
fn needs_superuser(op: &Value) -> bool {
    op["security"].as_array().is_some_and(|reqs| {
        reqs.iter().any(|r| {
            r.as_object()
                .is_some_and(|r| r.contains_key("SuperuserToken"))
        })
    })
}

fn description(
    op: &Value,
    id: &str,
    needs_token: bool,
    binds: bool,
    options: &McpOptions,
) -> String {
    let mut text = [&op["summary"], &op["description"]]
        .iter()
        .filter_map(|v| v.as_str())
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(" ");
    if needs_token {
        text.push_str("\n\n");
        text.push_str(&options.needs_token_note);
    }
    if binds {
        text.push_str(
            "\n\nOn success the token is kept for this MCP session: later tool calls send it (a client without a session sends it as `Authorization: Bearer <token>` instead).",
        );
    }
    for note in (options.notes)(id) {
        text.push_str("\n- ");
        text.push_str(note);
    }
    text
}

fn annotations(method: &poem::http::Method, op: &Value) -> ToolAnnotations {
    use poem::http::Method;
    let mut a = ToolAnnotations::new()
        .read_only(*method == Method::GET)
        .destructive(*method == Method::DELETE)
        .idempotent(matches!(
            *method,
            Method::GET | Method::PUT | Method::DELETE
        ));
    if let Some(summary) = op["summary"].as_str() {
        let first = summary
            .split(['.', '(', ':', '\n'])
            .next()
            .unwrap_or(summary)
            .trim();
        a.title = Some(first.to_string());
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({"paths": {
            "/api/things/{id}": {
                "put": {
                    "operationId": "put-thing", "tags": ["Things"], "summary": "Replace a thing.",
                    "security": [{"Token": []}],
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                                   {"name": "dry", "in": "query", "schema": {"type": "boolean"}}],
                    "requestBody": {"required": true, "content": {"application/json; charset=utf-8": {"schema":
                        {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}}}},
                    "responses": {"200": {"content": {"application/json; charset=utf-8": {"schema":
                        {"type": "object", "properties": {"id": {"type": "string"}}}}}}}
                },
                "delete": {
                    "operationId": "delete-thing", "tags": ["Things"], "summary": "Delete it.",
                    "security": [{"SuperuserToken": []}],
                    "responses": {"204": {}}
                }
            },
            "/api/things/{id}/stream": {"get": {
                "operationId": "stream", "tags": ["Things"],
                "responses": {"200": {"content": {"text/event-stream": {}}}}
            }},
            "/api/upload": {"post": {
                "operationId": "upload", "tags": ["Things"],
                "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}, "note": {"type": "string"}}}}}},
                "responses": {"201": {"content": {"application/json": {"schema": {"type": "array"}}}}}
            }},
            "/api/other": {"get": {"operationId": "other", "tags": ["Else"], "responses": {"200": {}}}}
        }})
    }

    fn options() -> McpOptions {
        McpOptions::new("test").tags(&["Things"])
    }

    #[test]
    fn operations_of_the_tags_become_tools_with_their_inputs() {
        let tools = tools(&doc(), &options(), false);
        let names: Vec<&str> = tools.iter().map(|t| t.tool.name.as_ref()).collect();
        // Superuser-only and streaming operations are left out; other tags too.
        assert_eq!(names, ["put-thing", "upload"]);
        let put = &tools[0];
        assert_eq!(put.body, BodyKind::JsonFields);
        assert!(put.needs_token && put.structured);
        let input = &put.tool.input_schema;
        assert_eq!(input["required"], json!(["id", "title"]));
        assert_eq!(input["properties"]["dry"], json!({"type": "boolean"}));
        assert!(put.tool.output_schema.is_some());
        assert_eq!(
            put.tool
                .annotations
                .as_ref()
                .and_then(|a| a.idempotent_hint),
            Some(true)
        );

        let upload = &tools[1];
        assert_eq!(
            upload.body,
            BodyKind::Multipart {
                binary: vec!["file".into()]
            }
        );
        assert_eq!(
            upload.tool.input_schema["properties"]["file"]["contentEncoding"],
            "base64"
        );
        // An array answer has no output schema (MCP's structured content is an object).
        assert!(!upload.structured && upload.tool.output_schema.is_none());
    }

    #[test]
    fn the_operator_setting_adds_the_framework_routes() {
        let doc = json!({"paths": {"/api/collections": {"get": {
            "operationId": "listCollections", "tags": ["Collections"], "security": [{"SuperuserToken": []}],
            "responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}
        }}}});
        assert!(tools(&doc, &options(), false).is_empty());
        assert_eq!(tools(&doc, &options(), true).len(), 1);
    }

    #[test]
    fn a_body_whose_fields_clash_with_parameters_is_one_argument() {
        let mut doc = doc();
        doc["paths"]["/api/things/{id}"]["put"]["requestBody"]["content"]
            ["application/json; charset=utf-8"]["schema"]["properties"]["id"] =
            json!({"type": "string"});
        let put = &tools(&doc, &options(), false)[0];
        assert_eq!(put.body, BodyKind::JsonArgument);
        assert_eq!(put.tool.input_schema["required"], json!(["id", "body"]));
    }
}
