//! Routes and handlers: authentication, content type and size checks, validation, one repository
//! call.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::LengthLimitError;
use rust_common::validation::MSG_MALFORMED_JSON;
use rust_common::{
    parse_body, to_completion, validate_event, Repository, Services, StoreError, StoreOutcome,
};
use serde_json::{json, Value};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::{
    json_response, ApiError, MSG_METHOD_NOT_ALLOWED, MSG_NOT_FOUND, MSG_UNSUPPORTED_MEDIA_TYPE,
};

pub const MAX_BATCH: usize = 1000;
const MSG_BATCH: &str = "request body must be a JSON array of 1 to 1000 events";

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    services: Services,
    max_body_bytes: usize,
}

impl AppState {
    pub fn new(services: Services, max_body_bytes: usize) -> Self {
        AppState(Arc::new(Inner {
            services,
            max_body_bytes,
        }))
    }

    fn repository(&self) -> &Repository {
        &self.0.services.repository
    }

    /// With `AUTH_ENABLED` on, the `Authorization` header must carry a valid bearer token. Checked
    /// before anything else, the body unread.
    fn authenticate(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(authenticator) = &self.0.services.authenticator else {
            return Ok(());
        };
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(|value| value.as_bytes());
        authenticator
            .check(authorization)
            .map_err(|error| ApiError::unauthorized(error.message()))
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/events",
            post(create_event).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/events/bulk",
            post(create_events).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/events/health",
            get(health).fallback(method_not_allowed),
        )
        .fallback(not_found)
        .with_state(state)
        // A panic is a bug, but the client still gets the contract's 500, not a dropped connection.
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
}

async fn create_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.authenticate(&headers)?;
    let bytes = read_json_body(&state, &headers, body).await?;
    let value = parse_body(&bytes)?;
    let event = validate_event(value)?;
    let (uuid, entity_count) = (event.uuid_text(), event.entity_count());
    // The body is in: the transaction runs to the end even if the client goes away now.
    let outcome = state.repository().store_to_completion(event).await?;
    let duplicate = outcome == StoreOutcome::Duplicate;
    let body = json!({
        "success": true,
        "message": if duplicate { "duplicate event ignored" } else { "event processed" },
        "eventUuid": uuid,
        "entityCount": entity_count,
        "duplicate": duplicate,
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// What a batch did, item by item.
struct BatchOutcome {
    processed: u64,
    duplicates: u64,
    errors: Vec<Value>,
}

async fn create_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    state.authenticate(&headers)?;
    let bytes = read_json_body(&state, &headers, body).await?;
    let items = match parse_body(&bytes)? {
        Value::Array(items) if (1..=MAX_BATCH).contains(&items.len()) => items,
        _ => return Err(ApiError::bad_request(MSG_BATCH)),
    };
    // The body is in: every item is processed even if the client goes away now.
    let repository = state.repository().clone();
    let BatchOutcome {
        processed,
        duplicates,
        errors,
    } = to_completion(store_batch(repository, items)).await?;

    let body = json!({
        "success": errors.is_empty(),
        "message": "batch processed",
        "batchId": uuid::Uuid::new_v4().hyphenated().to_string(),
        "processedCount": processed,
        "duplicateCount": duplicates,
        "failedCount": errors.len(),
        "errors": errors,
        "processingTimeMs": started.elapsed().as_millis() as u64,
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// Validates and stores each item in its own transaction; on a database failure the committed
/// ones stay and the batch stops.
async fn store_batch(
    repository: Repository,
    items: Vec<Value>,
) -> Result<BatchOutcome, StoreError> {
    let mut outcome = BatchOutcome {
        processed: 0,
        duplicates: 0,
        errors: Vec::new(),
    };
    for (index, item) in items.into_iter().enumerate() {
        let event = match validate_event(item) {
            Ok(event) => event,
            Err(error) => {
                outcome
                    .errors
                    .push(json!({"index": index, "error": error.0, "status": 400}));
                continue;
            }
        };
        match repository.store(&event).await {
            Ok(StoreOutcome::Stored) => outcome.processed += 1,
            Ok(StoreOutcome::Duplicate) => outcome.duplicates += 1,
            // Refused like a validation error: this item failed, the batch goes on.
            Err(StoreError::UnstorableValue) => {
                outcome.errors.push(json!({"index": index, "error": StoreError::UnstorableValue.to_string(), "status": 400}));
            }
            Err(error) => return Err(error),
        }
    }
    Ok(outcome)
}

async fn health(State(state): State<AppState>) -> Response {
    if state.repository().is_healthy().await {
        json_response(StatusCode::OK, &json!({"status": "healthy"}))
    } else {
        ApiError::unavailable().into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, MSG_NOT_FOUND)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, MSG_METHOD_NOT_ALLOWED)
}

/// `application/json`, parameters such as `charset` allowed, case-insensitive.
fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The content type is checked before the body is read, and the size while it is read.
async fn read_json_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, ApiError> {
    if !is_json_content_type(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            MSG_UNSUPPORTED_MEDIA_TYPE,
        ));
    }
    let max = state.0.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(ApiError::too_large(max));
    }
    axum::body::to_bytes(body, max).await.map_err(|error| {
        let error = error.into_inner();
        if error.is::<LengthLimitError>() {
            ApiError::too_large(max)
        } else {
            // The client stopped sending mid-body: what arrived is not a JSON document.
            ApiError::bad_request(MSG_MALFORMED_JSON)
        }
    })
}

#[cfg(test)]
mod tests;
