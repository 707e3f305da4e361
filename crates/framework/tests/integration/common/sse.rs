//! A realtime client for tests: reads `/api/realtime` over HTTP as an EventSource would
//! and hands over each frame.

use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct Frame {
    pub id: String,
    pub event: String,
    pub data: Value,
}

pub struct SseClient {
    pub id: String,
    frames: mpsc::UnboundedReceiver<Frame>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for SseClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl SseClient {
    /// Opens the stream and waits for `PB_CONNECT`.
    pub async fn connect(base: &str) -> SseClient {
        let resp = reqwest::get(format!("{base}/api/realtime"))
            .await
            .expect("open stream");
        assert_eq!(resp.status(), reqwest::StatusCode::OK);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        let (tx, frames) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut body = resp.bytes_stream();
            let mut buf = String::new();
            let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
            while let Some(Ok(chunk)) = body.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(pos) = buf.find('\n') {
                    let line: String = buf.drain(..=pos).collect();
                    let line = line.trim_end_matches(['\r', '\n']);
                    if line.is_empty() {
                        if !data.is_empty() || !event.is_empty() {
                            let frame = Frame {
                                id: id.clone(),
                                event: std::mem::take(&mut event),
                                data: serde_json::from_str(&data)
                                    .unwrap_or(Value::String(data.clone())),
                            };
                            data.clear();
                            if tx.send(frame).is_err() {
                                return;
                            }
                        }
                        continue;
                    }
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => id = value.to_string(),
                        "event" => event = value.to_string(),
                        "data" => {
                            if !data.is_empty() {
                                data.push('\n');
                            }
                            data.push_str(value)
                        }
                        _ => {}
                    }
                }
            }
        });
        let mut c = SseClient {
            id: String::new(),
            frames,
            reader,
        };
        let hello = c.next().await.expect("PB_CONNECT");
        assert_eq!(hello.event, "PB_CONNECT");
        let id = hello.data["clientId"]
            .as_str()
            .expect("clientId")
            .to_string();
        assert_eq!(hello.id, id, "the frame id is the client id");
        c.id = id;
        c
    }

    /// The next frame, waiting up to 5 s.
    pub async fn next(&mut self) -> Option<Frame> {
        tokio::time::timeout(Duration::from_secs(5), self.frames.recv())
            .await
            .ok()
            .flatten()
    }

    /// Asserts that nothing arrives for a moment.
    pub async fn quiet(&mut self) {
        let got = tokio::time::timeout(Duration::from_millis(400), self.frames.recv()).await;
        if let Ok(Some(f)) = got {
            panic!("unexpected frame: {f:?}");
        }
    }
}
