//! Files of records: where they are kept (a storage trait: a local directory by
//! default, or an S3-compatible bucket), how uploads are named and checked, and
//! thumbnails of images.
//!
//! Keys are `<collectionId>/<recordId>/<name>`; thumbnails live beside the file in
//! `<collectionId>/<recordId>/thumbs_<name>/<thumb>_<name>`, as in PocketBase.

mod local;
mod names;
mod s3;
pub(crate) mod thumbs;

pub(crate) use local::LocalStorage;
pub(crate) use names::stored_name;
pub(crate) use s3::S3Storage;

use crate::error::{Error, Result};
use bytes::Bytes;
use std::time::SystemTime;

/// Bytes kept under keys. Implementations must be safe to share between requests.
#[async_trait::async_trait]
pub trait FileStorage: Send + Sync {
    /// Stores `data` under `key`, replacing what was there.
    async fn put(&self, key: &str, data: Bytes) -> Result<()>;
    /// The file under `key`, or `None` when there is none.
    async fn get(&self, key: &str) -> Result<Option<StoredFile>>;
    /// Removes `key`; a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
    /// Removes every key under `prefix/`; a missing prefix is not an error.
    async fn delete_prefix(&self, prefix: &str) -> Result<()>;
}

pub struct StoredFile {
    pub data: Bytes,
    pub modified: Option<SystemTime>,
}

/// One uploaded file, named for storage and sniffed for its type.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    /// The name it is stored under (and that the record's field holds).
    pub name: String,
    /// The name the client gave it.
    pub original: String,
    pub data: Bytes,
    /// The content type read from the bytes (never from the client).
    pub mime: String,
}

impl Upload {
    pub fn new(original: &str, data: Bytes) -> Upload {
        let mime = sniff(&data);
        Upload {
            name: stored_name(original, &mime),
            original: original.to_string(),
            data,
            mime,
        }
    }
}

/// A file sent in a form under `key` (`field`, `field+` or `+field`).
#[derive(Debug, Clone)]
pub struct FormFile {
    pub key: String,
    pub(crate) upload: Upload,
}

impl FormFile {
    /// A file for the record field `key` (`field`, `field+` to append, `+field` to
    /// prepend), named `original` by its sender; its type is read from the bytes.
    pub fn new(key: &str, original: &str, data: Bytes) -> FormFile {
        FormFile {
            key: key.to_string(),
            upload: Upload::new(original, data),
        }
    }

    /// The content type read from the file's bytes.
    pub fn mime(&self) -> &str {
        &self.upload.mime
    }
}

/// The content type of `data`, from its first bytes: a known signature, else text when
/// it is UTF-8, else `application/octet-stream`.
pub(crate) fn sniff(data: &[u8]) -> String {
    if let Some(kind) = infer::get(data) {
        return kind.mime_type().to_string();
    }
    let head = &data[..data.len().min(1024)];
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the sample is still text.
        Err(e) => e.error_len().is_none(),
    };
    if !text {
        return "application/octet-stream".into();
    }
    let start = String::from_utf8_lossy(head)
        .trim_start()
        .to_ascii_lowercase();
    if start.starts_with("<svg") || (start.starts_with("<?xml") && start.contains("<svg")) {
        "image/svg+xml".into()
    } else if start.starts_with("<!doctype html") || start.starts_with("<html") {
        "text/html; charset=utf-8".into()
    } else {
        "text/plain; charset=utf-8".into()
    }
}

/// Stores, reads back and removes a small file with `storage`, to check its settings.
pub(crate) async fn check_storage(storage: &dyn FileStorage) -> Result<()> {
    let key = format!(
        "_storage_check/{}.txt",
        crate::collections::ids::random_token(12)
    );
    let probe = Bytes::from_static(b"storage check");
    let result = async {
        storage.put(&key, probe.clone()).await?;
        match storage.get(&key).await? {
            Some(f) if f.data == probe => Ok(()),
            _ => Err(Error::internal("the file read back differs")),
        }
    }
    .await;
    let _ = storage.delete(&key).await;
    result.map_err(|e| Error::BadRequest(format!("The storage check failed: {e}")))
}

pub(crate) fn record_dir(collection_id: &str, record_id: &str) -> String {
    format!("{collection_id}/{record_id}")
}

pub(crate) fn file_key(collection_id: &str, record_id: &str, name: &str) -> String {
    format!("{collection_id}/{record_id}/{name}")
}

/// Where the thumbnails of one file are kept.
pub(crate) fn thumbs_dir(collection_id: &str, record_id: &str, name: &str) -> String {
    format!("{collection_id}/{record_id}/thumbs_{name}")
}

pub(crate) fn thumb_key(collection_id: &str, record_id: &str, name: &str, thumb: &str) -> String {
    format!(
        "{}/{thumb}_{name}",
        thumbs_dir(collection_id, record_id, name)
    )
}

/// Refuses keys that could leave the storage root: empty, `.`/`..` or hidden
/// segments, backslashes, absolute paths.
pub(crate) fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.contains('\\')
        || key.contains('\0')
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || s.starts_with('.'));
    if bad {
        return Err(Error::BadRequest(format!("Invalid file key {key:?}.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), "image/jpeg");
        assert_eq!(sniff(b"GIF89a"), "image/gif");
        assert_eq!(sniff(b"%PDF-1.7"), "application/pdf");
        assert_eq!(sniff(b"hello"), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"  <svg xmlns='x'/>"), "image/svg+xml");
        assert_eq!(sniff(b"\0\x01\x02\xfe\xff"), "application/octet-stream");
        assert_eq!(
            sniff("é".repeat(600).as_bytes()),
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn keys_stay_inside_the_root() {
        assert!(check_key("pbc_1/abc/file_x.png").is_ok());
        for bad in [
            "",
            "../x",
            "a/../b",
            "/abs",
            "a//b",
            "a\\b",
            "a/.hidden",
            "a/./b",
        ] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
