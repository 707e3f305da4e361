//! The listener: accepts connections up to a cap, serves each with hyper under header
//! and keep-alive timeouts, and sheds load with a fast 503 rather than spinning.
//!
//! (poem's own server loop retries a failing `accept` at once, so with no file
//! descriptors left it spins a core; and it has no header timeout or connection cap.)

use crate::app::HttpLimits;
use poem::endpoint::BoxEndpoint;
use poem::http;
use poem::{Endpoint, EndpointExt, IntoEndpoint};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Largest request head (request line and headers) read; past it, 431.
const MAX_HEAD_BYTES: usize = 128 << 10;

/// What poem turns a response's body into for hyper.
type ResponseBody = http_body_util::combinators::BoxBody<bytes::Bytes, std::io::Error>;

/// How long a stopping server waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (no file descriptors left, ...), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// File descriptors kept back from connections: the database, log and storage files, and
/// the one a shed connection needs to be told why.
const FD_RESERVE: u64 = 128;

/// `wanted`, or fewer when the process may not open that many files: connections past
/// the cap are answered 503 while a descriptor is still there to answer them with.
#[allow(unsafe_code)] // std has no getrlimit; libc's is the one way to read the limit.
fn connection_cap(wanted: usize) -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    let budget = if ok && lim.rlim_cur != libc::RLIM_INFINITY {
        usize::try_from(lim.rlim_cur.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX)
    } else {
        usize::MAX
    };
    wanted.clamp(1, budget.max(1))
}

/// The answer a connection past the cap gets before it is closed.
fn overloaded_response() -> Vec<u8> {
    let body = r#"{"status":503,"message":"The server is handling too many connections; try again shortly.","data":{}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `ep` on `listener` until `stop` resolves.
pub async fn serve_endpoint<E>(
    ep: E,
    listener: TcpListener,
    limits: HttpLimits,
    stop: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let ep: Arc<BoxEndpoint<'static, poem::Response>> =
        Arc::new(ep.into_endpoint().map_to_response().boxed());
    let local = listener.local_addr()?;
    let cap = connection_cap(limits.max_connections);
    let permits = Arc::new(Semaphore::new(cap));
    let (closing_tx, closing) = watch::channel(false);
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (mut socket, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    last_warning = Some(Instant::now());
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    let _ = socket.write_all(&overloaded_response()).await;
                    let _ = socket.shutdown().await;
                })
                .await;
            });
            continue;
        };
        let _ = socket.set_nodelay(true);
        let ep = ep.clone();
        let closing = closing.clone();
        tokio::spawn(async move {
            serve_connection(socket, local, peer, ep, limits, closing).await;
            drop(permit);
        });
    }
    let _ = closing_tx.send(true);
    // Connections finish what they are doing; the permits come back as they close.
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, permits.acquire_many(all)).await;
    Ok(())
}

async fn serve_connection(
    socket: tokio::net::TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
    ep: Arc<BoxEndpoint<'static, poem::Response>>,
    limits: HttpLimits,
    mut closing: watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let ep = ep.clone();
        async move {
            let req: poem::Request = (
                req,
                poem::web::LocalAddr(poem::Addr::SocketAddr(local)),
                poem::web::RemoteAddr(poem::Addr::SocketAddr(peer)),
                http::uri::Scheme::HTTP,
            )
                .into();
            let resp = ep.get_response(req).await;
            Ok::<_, std::convert::Infallible>(http::Response::<ResponseBody>::from(resp))
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .max_buf_size(MAX_HEAD_BYTES)
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let socket = EnvelopedErrors::new(socket);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(socket), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = &mut conn => return,
        _ = closing.wait_for(|c| *c) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
}

/// A connection whose bare error answers from hyper itself (a request it cannot parse:
/// URI or headers too long, malformed, unsupported version) are given the error envelope
/// every other answer has. hyper writes such an answer, with no body, before the request
/// reaches any endpoint; every answer of ours with these statuses has a body.
struct EnvelopedErrors<T> {
    inner: T,
    /// The envelope answer still to write in place of hyper's.
    pending: Vec<u8>,
    written: usize,
}

impl<T> EnvelopedErrors<T> {
    fn new(inner: T) -> Self {
        EnvelopedErrors {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// The envelope answer for one of hyper's own bare error answers, if `head` is one.
fn enveloped(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let rest = text.strip_prefix("HTTP/1.1 ")?;
    let status: u16 = rest.get(..3)?.parse().ok()?;
    let message = match status {
        400 => "The request could not be read.",
        414 => "The request URI is too long.",
        431 => "The request headers are too large.",
        505 => "The HTTP version is not supported.",
        _ => return None,
    };
    let bare = text.ends_with("\r\n\r\n")
        && text
            .to_ascii_lowercase()
            .contains("\r\ncontent-length: 0\r\n");
    if !bare {
        return None;
    }
    let reason = rest.lines().next().unwrap_or(rest);
    let body = serde_json::json!({"status": status, "message": message, "data": {}}).to_string();
    Some(
        format!(
            "HTTP/1.1 {reason}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for EnvelopedErrors<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> EnvelopedErrors<T> {
    /// Writes what is pending; ready once it is all out.
    fn poll_pending(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        while self.written < self.pending.len() {
            let chunk = &self.pending[self.written..];
            match std::pin::Pin::new(&mut self.inner).poll_write(cx, chunk) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()))
                }
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for EnvelopedErrors<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        match self.poll_pending(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if let Some(answer) = enveloped(buf) {
            self.pending = answer;
            // hyper's bytes count as written: the envelope goes out in their place.
            return match self.poll_pending(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        match self.poll_pending(cx) {
            Poll::Ready(Ok(())) => std::pin::Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        match self.poll_pending(cx) {
            Poll::Ready(Ok(())) => std::pin::Pin::new(&mut self.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::enveloped;

    #[test]
    fn only_hypers_bare_error_answers_are_rewritten() {
        let bare =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(enveloped(bare).unwrap()).unwrap();
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{out}"
        );
        let body: serde_json::Value =
            serde_json::from_str(out.split_once("\r\n\r\n").unwrap().1).unwrap();
        assert_eq!(body["status"], 431, "{out}");
        assert_eq!(body["message"], "The request headers are too large.");
        // Our own answers have bodies; other statuses are left alone.
        assert!(enveloped(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 40\r\n\r\n").is_none());
        assert!(enveloped(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
