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

/// A request body on its way upstream, failing with [`BodyTooLarge`] past the limit.
#[derive(Debug)]
pub(crate) struct CappedBody {
    inner: Body,
    remaining: usize,
    /// Where the rest of an over-long body goes, so it can be drained instead of reset.
    spill: Option<oneshot::Sender<Body>>,
}

impl CappedBody {
    /// A body whose declared length is already known to be within the limit (hyper enforces a
    /// declared length), or that is empty.
    pub(crate) fn within_limit(inner: Body) -> Self {
        Self {
            inner,
            remaining: usize::MAX,
            spill: None,
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
        };
        (body, remainder)
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
            None => Poll::Ready(None),
            Some(Err(error)) => Poll::Ready(Some(Err(error.into()))),
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
}
