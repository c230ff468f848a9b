//! The accept loop: what bounds the connections a client can hold.
//!
//! Why not `axum::serve`: it gives hyper no timer, so hyper's header-read timeout never
//! runs, and it accepts without limit. A client that opened connections and sent
//! nothing (or half a request line, or one byte a second, or left a keep-alive
//! connection idle) held each one for ever, until the process ran out of file
//! descriptors (`accept error: Too many open files`) and everyone else timed out.
//!
//! - **Request heads**: hyper's own `header_read_timeout` (with `TokioTimer`) closes a
//!   connection whose request line and headers are not complete in time; the deadline
//!   does not move when bytes trickle in.
//! - **Idle keep-alive**: in hyper 1.x (1.12 here) the same timer starts again when a
//!   keep-alive connection goes idle after a response (`proto/h1/conn.rs`:
//!   `State::idle` sets `notify_read`, and the next `poll_read_head` arms the timer),
//!   so it also bounds the wait for the next request. One setting, no hand-made loop.
//! - **Stalled responses**: hyper has no write timeout, so a client that stops reading
//!   (a large response, an SSE stream) would hold its connection for ever once the
//!   socket buffers are full. [`StallGuard`] fails a write that makes no progress for
//!   the stall timeout, and hyper closes the connection.
//! - **How many**: a semaphore caps the connections. A permit is taken *before*
//!   `accept`, so over the cap new connections wait in the kernel's listen backlog
//!   while the open ones are served, and the process keeps descriptors for Redis.
//! - **Shutdown**: stop accepting, ask every connection to finish the request in flight
//!   (idle keep-alive ones close at once), and wait for them (hyper-util's
//!   `GracefulShutdown`).
//! - **Client address**: each connection's service is made by
//!   `into_make_service_with_connect_info::<SocketAddr>`, so handlers and the API
//!   limiter still extract `ConnectInfo<SocketAddr>`.
//!
//! Only HTTP/1 is served, as before (axum's `http2` feature is not enabled): the auto
//! h1/h2 builder sniffs the protocol before hyper's timer starts, and a silent
//! connection would wait there unbounded.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tower::Service;

use crate::config::Settings;
use crate::edge::{Edge, Inner};

/// What bounds the connections a client can hold.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// A complete request head must arrive within this, from the connection's opening
    /// and again from the end of each response on a keep-alive connection.
    pub header_read_timeout: Duration,
    /// A response write that makes no progress (the client stopped reading) for this
    /// long closes the connection.
    pub write_stall_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub fn from_settings(settings: &Settings) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: settings.header_read_timeout(),
            write_stall_timeout: settings.write_stall_timeout(),
            max_connections: settings.max_connections as usize,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains the connections.
pub async fn serve(
    listener: TcpListener,
    app: Edge<impl Inner>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => {
                permit.expect("the semaphore is never closed")
            }
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_error(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(remote));
                app.clone().call(request)
            });
        let io = TokioIo::new(StallGuard::new(stream, limits.write_stall_timeout));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, client = %remote, "connection ended with an error");
            }
            drop(permit);
        });
    }

    drop(listener);
    graceful.shutdown().await;
}

/// An accept that failed: a connection reset before it was accepted is nothing; anything
/// else (EMFILE: out of descriptors) is logged, and accepting pauses briefly.
async fn accept_error(err: io::Error) {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accept error");
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// A socket whose writes fail with `TimedOut` when they make no progress for `timeout`
/// (the peer stopped reading and the buffers are full). Reads and idle time are not
/// concerned: only a write that is waiting on the peer.
pub struct StallGuard<T> {
    inner: T,
    timeout: Duration,
    /// Armed when a write first returns `Pending`; cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, timeout: Duration) -> StallGuard<T> {
        StallGuard {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// After the inner write returned `result`: progress disarms the timer; `Pending`
    /// arms it (once) and fails once it has run out.
    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if result.is_ready() {
            self.stalled = None;
            return result;
        }
        let timeout = self.timeout;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading the response",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, result)
    }
}
