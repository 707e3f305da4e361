//! Record bodies as PocketBase clients send them: JSON, an urlencoded form, or
//! multipart/form-data with files, where non-file values may come as one `@jsonPayload`
//! JSON object.

use crate::fields::FieldKind;
use crate::files::{FormFile, Upload};
use crate::{collections::model::Collection, error::Error};
use poem::{Request, RequestBody};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::ApiRequest;
use serde_json::{Map, Value};

/// The body of a record create or update.
#[derive(ApiRequest)]
pub enum RecordBody {
    /// Field values as a JSON object (modifiers such as `views+` included).
    Json(Json<Value>),
    /// Field values as form fields; repeated keys make a list.
    Form(FormBody),
    /// Form fields and files (for file fields: `field`, `field+` to append, `+field` to
    /// prepend), plus an optional `@jsonPayload` field holding a JSON object to merge.
    Multipart(MultipartBody),
}

impl RecordBody {
    /// The field values and the uploaded files.
    pub fn into_parts(self, c: &Collection) -> Result<(Map<String, Value>, Vec<FormFile>), Error> {
        match self {
            RecordBody::Json(j) => Ok((super::body_object(j.0)?, Vec::new())),
            RecordBody::Form(f) => Ok((read_json_fields(c, f.0), Vec::new())),
            RecordBody::Multipart(m) => Ok((read_json_fields(c, m.fields), m.files)),
        }
    }
}

/// Form values are text: a `json` field's text is parsed when it is valid JSON.
fn read_json_fields(c: &Collection, mut m: Map<String, Value>) -> Map<String, Value> {
    for f in c
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Json(_)))
    {
        if let Some(Value::String(s)) = m.get(&f.name) {
            if let Ok(v) = serde_json::from_str::<Value>(s) {
                m.insert(f.name.clone(), v);
            }
        }
    }
    m
}

fn object_schema() -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema::new("object")))
}

/// Adds `value` under `key`, turning repeated keys into a list.
fn push(map: &mut Map<String, Value>, key: String, value: Value) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

fn bad(msg: impl Into<String>) -> poem::Error {
    super::ApiError(Error::BadRequest(msg.into())).into()
}

pub struct FormBody(pub Map<String, Value>);

impl Payload for FormBody {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";
    fn check_content_type(content_type: &str) -> bool {
        content_type
            .to_ascii_lowercase()
            .starts_with(Self::CONTENT_TYPE)
    }
    fn schema_ref() -> MetaSchemaRef {
        object_schema()
    }
}

impl ParsePayload for FormBody {
    const IS_REQUIRED: bool = true;
    async fn from_request(req: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = <Vec<u8> as poem::FromRequest>::from_request(req, body).await?;
        let mut map = Map::new();
        for (k, v) in url::form_urlencoded::parse(&bytes) {
            push(&mut map, k.into_owned(), Value::String(v.into_owned()));
        }
        Ok(FormBody(map))
    }
}

pub struct MultipartBody {
    pub fields: Map<String, Value>,
    pub files: Vec<FormFile>,
}

impl Payload for MultipartBody {
    const CONTENT_TYPE: &'static str = "multipart/form-data";
    fn check_content_type(content_type: &str) -> bool {
        content_type
            .to_ascii_lowercase()
            .starts_with(Self::CONTENT_TYPE)
    }
    fn schema_ref() -> MetaSchemaRef {
        object_schema()
    }
}

impl ParsePayload for MultipartBody {
    const IS_REQUIRED: bool = true;
    async fn from_request(req: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let mut multipart =
            <poem::web::Multipart as poem::FromRequest>::from_request(req, body).await?;
        let mut map = Map::new();
        let mut files = Vec::new();
        let mut payloads = Vec::new();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| bad(format!("Invalid multipart body: {e}")))?
        {
            let name = field.name().unwrap_or_default().to_string();
            if let Some(file_name) = field.file_name().map(str::to_string) {
                let data = field
                    .bytes()
                    .await
                    .map_err(|e| bad(format!("Invalid multipart file '{name}': {e}")))?;
                files.push(FormFile {
                    key: name,
                    upload: Upload::new(&file_name, data.into()),
                });
                continue;
            }
            let text = field
                .text()
                .await
                .map_err(|e| bad(format!("Invalid multipart field '{name}': {e}")))?;
            let escaped_nul = text.to_ascii_lowercase().contains("\\u0000");
            if text.contains('\0') || name.contains('\0') || escaped_nul {
                return Err(super::nul_refused().into());
            }
            if name == "@jsonPayload" {
                payloads.push(text);
            } else {
                push(&mut map, name, Value::String(text));
            }
        }
        for p in payloads {
            match serde_json::from_str::<Value>(&p) {
                Ok(Value::Object(obj)) => map.extend(obj),
                _ => return Err(bad("@jsonPayload must be a JSON object.")),
            }
        }
        Ok(MultipartBody { fields: map, files })
    }
}
