//! A call's deadline (`grpc-timeout`) answered with gRPC's code for it, DEADLINE_EXCEEDED.
//!
//! Tonic's server enforces `grpc-timeout` itself, outside every user layer, and answers an expired
//! call CANCELLED "Timeout expired". The client's own timer says DEADLINE_EXCEEDED, so whichever
//! of the two arrives first decided what the client saw. This layer, inside tonic's, answers
//! DEADLINE_EXCEEDED a millisecond before tonic's timer fires (both start in the same synchronous
//! `call`, microseconds apart). Either way the handler's future is dropped and the transaction,
//! running in a task of its own, goes on to the end (contract: "Saturation").

use std::task::{Context, Poll};
use std::time::Duration;

use tonic::codegen::{http, BoxFuture};
use tonic::Status;
use tower::{Layer, Service};

/// How much earlier than tonic's timer this layer answers.
const LEAD: Duration = Duration::from_millis(1);

#[derive(Clone, Copy, Debug, Default)]
pub struct DeadlineLayer;

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline { inner }
    }
}

#[derive(Clone, Debug)]
pub struct Deadline<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for Deadline<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|value| parse_grpc_timeout(value.as_bytes()));
        let response = self.inner.call(request);
        let Some(timeout) = timeout else {
            return Box::pin(response);
        };
        // Started here, like tonic's timer, not when the future is first polled.
        let expires = tokio::time::sleep(timeout.saturating_sub(LEAD));
        Box::pin(async move {
            tokio::select! {
                biased;
                response = response => response,
                () = expires => Ok(Status::deadline_exceeded("deadline exceeded").into_http()),
            }
        })
    }
}

/// `grpc-timeout`: at most 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`), as the gRPC over
/// HTTP/2 protocol spells it. Anything else is no deadline, as tonic reads it.
pub fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(amount * 3600),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::time::Instant;

    /// A service whose calls never finish, like a handler waiting for the database.
    #[derive(Clone)]
    struct Forever;

    impl Service<http::Request<()>> for Forever {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = std::future::Pending<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _request: http::Request<()>) -> Self::Future {
            std::future::pending()
        }
    }

    fn call_with(
        timeout: Option<&str>,
    ) -> BoxFuture<http::Response<tonic::body::Body>, Infallible> {
        let mut request = http::Request::new(());
        if let Some(timeout) = timeout {
            request
                .headers_mut()
                .insert("grpc-timeout", timeout.parse().unwrap());
        }
        DeadlineLayer.layer(Forever).call(request)
    }

    #[tokio::test]
    async fn an_expired_deadline_is_answered_deadline_exceeded_just_before_it() {
        let started = Instant::now();
        let response = call_with(Some("200m")).await.unwrap();
        let elapsed = started.elapsed();
        let status = Status::from_header_map(response.headers()).unwrap();
        assert_eq!(
            (status.code(), status.message()),
            (tonic::Code::DeadlineExceeded, "deadline exceeded")
        );
        assert!(
            elapsed >= Duration::from_millis(199)
                && elapsed < Duration::from_millis(200) + Duration::from_secs(1),
            "{elapsed:?}"
        );
    }

    #[tokio::test]
    async fn without_a_deadline_the_call_is_not_limited() {
        for timeout in [None, Some("soon")] {
            let waited = tokio::time::timeout(Duration::from_millis(300), call_with(timeout)).await;
            assert!(waited.is_err(), "{timeout:?}");
        }
    }

    #[test]
    fn grpc_timeout_values() {
        assert_eq!(parse_grpc_timeout(b"2S"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_grpc_timeout(b"1999m"),
            Some(Duration::from_millis(1999))
        );
        assert_eq!(parse_grpc_timeout(b"5H"), Some(Duration::from_secs(18_000)));
        assert_eq!(parse_grpc_timeout(b"3M"), Some(Duration::from_secs(180)));
        assert_eq!(
            parse_grpc_timeout(b"250u"),
            Some(Duration::from_micros(250))
        );
        assert_eq!(
            parse_grpc_timeout(b"99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in [
            &b""[..],
            b"S",
            b"123456789S",
            b"1.5S",
            b"-1S",
            b"10",
            b"10s",
            b"10 S",
        ] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }
}
