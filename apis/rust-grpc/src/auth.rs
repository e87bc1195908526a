//! With `AUTH_ENABLED` on, `ProcessEvent` needs `authorization: Bearer <token>` metadata. A tower
//! layer (tower-http's request validation) rather than a tonic `Interceptor`: an interceptor sees
//! neither the method (and `HealthCheck`, in the same service, stays open) nor runs before tonic
//! decodes the message, and a refused call must not be read (nor answered RESOURCE_EXHAUSTED for
//! its size).

use rust_common::Authenticator;
use tonic::codegen::http;
use tonic::Status;
use tower_http::validate_request::{ValidateRequest, ValidateRequestHeaderLayer};

use crate::service::PROCESS_EVENT_PATH;

/// The layer that refuses unauthenticated `ProcessEvent` calls; `None`: auth is off and every
/// call passes.
pub fn require_bearer_layer(
    authenticator: Option<Authenticator>,
) -> ValidateRequestHeaderLayer<RequireBearer> {
    ValidateRequestHeaderLayer::custom(RequireBearer { authenticator })
}

#[derive(Clone)]
pub struct RequireBearer {
    authenticator: Option<Authenticator>,
}

impl<B> ValidateRequest<B> for RequireBearer {
    type ResponseBody = tonic::body::Body;

    fn validate(
        &mut self,
        request: &mut http::Request<B>,
    ) -> Result<(), http::Response<Self::ResponseBody>> {
        let Some(authenticator) = &self.authenticator else {
            return Ok(());
        };
        if request.uri().path() != PROCESS_EVENT_PATH {
            return Ok(());
        }
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|value| value.as_bytes());
        authenticator
            .check(authorization)
            .map_err(|error| Status::unauthenticated(error.message()).into_http())
    }
}
