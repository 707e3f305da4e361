//! Files in record writes: uploads named into the body (so `field+`, `+field` and
//! `field-` work on them as on names), checked against their field, and the stored files
//! a write leaves behind.

use crate::collections::model::Collection;
use crate::error::{Error, Result};
use crate::fields::{as_string_list_pub, FieldError, FieldKind};
use crate::files::{FormFile, Upload};
use crate::records::read::Record;
use serde_json::{json, Map, Value};

/// Largest upload of a file field whose `maxSize` is 0 (PocketBase's default).
pub const DEFAULT_MAX_SIZE: u64 = 5 << 20;

/// Adds the stored names of `files` to `body` under the keys they were sent with.
/// Files sent for anything but a file field are refused.
pub(crate) fn add_upload_names(
    c: &Collection,
    body: &mut Map<String, Value>,
    files: &[FormFile],
    action: &str,
) -> Result<()> {
    let mut errors = Vec::new();
    for f in files {
        let field = f.key.trim_start_matches('+').trim_end_matches(['+', '-']);
        let is_file = c
            .field(field)
            .is_some_and(|x| matches!(x.kind, FieldKind::File(_)));
        if !is_file || f.key.ends_with('-') {
            errors.push((
                f.key.clone(),
                FieldError::new(
                    "validation_invalid_file",
                    "Files can only be uploaded to file fields (as `field`, `field+` or `+field`).",
                ),
            ));
            continue;
        }
        let name = Value::String(f.upload.name.clone());
        match body.get_mut(&f.key) {
            Some(Value::Array(items)) => items.push(name),
            Some(Value::String(s)) if !s.is_empty() => {
                let first = Value::String(std::mem::take(s));
                body.insert(f.key.clone(), Value::Array(vec![first, name]));
            }
            _ => {
                body.insert(f.key.clone(), Value::Array(vec![name]));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(format!("Failed to {action} record."), errors))
    }
}

/// What a write does with files once its values are known: the uploads those values
/// keep (each checked against its field) and the names of stored files they drop.
#[derive(Default)]
pub(crate) struct FileChanges {
    pub uploads: Vec<Upload>,
    pub removed: Vec<String>,
}

pub(crate) fn settle(
    c: &Collection,
    values: &Record,
    existing: Option<&Record>,
    files: Vec<FormFile>,
    action: &str,
) -> Result<FileChanges> {
    let mut errors = Vec::new();
    let mut changes = FileChanges {
        uploads: Vec::new(),
        removed: Vec::new(),
    };
    for f in &c.fields {
        let FieldKind::File(opts) = &f.kind else {
            continue;
        };
        let Some(new) = values.get(&f.name) else {
            continue;
        };
        let kept = as_string_list_pub(new);
        if let Some(old) = existing.and_then(|e| e.get(&f.name)) {
            let mut gone: Vec<String> = as_string_list_pub(old)
                .into_iter()
                .filter(|n| !kept.contains(n))
                .collect();
            gone.sort();
            changes.removed.extend(gone);
        }
        for file in files.iter().filter(|x| kept.contains(&x.upload.name)) {
            match check_upload(opts, &file.upload) {
                Ok(()) => changes.uploads.push(file.upload.clone()),
                Err(e) => errors.push((f.name.clone(), e)),
            }
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(Error::fields(format!("Failed to {action} record."), errors))
    }
}

fn check_upload(opts: &crate::fields::FileField, u: &Upload) -> Result<(), FieldError> {
    let max = if opts.max_size == 0 {
        DEFAULT_MAX_SIZE
    } else {
        opts.max_size
    };
    if u.data.len() as u64 > max {
        return Err(FieldError::new(
            "validation_file_size_limit",
            format!(
                "Failed to upload \"{}\" - the maximum allowed file size is {max} bytes.",
                u.original
            ),
        )
        .with_params(json!({"maxSize": max})));
    }
    let mime = u.mime.split(';').next().unwrap_or_default().trim();
    if !opts.mime_types.is_empty() && !opts.mime_types.iter().any(|m| m == mime) {
        return Err(FieldError::new(
            "validation_invalid_mime_type",
            format!(
                "\"{}\" mime type must be one of: {}.",
                u.original,
                opts.mime_types.join(", ")
            ),
        )
        .with_params(json!({"mimeTypes": opts.mime_types})));
    }
    Ok(())
}

/// A stored file as a download serves it.
pub struct ServedFile {
    /// The file's own name (a thumbnail is served under its file's name).
    pub name: String,
    pub data: bytes::Bytes,
    /// Read from the bytes.
    pub mime: String,
    pub modified: Option<std::time::SystemTime>,
}

/// The file `name` of record `id`, or one of its thumbnails (`thumb`: `100x100` or a
/// size in the field's `thumbs`; anything else, or a file that is not an image, serves
/// the original). A protected file is served only with a file `token` whose record passes
/// the collection's view rule, or when that rule lets guests see the record. Whatever is
/// missing or not allowed is a 404.
pub async fn serve_file(
    app: &crate::app::App,
    c: &std::sync::Arc<Collection>,
    id: &str,
    name: &str,
    thumb: Option<&str>,
    token: Option<&str>,
) -> Result<ServedFile> {
    use crate::files::{file_key, thumb_key, thumbs, StoredFile};
    if c.is_view() {
        return Err(Error::not_found());
    }
    let record =
        crate::records::read::find_visible(app, c, id, &Some(String::new()), &Default::default())
            .await?
            .ok_or_else(Error::not_found)?;
    let field = c
        .fields
        .iter()
        .find(|f| {
            matches!(f.kind, FieldKind::File(_))
                && record
                    .get(&f.name)
                    .is_some_and(|v| as_string_list_pub(v).contains(name))
        })
        .ok_or_else(Error::not_found)?;
    let FieldKind::File(opts) = &field.kind else {
        return Err(Error::not_found());
    };
    if opts.protected {
        let auth = match token.filter(|t| !t.is_empty()) {
            Some(t) => Some(
                crate::auth::tokens::verify_token(app, t, crate::auth::tokens::TokenType::File)
                    .await
                    .ok_or_else(Error::not_found)?
                    .0,
            ),
            None => None,
        };
        let req = crate::filter::RequestInfo {
            auth,
            method: "GET".into(),
            context: "protectedFile".into(),
            ..Default::default()
        };
        let allowed = match crate::records::read::find_visible(app, c, id, &c.view_rule, &req).await
        {
            Ok(found) => found.is_some(),
            Err(Error::Forbidden(_)) => false,
            Err(e) => return Err(e),
        };
        if !allowed {
            return Err(Error::not_found());
        }
    }
    let storage = app.files();
    let key = file_key(&c.id, id, name);
    let StoredFile { data, modified } = storage.get(&key).await?.ok_or_else(Error::not_found)?;
    let mime = crate::files::sniff(&data);
    let original = ServedFile {
        name: name.to_string(),
        data,
        mime,
        modified,
    };
    let Some(size) = thumb.filter(|t| *t == thumbs::DEFAULT || opts.thumbs.iter().any(|x| x == t))
    else {
        return Ok(original);
    };
    let Some(spec) = thumbs::Thumb::parse(size).filter(|_| thumbs::supports(&original.mime)) else {
        return Ok(original);
    };
    let tkey = thumb_key(&c.id, id, name, size);
    if let Some(t) = storage.get(&tkey).await? {
        return Ok(ServedFile {
            mime: crate::files::sniff(&t.data),
            data: t.data,
            modified: t.modified,
            name: original.name,
        });
    }
    let source = original.data.clone();
    let made = tokio::task::spawn_blocking(move || thumbs::make(&source, spec))
        .await
        .map_err(|e| Error::internal_from("thumbnail task", e))?;
    match made {
        Ok(bytes) => {
            let bytes = bytes::Bytes::from(bytes);
            if let Err(e) = storage.put(&tkey, bytes.clone()).await {
                tracing::warn!(key = tkey, error = %e, "cannot keep a thumbnail");
            }
            Ok(ServedFile {
                mime: crate::files::sniff(&bytes),
                data: bytes,
                modified: None,
                name: original.name,
            })
        }
        // An image that cannot be decoded is still the file that was stored.
        Err(e) => {
            tracing::debug!(key, error = %e, "no thumbnail, serving the original");
            Ok(original)
        }
    }
}
