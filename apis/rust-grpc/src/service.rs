//! `com.example.grpc.EventService`: the contract's validation, transaction and statuses.

use rust_common::json_scan::Limit;
use rust_common::validation::{
    attribute_from_text, MSG_EVENT_TOO_DEEP, MSG_NUL, MSG_NUMBER_TOO_LONG,
};
use rust_common::{validate_event, OverLimit, Repository, StoreError, StoreOutcome};
use serde_json::{Map, Value};
use tonic::codegen::http;
use tonic::{Request, Response, Status};

use crate::pb::event_service_server::{EventService, EventServiceServer};
use crate::pb::{EventRequest, EventResponse, HealthRequest, HealthResponse};

pub use crate::pb::event_service_server::SERVICE_NAME;

pub struct EventApi {
    repository: Repository,
}

/// `/<service>/ProcessEvent`: the one method that needs a token when auth is on.
pub const PROCESS_EVENT_PATH: &str = "/com.example.grpc.EventService/ProcessEvent";

pub fn server(repository: Repository, max_message_bytes: usize) -> EventServiceServer<EventApi> {
    EventServiceServer::new(EventApi { repository }).max_decoding_message_size(max_message_bytes)
}

#[tonic::async_trait]
impl EventService for EventApi {
    async fn process_event(
        &self,
        request: Request<EventRequest>,
    ) -> Result<Response<EventResponse>, Status> {
        let (json, deferred) = request_to_json(request.into_inner());
        let event = validate_event(json).map_err(|error| Status::invalid_argument(error.0))?;
        if let Some(message) = deferred {
            return Err(Status::invalid_argument(message));
        }
        let (event_uuid, entity_count) = (event.uuid_text(), event.entity_count() as i32);
        // The message is in: the transaction runs to the end even if the call is cancelled or
        // its deadline expires now.
        let outcome = self
            .repository
            .store_to_completion(event)
            .await
            .map_err(store_status)?;
        let duplicate = outcome == StoreOutcome::Duplicate;
        Ok(Response::new(EventResponse {
            success: true,
            message: if duplicate {
                "duplicate event ignored"
            } else {
                "event processed"
            }
            .to_string(),
            event_uuid,
            entity_count,
            duplicate,
        }))
    }

    async fn health_check(
        &self,
        _request: Request<HealthRequest>,
    ) -> Result<Response<HealthResponse>, Status> {
        let healthy = self.repository.is_healthy().await;
        Ok(Response::new(HealthResponse {
            healthy,
            message: if healthy {
                "healthy"
            } else {
                "database unavailable"
            }
            .to_string(),
        }))
    }
}

fn store_status(error: StoreError) -> Status {
    match error {
        StoreError::Unavailable => Status::unavailable("database unavailable"),
        StoreError::UnstorableValue => Status::invalid_argument(error.to_string()),
        StoreError::Internal => Status::internal("internal error"),
    }
}

/// The request as the JSON event REST would receive, so both protocols share one validation and
/// store the same document. Unset messages become absent members; attribute values are JSON when
/// the whole text is JSON, else strings.
///
/// An attribute whose JSON breaks a limit (nests too deep, holds a number over 100 characters) is
/// never built (a `null` stands in for it); the second value is then the message its rules give
/// once every rule of `validate_event` has passed: the NUL rule if such a value spells U+0000,
/// else the nesting rule, else the number rule, the last one.
pub fn request_to_json(request: EventRequest) -> (Value, Option<&'static str>) {
    // The rules broken by attributes that were not built.
    let (mut nul, mut too_deep, mut long_number) = (false, false, false);
    let mut root = Map::new();
    if let Some(header) = request.event_header {
        let mut object = Map::new();
        object.insert("uuid".into(), Value::String(header.uuid));
        object.insert("eventName".into(), Value::String(header.event_name));
        object.insert("eventType".into(), Value::String(header.event_type));
        object.insert("createdDate".into(), Value::String(header.created_date));
        object.insert("savedDate".into(), Value::String(header.saved_date));
        root.insert("eventHeader".into(), Value::Object(object));
    }
    if let Some(body) = request.event_body {
        let entities = body
            .entities
            .into_iter()
            .map(|entity| {
                let attributes: Map<String, Value> = entity
                    .updated_attributes
                    .into_iter()
                    .map(|(key, text)| match attribute_from_text(text) {
                        Ok(value) => (key, value),
                        Err(OverLimit {
                            limit,
                            contains_nul,
                        }) => {
                            nul |= contains_nul;
                            too_deep |= limit == Limit::Nesting;
                            long_number |= limit == Limit::NumberLength;
                            (key, Value::Null)
                        }
                    })
                    .collect();
                let mut object = Map::new();
                object.insert("entityType".into(), Value::String(entity.entity_type));
                object.insert("entityId".into(), Value::String(entity.entity_id));
                object.insert("updatedAttributes".into(), Value::Object(attributes));
                Value::Object(object)
            })
            .collect();
        let mut object = Map::new();
        object.insert("entities".into(), Value::Array(entities));
        root.insert("eventBody".into(), Value::Object(object));
    }
    let deferred = if nul {
        Some(MSG_NUL)
    } else if too_deep {
        Some(MSG_EVENT_TOO_DEEP)
    } else if long_number {
        Some(MSG_NUMBER_TOO_LONG)
    } else {
        None
    };
    (Value::Object(root), deferred)
}

/// Tonic answers a message over `max_decoding_message_size` with OUT_OF_RANGE; the contract (like
/// grpc-go and grpc-java) says RESOURCE_EXHAUSTED. No handler here ever answers OUT_OF_RANGE, so
/// the code is rewritten on the way out; the library's message is kept.
pub fn resource_exhausted_layer() -> tower::util::MapResponseLayer<
    fn(http::Response<tonic::body::Body>) -> http::Response<tonic::body::Body>,
> {
    tower::util::MapResponseLayer::new(rewrite_out_of_range)
}

fn rewrite_out_of_range(
    mut response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let out_of_range = http::HeaderValue::from_static("11");
    if response.headers().get("grpc-status") == Some(&out_of_range) {
        response
            .headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    response
}

#[cfg(test)]
mod tests;
