//! Thumbnails of images, in PocketBase's sizes: `WxH` (crop to fill, centred), `WxHt`
//! and `WxHb` (crop from the top or bottom), `WxHf` (fit inside), `Wx0` and `0xH`
//! (scale to a width or height).

use crate::error::{Error, Result};
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat};
use std::io::Cursor;

/// The size every image file field offers besides its own `thumbs` list.
pub const DEFAULT: &str = "100x100";

/// Largest thumbnail side accepted.
const MAX_SIDE: u32 = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Center,
    Top,
    Bottom,
    Fit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thumb {
    pub width: u32,
    pub height: u32,
    pub mode: Mode,
}

impl Thumb {
    /// Reads `100x100`, `100x100t`, `100x100b`, `100x100f`, `100x0`, `0x100`.
    pub fn parse(s: &str) -> Option<Thumb> {
        let (w, rest) = s.split_once('x')?;
        let (h, mode) = match rest.as_bytes().last()? {
            b't' => (&rest[..rest.len() - 1], Mode::Top),
            b'b' => (&rest[..rest.len() - 1], Mode::Bottom),
            b'f' => (&rest[..rest.len() - 1], Mode::Fit),
            _ => (rest, Mode::Center),
        };
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(w) || !digits(h) {
            return None;
        }
        let (width, height) = (w.parse().ok()?, h.parse().ok()?);
        let ok = (width > 0 || height > 0)
            && width <= MAX_SIDE
            && height <= MAX_SIDE
            && (mode == Mode::Center || (width > 0 && height > 0));
        ok.then_some(Thumb {
            width,
            height,
            mode,
        })
    }
}

/// Whether thumbnails can be made of files of this content type.
pub fn supports(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// Makes the thumbnail of an image file; returns its bytes (PNG for WebP sources, else
/// the source's own format). CPU-bound: run it off the async workers.
pub fn make(data: &[u8], thumb: Thumb) -> Result<Vec<u8>> {
    let format =
        image::guess_format(data).map_err(|e| Error::BadRequest(format!("Not an image: {e}")))?;
    let mut reader = image::ImageReader::with_format(Cursor::new(data), format);
    let mut limits = image::Limits::default();
    // Decompression bombs: a small file may claim a huge canvas.
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| Error::BadRequest(format!("Cannot read the image: {e}")))?;
    let out = resize(&img, thumb);
    let target = match format {
        ImageFormat::Jpeg => ImageFormat::Jpeg,
        ImageFormat::Gif => ImageFormat::Gif,
        _ => ImageFormat::Png,
    };
    let out = match target {
        // JPEG has no alpha channel.
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(out.to_rgb8()),
        _ => out,
    };
    let mut bytes = Cursor::new(Vec::new());
    out.write_to(&mut bytes, target)
        .map_err(|e| Error::internal_from("cannot encode a thumbnail", e))?;
    Ok(bytes.into_inner())
}

fn resize(img: &DynamicImage, t: Thumb) -> DynamicImage {
    let (w, h) = (img.width().max(1), img.height().max(1));
    let filter = FilterType::Triangle;
    match (t.width, t.height, t.mode) {
        (0, th, _) => img.resize(u32::MAX, th, filter),
        (tw, 0, _) => img.resize(tw, u32::MAX, filter),
        (tw, th, Mode::Fit) => img.resize(tw, th, filter),
        (tw, th, mode) => {
            // Scale to cover the box, then cut the box out.
            let scale = (tw as f64 / w as f64).max(th as f64 / h as f64);
            let sw = ((w as f64 * scale).round() as u32).max(tw);
            let sh = ((h as f64 * scale).round() as u32).max(th);
            let scaled = img.resize_exact(sw, sh, filter);
            let x = (sw - tw) / 2;
            let y = match mode {
                Mode::Top => 0,
                Mode::Bottom => sh - th,
                _ => (sh - th) / 2,
            };
            scaled.crop_imm(x, y, tw, th)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgba8(w, h);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).expect("encode");
        out.into_inner()
    }

    fn size(data: &[u8]) -> (u32, u32) {
        let img = image::load_from_memory(data).expect("decode");
        (img.width(), img.height())
    }

    #[test]
    fn sizes_parse_as_pocketbase_writes_them() {
        let t = |w, h, mode| {
            Some(Thumb {
                width: w,
                height: h,
                mode,
            })
        };
        assert_eq!(Thumb::parse("100x100"), t(100, 100, Mode::Center));
        assert_eq!(Thumb::parse("10x20t"), t(10, 20, Mode::Top));
        assert_eq!(Thumb::parse("10x20b"), t(10, 20, Mode::Bottom));
        assert_eq!(Thumb::parse("10x20f"), t(10, 20, Mode::Fit));
        assert_eq!(Thumb::parse("0x50"), t(0, 50, Mode::Center));
        assert_eq!(Thumb::parse("50x0"), t(50, 0, Mode::Center));
        for bad in [
            "", "x", "0x0", "10x", "x10", "a0x10", "10x10q", "99999x1", "0x10f", "-1x5",
        ] {
            assert_eq!(Thumb::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn thumbnails_have_the_asked_size() {
        let src = png(400, 200);
        let make = |s: &str| size(&make(&src, Thumb::parse(s).expect("size")).expect("thumb"));
        assert_eq!(make("100x100"), (100, 100));
        assert_eq!(make("100x100t"), (100, 100));
        assert_eq!(make("50x80b"), (50, 80));
        assert_eq!(make("100x100f"), (100, 50));
        assert_eq!(make("0x50"), (100, 50));
        assert_eq!(make("200x0"), (200, 100));
        assert!(make_err(b"not an image at all"));
    }

    fn make_err(data: &[u8]) -> bool {
        make(data, Thumb::parse("10x10").expect("size")).is_err()
    }
}
