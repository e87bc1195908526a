//! Service tests that need no database: proto-to-event mapping, statuses, the size-limit code.

use std::collections::HashMap;

use rust_common::test_support::{config_over_unreachable_database, services};
use rust_common::validate_event;
use tonic::codegen::http;
use tonic::{Code, Request};

use super::*;
use crate::pb::{EntityUpdate, EventBody, EventHeader};

/// A service whose database cannot be reached (port 1 refuses): a test that reached the database
/// would fail instead of writing.
fn api() -> EventApi {
    let config = config_over_unreachable_database(9090, &[]);
    EventApi {
        repository: services(&config).repository,
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

#[tokio::test]
async fn attribute_numbers_have_at_most_100_characters() {
    let message = "event contains a number longer than 100 characters";
    let with_attribute = |text: String| {
        let mut request = request();
        request.event_body.as_mut().unwrap().entities[0]
            .updated_attributes
            .insert("n".into(), text);
        request
    };
    // 100 characters: stored with their digits.
    for text in [
        "9".repeat(100),
        format!("-{}.5", "1".repeat(97)),
        format!("[{}]", "2".repeat(100)),
    ] {
        let (json, deferred) = request_to_json(with_attribute(text.clone()));
        assert_eq!(deferred, None);
        let event = validate_event(json).unwrap();
        let stored = &event.document["eventBody"]["entities"][0]["updatedAttributes"]["n"];
        assert_eq!(stored.to_string(), text);
    }
    // 101: refused, wherever the number is in the JSON text.
    for text in [
        "9".repeat(101),
        format!("-{}.5", "1".repeat(98)),
        format!(r#"{{"a": [1, {}]}}"#, "3".repeat(101)),
        "4".repeat(100_000),
    ] {
        assert_eq!(invalid_argument(with_attribute(text)).await, message);
    }
    // Not JSON text: a string, however many digits.
    let not_json = format!("{}x", "5".repeat(200));
    let (json, deferred) = request_to_json(with_attribute(not_json.clone()));
    assert_eq!(deferred, None);
    let event = validate_event(json).unwrap();
    assert_eq!(
        event.document["eventBody"]["entities"][0]["updatedAttributes"]["n"],
        Value::String(not_json)
    );

    // The nesting and NUL rules come first, and any earlier rule.
    let mut both = with_attribute("6".repeat(101));
    let attributes = &mut both.event_body.as_mut().unwrap().entities[0].updated_attributes;
    attributes.insert(
        "deep".into(),
        format!("{}1{}", "[".repeat(60), "]".repeat(60)),
    );
    assert_eq!(
        invalid_argument(both.clone()).await,
        "event nests deeper than 64 levels"
    );
    let attributes = &mut both.event_body.as_mut().unwrap().entities[0].updated_attributes;
    attributes.insert("nul".into(), "a\u{0}".into());
    assert_eq!(
        invalid_argument(both).await,
        "event must not contain the NUL character (U+0000)"
    );
    let mut earlier = with_attribute("6".repeat(101));
    earlier.event_header.as_mut().unwrap().uuid = "x".into();
    assert_eq!(
        invalid_argument(earlier).await,
        "eventHeader.uuid must be a UUID"
    );
}

#[test]
fn the_process_event_path_is_the_generated_one() {
    assert_eq!(PROCESS_EVENT_PATH, format!("/{SERVICE_NAME}/ProcessEvent"));
}

mod over_the_wire {
    //! A real server on 127.0.0.1 with the production layers, called by the generated client.

    use std::time::Duration;

    use rust_common::test_support::{
        block, cleanup, config_over_unreachable_database, services, test_database_url, token,
        wait_until_stored, KEY,
    };
    use tonic::transport::server::TcpIncoming;
    use tonic::transport::{Channel, Server};
    use tonic::{Code, Request};
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    use super::request;
    use crate::pb::event_service_client::EventServiceClient;
    use crate::pb::HealthRequest;
    use crate::{auth, deadline, health, service};

    const MAX_MESSAGE: usize = 4096;

    /// Serves with `vars` over the unreachable database unless they name one; returns a channel.
    async fn serve(vars: &[(&str, &str)]) -> Channel {
        let services = services(&config_over_unreachable_database(9090, vars));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Server::builder()
            .layer(service::resource_exhausted_layer())
            .layer(deadline::DeadlineLayer)
            .layer(auth::require_bearer_layer(services.authenticator))
            .add_service(health::server(services.repository.clone()))
            .add_service(service::server(services.repository, MAX_MESSAGE));
        tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
        Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    fn with_authorization<T>(message: T, authorization: Option<&str>) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(value) = authorization {
            request
                .metadata_mut()
                .insert("authorization", value.parse().unwrap());
        }
        request
    }

    #[tokio::test]
    async fn with_auth_on_process_event_needs_a_valid_token() {
        let channel = serve(&[("AUTH_ENABLED", "true"), ("JWT_SECRET_KEY", KEY)]).await;
        let mut client = EventServiceClient::new(channel.clone());
        let expired = format!("Bearer {}", token(-3600));
        let huge = {
            let mut huge = request();
            huge.event_header.as_mut().unwrap().event_name = "x".repeat(MAX_MESSAGE * 2);
            huge
        };
        for (message, authorization, expected) in [
            (request(), None, "missing bearer token"),
            (request(), Some("Basic abc"), "missing bearer token"),
            (request(), Some("Bearer not-a-jwt"), "invalid token"),
            (request(), Some(expired.as_str()), "invalid token"),
            // Before the size limit: the message is not read.
            (huge, None, "missing bearer token"),
        ] {
            let status = client
                .process_event(with_authorization(message, authorization))
                .await
                .unwrap_err();
            assert_eq!(
                status.code(),
                Code::Unauthenticated,
                "{authorization:?}: {status:?}"
            );
            assert_eq!(status.message(), expected);
        }
        // A valid token gets as far as validation.
        let mut invalid = request();
        invalid.event_header.as_mut().unwrap().uuid = "x".into();
        let bearer = format!("bearer {}", token(300));
        let status = client
            .process_event(with_authorization(invalid, Some(&bearer)))
            .await
            .unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (Code::InvalidArgument, "eventHeader.uuid must be a UUID")
        );

        // The health services stay open.
        let legacy = client
            .health_check(Request::new(HealthRequest {
                service: String::new(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(legacy.message, "database unavailable");
        let standard = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(standard.into_inner().status, 2, "NOT_SERVING");
    }

    #[tokio::test]
    async fn with_auth_off_no_token_is_needed() {
        let mut client = EventServiceClient::new(serve(&[]).await);
        let mut invalid = request();
        invalid.event_body = None;
        let status = client.process_event(invalid).await.unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (Code::InvalidArgument, "eventBody must be an object")
        );
    }

    #[tokio::test]
    #[ignore = "needs PERFLAB_TEST_DATABASE_URL"]
    async fn a_cancelled_call_or_expired_deadline_does_not_interrupt_the_transaction() {
        let url = test_database_url();
        let database = sqlx::PgPool::connect(&url).await.unwrap();
        let mut client = EventServiceClient::new(serve(&[("DATABASE_URL", &url)]).await);
        for deadline in [true, false] {
            let uuid = uuid::Uuid::new_v4().to_string();
            let mut message = request();
            message.event_header.as_mut().unwrap().uuid = uuid.clone();
            message.event_body.as_mut().unwrap().entities[0].entity_id = uuid.clone();
            message.event_body.as_mut().unwrap().entities[0].entity_type = "GrpcCancelTest".into();
            // Another transaction holds the uuid, so the call waits inside its own.
            let blocker = block(&database, &uuid).await;
            if deadline {
                let mut call = Request::new(message);
                call.set_timeout(Duration::from_millis(300));
                let status = client.process_event(call).await.unwrap_err();
                // Tonic's client enforces the deadline too (CANCELLED "Timeout expired"), and its
                // timer starts first.
                assert!(
                    matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
                    "{status:?}"
                );
            } else {
                // The client cancels: its call future is dropped.
                let call = client.process_event(message);
                assert!(tokio::time::timeout(Duration::from_millis(300), call)
                    .await
                    .is_err());
            }
            blocker.rollback().await.unwrap();
            wait_until_stored(&database, &uuid).await;
            cleanup(&database, "GrpcCancelTest", &[&uuid]).await;
        }
    }
}
