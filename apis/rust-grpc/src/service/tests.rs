//! Service tests that need no database: proto-to-event mapping, statuses, the size-limit code.

use std::collections::HashMap;

use rust_common::{validate_event, Config, Repository};
use tonic::codegen::http;
use tonic::{Code, Request};

use super::*;
use crate::pb::{EntityUpdate, EventBody, EventHeader};

/// A service whose database cannot be reached (port 1 refuses): a test that reached the database
/// would fail instead of writing.
fn api() -> EventApi {
    let config = Config::from_lookup(9090, |name| {
        (name == "DATABASE_URL").then(|| "postgres://bench:bench@127.0.0.1:1/events".to_string())
    })
    .unwrap();
    EventApi {
        repository: Repository::connect_lazy(config.database, 1),
    }
}

fn request() -> EventRequest {
    EventRequest {
        event_header: Some(EventHeader {
            uuid: "550E8400-E29B-41D4-A716-446655440000".into(),
            event_name: "LoanPaymentSubmitted".into(),
            event_type: "LoanPaymentSubmitted".into(),
            created_date: "2024-01-15T10:30:00Z".into(),
            saved_date: String::new(),
        }),
        event_body: Some(EventBody {
            entities: vec![EntityUpdate {
                entity_type: "Loan".into(),
                entity_id: "loan-1".into(),
                updated_attributes: HashMap::from([
                    ("balance".to_string(), "24439.750".to_string()),
                    ("open".to_string(), "true".to_string()),
                    ("owner".to_string(), "abc".to_string()),
                    ("nested".to_string(), r#"{"a": [1, "x"]}"#.to_string()),
                    ("pair".to_string(), "1 2".to_string()),
                    ("empty".to_string(), String::new()),
                ]),
            }],
        }),
    }
}

async fn invalid_argument(request: EventRequest) -> String {
    let status = api()
        .process_event(Request::new(request))
        .await
        .expect_err("should be refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status.message().to_string()
}

#[test]
fn the_document_matches_what_rest_would_store() {
    let (json, deferred) = request_to_json(request());
    assert_eq!(deferred, None);
    let event = validate_event(json).unwrap();
    // Parsed from text: a `json!` literal would turn 24439.750 into a float.
    let expected: serde_json::Value = serde_json::from_str(
        r#"{
            "eventHeader": {"uuid": "550E8400-E29B-41D4-A716-446655440000", "eventName": "LoanPaymentSubmitted",
                            "eventType": "LoanPaymentSubmitted", "createdDate": "2024-01-15T10:30:00Z"},
            "eventBody": {"entities": [{"entityType": "Loan", "entityId": "loan-1", "updatedAttributes": {
                "balance": 24439.750, "open": true, "owner": "abc", "nested": {"a": [1, "x"]}, "pair": "1 2", "empty": ""
            }}]}
        }"#,
    )
    .unwrap();
    assert_eq!(event.document, expected);
    // Digits survive: no float round trip.
    assert!(serde_json::to_string(&event.document)
        .unwrap()
        .contains("24439.750"));
    assert_eq!(event.saved_date, None);
    assert_eq!(event.uuid_text(), "550e8400-e29b-41d4-a716-446655440000");
}

#[tokio::test]
async fn unset_messages_are_absent_objects() {
    let mut no_header = request();
    no_header.event_header = None;
    assert_eq!(
        invalid_argument(no_header).await,
        "eventHeader must be an object"
    );

    let mut no_body = request();
    no_body.event_body = None;
    assert_eq!(
        invalid_argument(no_body).await,
        "eventBody must be an object"
    );

    let mut no_entities = request();
    no_entities.event_body = Some(EventBody { entities: vec![] });
    assert_eq!(
        invalid_argument(no_entities).await,
        "eventBody.entities must be an array of 1 to 100 entities"
    );
}

#[tokio::test]
async fn validation_messages_are_the_contract_ones() {
    let mut bad_uuid = request();
    bad_uuid.event_header.as_mut().unwrap().uuid = String::new();
    assert_eq!(
        invalid_argument(bad_uuid).await,
        "eventHeader.uuid must be a UUID"
    );

    let mut bad_date = request();
    bad_date.event_header.as_mut().unwrap().saved_date = "yesterday".into();
    assert_eq!(
        invalid_argument(bad_date).await,
        "eventHeader.savedDate must be an RFC 3339 date-time"
    );

    let mut bad_type = request();
    bad_type.event_body.as_mut().unwrap().entities[0].entity_type = String::new();
    assert_eq!(
        invalid_argument(bad_type).await,
        "eventBody.entities[0].entityType must be a name: a letter, then letters or digits, at most 64 characters"
    );

    let mut nul = request();
    nul.event_body.as_mut().unwrap().entities[0]
        .updated_attributes
        .insert("k".into(), "a\u{0}".into());
    assert_eq!(
        invalid_argument(nul).await,
        "event must not contain the NUL character (U+0000)"
    );

    let mut escaped_nul = request();
    escaped_nul.event_body.as_mut().unwrap().entities[0]
        .updated_attributes
        .insert("k".into(), r#""\u0000""#.into());
    assert_eq!(
        invalid_argument(escaped_nul).await,
        "event must not contain the NUL character (U+0000)"
    );
}

#[tokio::test]
async fn attribute_json_nesting_is_the_last_rule() {
    let deep = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
    let mut too_deep = request();
    too_deep.event_body.as_mut().unwrap().entities[0]
        .updated_attributes
        .insert("deep".into(), deep(60));
    assert_eq!(
        invalid_argument(too_deep.clone()).await,
        "event nests deeper than 64 levels"
    );

    let mut very_deep = request();
    very_deep.event_body.as_mut().unwrap().entities[0]
        .updated_attributes
        .insert("deep".into(), deep(100_000));
    assert_eq!(
        invalid_argument(very_deep).await,
        "event nests deeper than 64 levels"
    );

    // An earlier broken rule wins.
    too_deep.event_header.as_mut().unwrap().event_name = String::new();
    assert_eq!(
        invalid_argument(too_deep).await,
        "eventHeader.eventName must be a non-empty string"
    );

    let (json, deferred) = request_to_json({
        let mut ok = request();
        ok.event_body.as_mut().unwrap().entities[0]
            .updated_attributes
            .insert("deep".into(), deep(59));
        ok
    });
    assert_eq!(deferred, None);
    assert!(validate_event(json).is_ok());
}

#[tokio::test]
async fn deep_attribute_text_is_judged_as_a_whole() {
    let mut request = request();
    let attributes = &mut request.event_body.as_mut().unwrap().entities[0].updated_attributes;
    // Deep, but not JSON: an ordinary string, however deep serde_json would have gone.
    let not_json = format!("{}x", "[".repeat(200));
    attributes.insert("text".into(), not_json.clone());
    let (json, deferred) = request_to_json(request.clone());
    assert_eq!(deferred, None);
    let event = validate_event(json).unwrap();
    assert_eq!(
        event.document["eventBody"]["entities"][0]["updatedAttributes"]["text"],
        Value::String(not_json)
    );

    // Deep JSON spelling U+0000: the NUL rule comes before the nesting rule.
    let attributes = &mut request.event_body.as_mut().unwrap().entities[0].updated_attributes;
    let nul = format!("{}\"\\u0000\"{}", "[".repeat(300), "]".repeat(300));
    attributes.insert("deep".into(), nul);
    assert_eq!(
        invalid_argument(request.clone()).await,
        "event must not contain the NUL character (U+0000)"
    );
    // An earlier rule still wins over both.
    request.event_body.as_mut().unwrap().entities[0].entity_id = String::new();
    assert_eq!(
        invalid_argument(request).await,
        "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_reported_as_unhealthy() {
    let response = api()
        .health_check(Request::new(HealthRequest {
            service: String::new(),
        }))
        .await
        .unwrap();
    let response = response.into_inner();
    assert!(!response.healthy);
    assert_eq!(response.message, "database unavailable");
}

#[test]
fn the_size_limit_answers_resource_exhausted() {
    let too_large = tonic::Status::out_of_range("Error, decoded message length too large")
        .into_http::<tonic::body::Body>();
    let rewritten = rewrite_out_of_range(too_large);
    assert_eq!(rewritten.headers()["grpc-status"], "8");

    let other = tonic::Status::invalid_argument("x").into_http::<tonic::body::Body>();
    assert_eq!(rewrite_out_of_range(other).headers()["grpc-status"], "3");
    let ok = http::Response::new(tonic::body::Body::empty());
    assert!(rewrite_out_of_range(ok)
        .headers()
        .get("grpc-status")
        .is_none());
}
