//! With `AUTH_ENABLED` on, `ProcessEvent` needs `authorization: Bearer <token>` metadata. A tower
//! layer rather than a tonic `Interceptor`: an interceptor sees neither the method (and
//! `HealthCheck`, in the same service, stays open) nor runs before tonic decodes the message, and
//! a refused call must not be read (nor answered RESOURCE_EXHAUSTED for its size).

use std::task::{Context, Poll};

use rust_common::Authenticator;
use tonic::codegen::{http, BoxFuture};
use tonic::Status;
use tower::{Layer, Service};

use crate::service::PROCESS_EVENT_PATH;

#[derive(Clone)]
pub struct RequireBearerLayer {
    authenticator: Option<Authenticator>,
}

impl RequireBearerLayer {
    /// `None`: auth is off and every call passes.
    pub fn new(authenticator: Option<Authenticator>) -> Self {
        RequireBearerLayer { authenticator }
    }
}

impl<S> Layer<S> for RequireBearerLayer {
    type Service = RequireBearer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireBearer {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequireBearer<S> {
    inner: S,
    authenticator: Option<Authenticator>,
}

impl<S, B> Service<http::Request<B>> for RequireBearer<S>
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
        if let Some(authenticator) = &self.authenticator {
            if request.uri().path() == PROCESS_EVENT_PATH {
                let authorization = request
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .map(|value| value.as_bytes());
                if let Err(error) = authenticator.check(authorization) {
                    let refused = Status::unauthenticated(error.message()).into_http();
                    return Box::pin(std::future::ready(Ok(refused)));
                }
            }
        }
        Box::pin(self.inner.call(request))
    }
}
