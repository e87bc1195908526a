//! Every REST error is `{"error": "<message>", "status": <code>}` with `application/json`.

use std::borrow::Cow;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_common::{StoreError, ValidationError};

pub const MSG_NOT_FOUND: &str = "not found";
pub const MSG_METHOD_NOT_ALLOWED: &str = "method not allowed";
pub const MSG_UNSUPPORTED_MEDIA_TYPE: &str = "unsupported content type: use application/json";
pub const MSG_UNAVAILABLE: &str = "database unavailable";
pub const MSG_INTERNAL: &str = "internal error";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: Cow<'static, str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401; the response also carries `WWW-Authenticate: Bearer`.
    pub fn unauthorized(message: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn too_large(max_body_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {max_body_bytes} bytes"),
        )
    }

    pub fn unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, MSG_UNAVAILABLE)
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, MSG_INTERNAL)
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ApiError::bad_request(error.0)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable => ApiError::unavailable(),
            StoreError::UnstorableValue => ApiError::bad_request(error.to_string()),
            StoreError::Internal => ApiError::internal(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.message, "status": self.status.as_u16()});
        let mut response = json_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    // Serializing a Value cannot fail: its keys are strings.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}
