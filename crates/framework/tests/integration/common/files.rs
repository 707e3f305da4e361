//! Uploads in tests: images made on the spot, file parts, multipart requests.

use super::Server;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::DynamicImage::new_rgb8(w, h);
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A PNG of noise, which does not compress: about 3 × w × h bytes.
pub fn noisy_png(w: u32, h: u32) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [a, b, c, _] = seed.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

pub fn part(name: &str, data: Vec<u8>) -> Part {
    Part::bytes(data).file_name(name.to_string())
}

/// Sends a multipart form; returns the status and the JSON body.
pub async fn send_form(
    s: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    form: Form,
) -> (StatusCode, Value) {
    let mut req = s
        .http
        .request(method, format!("{}{path}", s.base))
        .multipart(form);
    if let Some(t) = token {
        req = req.header("Authorization", t);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}
