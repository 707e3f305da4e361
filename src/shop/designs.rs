//! Design uploads: an agent's print files, typed and measured from their bytes (PNG,
//! JPEG or WebP; SVG is refused), within the size the settings allow, one `designs`
//! record each, owned by its buyer (an agent or a human). Orders name a design by id.

use super::buyer::Buyer;
use framework::files::FormFile;
use framework::records::{Record, RecordFields};
use framework::{App, Error, Result};
use serde_json::json;
use std::io::Cursor;

pub(crate) const DESIGNS: &str = "designs";
/// The longest file name kept (the original name of the upload).
pub const MAX_NAME: usize = 500;

/// The raster formats Gelato prints from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesignType {
    Png,
    Jpeg,
    Webp,
}

impl DesignType {
    pub fn mime(self) -> &'static str {
        match self {
            DesignType::Png => "image/png",
            DesignType::Jpeg => "image/jpeg",
            DesignType::Webp => "image/webp",
        }
    }

    fn format(self) -> image::ImageFormat {
        match self {
            DesignType::Png => image::ImageFormat::Png,
            DesignType::Jpeg => image::ImageFormat::Jpeg,
            DesignType::Webp => image::ImageFormat::WebP,
        }
    }
}

/// A checked design: its type and size in pixels, read from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub kind: DesignType,
    pub width: u32,
    pub height: u32,
}

const ACCEPTED: &str = "a PNG, JPEG or WebP image";

/// What `data` is, from its bytes (the file name and the declared type are not trusted):
/// a raster image whose header decodes, or a 400 that says what is accepted.
pub fn check(data: &[u8]) -> Result<Checked> {
    let head: String = String::from_utf8_lossy(&data[..data.len().min(512)]).to_lowercase();
    if head.contains("<svg") || head.contains("<?xml") {
        return Err(Error::BadRequest(format!(
            "SVG designs are refused: an SVG can carry scripts and Gelato prints raster images. Export it as {ACCEPTED}."
        )));
    }
    let kind = match image::guess_format(data) {
        Ok(image::ImageFormat::Png) => DesignType::Png,
        Ok(image::ImageFormat::Jpeg) => DesignType::Jpeg,
        Ok(image::ImageFormat::WebP) => DesignType::Webp,
        _ => {
            return Err(Error::BadRequest(format!(
                "The file is not {ACCEPTED} (its type is read from its bytes)."
            )))
        }
    };
    let mut reader = image::ImageReader::new(Cursor::new(data));
    reader.set_format(kind.format());
    let (width, height) = reader.into_dimensions().map_err(|_| {
        Error::BadRequest(format!(
            "The file starts like {} but does not decode as one.",
            kind.mime()
        ))
    })?;
    Ok(Checked {
        kind,
        width,
        height,
    })
}

/// Stores `data` (sent as `file_name`) as a design of `buyer`: a 413 past the size the
/// settings allow, a 400 for anything but a PNG, JPEG or WebP image.
pub async fn upload(
    app: &App,
    buyer: &Buyer,
    file_name: &str,
    data: bytes::Bytes,
) -> Result<Record> {
    let max = crate::state(app)?
        .settings
        .get(app)
        .await
        .shop
        .design_max_bytes;
    if data.len() as u64 > max {
        return Err(Error::PayloadTooLarge(format!(
            "The design is {} bytes; at most {max} bytes.",
            data.len()
        )));
    }
    if data.is_empty() {
        return Err(Error::BadRequest("The file is empty.".into()));
    }
    let checked = check(&data)?;
    let name: String = file_name.chars().take(MAX_NAME).collect();
    let upload = FormFile::new(
        "file",
        if name.is_empty() { "design" } else { &name },
        data.clone(),
    );
    let body = json!({
        buyer.owner_field(): buyer.id(),
        "original_name": name,
        "mime_type": checked.kind.mime(),
        "size_bytes": data.len(),
        "width": checked.width,
        "height": checked.height,
    });
    let mut written = app
        .run_in_transaction(|tx| {
            tx.create_with_files(DESIGNS, body, vec![upload]);
            Ok(())
        })
        .await
        .map_err(|e| match e {
            Error::Batch { error, .. } => *error,
            e => e,
        })?;
    written
        .pop()
        .flatten()
        .ok_or_else(|| Error::internal("the design's write returned no record"))
}

/// The buyer's designs, newest first, and how many there are.
pub async fn list(app: &App, buyer: &Buyer, limit: u64, offset: u64) -> Result<(Vec<Record>, i64)> {
    super::owned::list_own(app, DESIGNS, buyer, limit, offset).await
}

/// The design `id` if `buyer` owns it; a 404 otherwise (whether it exists or not).
pub async fn owned(app: &App, buyer: &Buyer, id: &str) -> Result<Record> {
    super::owned::find_own(app, DESIGNS, buyer, id, "design", "GET /api/designs").await
}

/// Where the design's file is served: the path, and the absolute URL on the app URL
/// setting (what Gelato fetches).
pub fn urls(app: &App, design: &Record) -> (String, String) {
    let path = format!(
        "/api/files/{DESIGNS}/{}/{}",
        design.id(),
        design.get_str("file")
    );
    let base = app
        .settings()
        .meta
        .app_url
        .trim_end_matches('/')
        .to_string();
    let absolute = format!("{base}{path}");
    (path, absolute)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: image::ImageFormat) -> Vec<u8> {
        let img = image::DynamicImage::new_rgb8(3, 2);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    #[test]
    fn types_and_sizes_come_from_the_bytes() {
        let png = check(&encoded(image::ImageFormat::Png)).expect("png");
        assert_eq!((png.kind, png.width, png.height), (DesignType::Png, 3, 2));
        let jpeg = check(&encoded(image::ImageFormat::Jpeg)).expect("jpeg");
        assert_eq!(jpeg.kind, DesignType::Jpeg);
        let webp = check(&encoded(image::ImageFormat::WebP)).expect("webp");
        assert_eq!(webp.kind, DesignType::Webp);
        let gif = encoded(image::ImageFormat::Gif);
        assert!(check(&gif).is_err(), "GIF is not a print format here");
        assert!(check(b"<?xml version=\"1.0\"?><svg onload=\"alert(1)\"/>").is_err());
        assert!(check(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>").is_err());
        // A PNG signature on garbage does not pass.
        assert!(check(b"\x89PNG\r\n\x1a\nnot really").is_err());
        assert!(check(b"").is_err());
    }
}
