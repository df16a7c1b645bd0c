//! The 1 MiB request-body limit, enforced while the body streams through.
//!
//! A declared `Content-Length` over the limit is refused before anything is sent upstream. A
//! body without one (chunked) can only be judged as it flows, so it is counted on its way to the
//! service and cut off at the limit; the cut makes the upstream exchange fail, which the proxy
//! turns into a 413.
//!
//! Either way the client is usually still sending when the gateway answers. Closing a connection
//! with unread data makes the kernel send a reset, which can destroy the 413 before the client
//! reads it (the reason web servers "linger" on close), so a refused body is read and discarded
//! in the background for a bounded time and size while the answer goes out.

use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use platform::json::MAX_BODY_BYTES;
use tokio::sync::oneshot;

/// How long a refused body is read and discarded at most.
const LINGER_TIME: Duration = Duration::from_secs(5);

/// How much of a refused body is read and discarded at most.
const LINGER_BYTES: usize = 16 * MAX_BODY_BYTES;

/// The error a capped body fails with once it passes the limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body is over the {MAX_BODY_BYTES}-byte limit")]
pub(crate) struct BodyTooLarge;

/// Reading the client's body failed (the client went away, or sent a broken chunked body).
///
/// Wrapped so the proxy can tell an exchange that failed because of the client from one that
/// failed because of the upstream, which alone counts against the upstream's circuit breaker.
#[derive(Debug, thiserror::Error)]
#[error("reading the client's request body failed")]
pub(crate) struct ClientBodyFailed(#[source] Box<dyn StdError + Send + Sync>);

/// A request body on its way upstream, failing with [`BodyTooLarge`] past the limit.
#[derive(Debug)]
pub(crate) struct CappedBody {
    inner: Body,
    remaining: usize,
    /// Where the rest of an over-long body goes, so it can be drained instead of reset.
    spill: Option<oneshot::Sender<Body>>,
    /// Set once the last byte was handed on (see [`CappedBody::track_end`]).
    ended: Option<Arc<AtomicBool>>,
}

impl CappedBody {
    /// A body whose declared length is already known to be within the limit (hyper enforces a
    /// declared length), or that is empty.
    pub(crate) fn within_limit(inner: Body) -> Self {
        Self {
            inner,
            remaining: usize::MAX,
            spill: None,
            ended: None,
        }
    }

    /// A body of unknown length: counted, cut off past the limit, and the remainder handed to
    /// the returned receiver.
    pub(crate) fn counted(inner: Body) -> (Self, oneshot::Receiver<Body>) {
        let (spill, remainder) = oneshot::channel();
        let body = Self {
            inner,
            remaining: MAX_BODY_BYTES,
            spill: Some(spill),
            ended: None,
        };
        (body, remainder)
    }

    /// The client's body, for a request that was never sent.
    pub(crate) fn into_inner(self) -> Body {
        self.inner
    }

    /// A flag that turns `true` once the whole body has been handed on: a request whose upstream
    /// did not answer in time is the upstream's fault only if the client had finished sending.
    pub(crate) fn track_end(&mut self) -> Arc<AtomicBool> {
        let ended = Arc::new(AtomicBool::new(http_body::Body::is_end_stream(&self.inner)));
        self.ended = Some(ended.clone());
        ended
    }

    fn mark_ended(&self) {
        if let Some(ended) = &self.ended {
            ended.store(true, Ordering::Relaxed);
        }
    }
}

impl http_body::Body for CappedBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            None => {
                this.mark_ended();
                Poll::Ready(None)
            }
            Some(Err(error)) => Poll::Ready(Some(Err(Box::new(ClientBodyFailed(error.into()))))),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if data.len() > this.remaining {
                        this.remaining = 0;
                        if let Some(spill) = this.spill.take() {
                            let _ = spill.send(std::mem::take(&mut this.inner));
                        }
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge))));
                    }
                    this.remaining -= data.len();
                }
                if http_body::Body::is_end_stream(&this.inner) {
                    this.mark_ended();
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Reads and discards what is left of a refused body, within bounds, in the background.
pub(crate) fn linger(body: Body) {
    if http_body::Body::is_end_stream(&body) {
        return;
    }
    tokio::spawn(async move {
        let mut body = body;
        let mut read = 0;
        let drain = async {
            while let Some(Ok(frame)) = body.frame().await {
                read += frame.data_ref().map_or(0, Bytes::len);
                if read > LINGER_BYTES {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(LINGER_TIME, drain).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_within_the_limit_pass_unchanged() {
        let (body, _rest) = CappedBody::counted(Body::from(vec![7u8; MAX_BODY_BYTES]));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), MAX_BODY_BYTES);
    }

    #[tokio::test]
    async fn longer_bodies_fail_and_spill_the_rest() {
        let chunks = (0..3).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![1u8; 512 * 1024])));
        let inner = Body::from_stream(futures::stream::iter(chunks));
        let (body, rest) = CappedBody::counted(inner);
        let error = body.collect().await.unwrap_err();
        assert!(error.is::<BodyTooLarge>());
        assert!(rest.await.is_ok());
    }

    #[tokio::test]
    async fn the_end_of_a_body_is_noticed_and_client_failures_are_marked() {
        let chunks = (0..2).map(|_| Ok::<_, std::io::Error>(Bytes::from_static(b"abc")));
        let mut body = CappedBody::within_limit(Body::from_stream(futures::stream::iter(chunks)));
        let ended = body.track_end();
        assert!(!ended.load(Ordering::Relaxed));
        body.collect().await.unwrap();
        assert!(ended.load(Ordering::Relaxed));

        let mut empty = CappedBody::within_limit(Body::empty());
        assert!(empty.track_end().load(Ordering::Relaxed));

        let broken = futures::stream::iter([
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("client went away")),
        ]);
        let (body, _rest) = CappedBody::counted(Body::from_stream(broken));
        let error = body.collect().await.unwrap_err();
        assert!(error.is::<ClientBodyFailed>());
    }
}
