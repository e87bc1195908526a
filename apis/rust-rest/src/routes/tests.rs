//! Handler tests: routing, authentication, content type, size, validation, error bodies (no
//! database needed); and, against `PERFLAB_TEST_DATABASE_URL` (ignored without it), that a
//! client going away does not interrupt the transaction.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use rust_common::test_support::{
    block, cleanup, config_over_unreachable_database, services, test_database_url, token,
    wait_until_stored, KEY,
};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{router, AppState};

const MAX: usize = 4096;

/// A router whose database cannot be reached (port 1 refuses), so any test that got as far as
/// the database would fail loudly instead of writing.
fn app() -> Router {
    app_with(&[])
}

/// A router configured by `vars` over the unreachable database unless they name one.
fn app_with(vars: &[(&str, &str)]) -> Router {
    let config = config_over_unreachable_database(8080, vars);
    router(AppState::new(services(&config), MAX))
}

fn with_auth() -> Router {
    app_with(&[("AUTH_ENABLED", "true"), ("JWT_SECRET_KEY", KEY)])
}

async fn call(
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> (StatusCode, String, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = app()
        .oneshot(request.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, content_type, body)
}

async fn post_json(uri: &str, body: &str) -> (StatusCode, Value) {
    let (status, _, body) = call(
        Method::POST,
        uri,
        Some("application/json"),
        body.to_string(),
    )
    .await;
    (status, body)
}

fn error(status: StatusCode, message: &str) -> Value {
    json!({"error": message, "status": status.as_u16()})
}

#[tokio::test]
async fn unknown_path_is_a_json_404() {
    for uri in [
        "/",
        "/api/v1/event",
        "/api/v1/events/",
        "/api/v1/events/health/x",
    ] {
        let (status, content_type, body) = call(Method::GET, uri, None, Body::empty()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(content_type, "application/json");
        assert_eq!(body, error(StatusCode::NOT_FOUND, "not found"));
    }
}

#[tokio::test]
async fn wrong_method_is_a_json_405() {
    for (method, uri) in [
        (Method::GET, "/api/v1/events"),
        (Method::PUT, "/api/v1/events"),
        (Method::DELETE, "/api/v1/events/bulk"),
        (Method::GET, "/api/v1/events/bulk"),
        (Method::POST, "/api/v1/events/health"),
    ] {
        let (status, content_type, body) =
            call(method.clone(), uri, Some("application/json"), "{}").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(content_type, "application/json");
        assert_eq!(
            body,
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        );
    }
}

#[tokio::test]
async fn only_application_json_is_accepted() {
    let message = "unsupported content type: use application/json";
    for uri in ["/api/v1/events", "/api/v1/events/bulk"] {
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/jsonx"),
            Some("application/x-www-form-urlencoded"),
            Some(""),
        ] {
            let (status, _, body) = call(Method::POST, uri, content_type, "{}").await;
            assert_eq!(
                status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{content_type:?}"
            );
            assert_eq!(body, error(StatusCode::UNSUPPORTED_MEDIA_TYPE, message));
        }
    }
    // Parameters and any case are fine: these get as far as validation.
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json;charset=UTF-8",
    ] {
        let (status, _, body) =
            call(Method::POST, "/api/v1/events", Some(content_type), "[]").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{content_type}");
        assert_eq!(body["error"], "request body must be a JSON object");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_declared_or_not() {
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX));
    for uri in ["/api/v1/events", "/api/v1/events/bulk"] {
        let (status, _, body) =
            call(Method::POST, uri, Some("application/json"), big.clone()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            body,
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body exceeds 4096 bytes"
            )
        );

        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, (MAX + 1).to_string())
            .body(Body::from("x".repeat(MAX + 1)))
            .unwrap();
        assert_eq!(
            app().oneshot(request).await.unwrap().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
    // Exactly the limit is allowed (and then judged as JSON).
    let exact = format!("[{}]", " ".repeat(MAX - 2));
    let (status, body) = post_json("/api/v1/events", &exact).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("request body must be a JSON object")
        )
    );
    // The content type is judged first.
    let (status, _, _) = call(Method::POST, "/api/v1/events", Some("text/plain"), big).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn malformed_json_is_400() {
    for uri in ["/api/v1/events", "/api/v1/events/bulk"] {
        for text in [
            "",
            "{",
            "{\"a\":1,}",
            "[1] 2",
            "nul",
            "{\"a\": 01}",
            "\u{feff}{}",
            "{\"a\": \"\\ud800\"}",
        ] {
            let (status, body) = post_json(uri, text).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{text:?}");
            assert_eq!(body, error(StatusCode::BAD_REQUEST, "malformed JSON"));
        }
    }
}

#[tokio::test]
async fn deep_bodies_are_400_and_the_server_survives() {
    let deep = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    for uri in ["/api/v1/events", "/api/v1/events/bulk"] {
        let (status, body) = post_json(uri, &deep).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            error(
                StatusCode::BAD_REQUEST,
                "request body nests deeper than 64 levels"
            )
        );
    }
    // Too deep and malformed: malformed JSON wins, at any depth.
    for levels in [65, 129, 4000] {
        let malformed = format!("{}1", "[".repeat(levels));
        for uri in ["/api/v1/events", "/api/v1/events/bulk"] {
            let (status, body) = post_json(uri, &malformed).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(
                body,
                error(StatusCode::BAD_REQUEST, "malformed JSON"),
                "{levels}"
            );
        }
    }
}

#[tokio::test]
async fn validation_errors_are_400_with_the_rule_message() {
    let (status, body) = post_json("/api/v1/events", r#"{"eventHeader": {"uuid": "nope"}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        error(StatusCode::BAD_REQUEST, "eventHeader.uuid must be a UUID")
    );
}

#[tokio::test]
async fn bulk_must_be_an_array_of_1_to_1000() {
    let message = "request body must be a JSON array of 1 to 1000 events";
    let too_many = format!("[{}]", vec!["1"; 1001].join(","));
    for text in ["{}", "[]", "1", "null", too_many.as_str()] {
        let (status, body) = post_json("/api/v1/events/bulk", text).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, error(StatusCode::BAD_REQUEST, message));
    }
}

#[tokio::test]
async fn bulk_reports_each_invalid_item() {
    let (status, body) = post_json(
        "/api/v1/events/bulk",
        r#"[1, {}, {"eventHeader": {"uuid": "x"}}]"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], false);
    assert_eq!(body["message"], "batch processed");
    assert_eq!(
        (
            body["processedCount"].as_u64(),
            body["duplicateCount"].as_u64(),
            body["failedCount"].as_u64()
        ),
        (Some(0), Some(0), Some(3))
    );
    assert_eq!(
        body["errors"],
        json!([
            {"index": 0, "error": "request body must be a JSON object", "status": 400},
            {"index": 1, "error": "eventHeader must be an object", "status": 400},
            {"index": 2, "error": "eventHeader.uuid must be a UUID", "status": 400},
        ])
    );
    let batch_id = uuid::Uuid::parse_str(body["batchId"].as_str().unwrap()).unwrap();
    assert_eq!(batch_id.get_version_num(), 4);
    assert!(body["processingTimeMs"].is_u64());
}

#[tokio::test]
async fn health_is_503_while_the_database_is_unreachable() {
    let (status, content_type, body) =
        call(Method::GET, "/api/v1/events/health", None, Body::empty()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(content_type, "application/json");
    assert_eq!(
        body,
        error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    );
}

/// Sends `request` to `app`: status, `WWW-Authenticate`, body.
async fn send(app: Router, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        challenge,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn post(
    uri: &str,
    content_type: &str,
    authorization: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut request = Request::post(uri).header(header::CONTENT_TYPE, content_type);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    request.body(body.into()).unwrap()
}

#[tokio::test]
async fn with_auth_on_events_need_a_valid_bearer_token() {
    let expired = token(-3600);
    for uri in ["/api/v1/events", "/api/v1/events/bulk"] {
        for (authorization, message) in [
            (None, "missing bearer token"),
            (
                Some("Basic dXNlcjpwYXNz".to_string()),
                "missing bearer token",
            ),
            (Some("Bearer ".to_string()), "missing bearer token"),
            (Some("Bearer not.a.token".to_string()), "invalid token"),
            (Some(format!("Bearer {expired}")), "invalid token"),
        ] {
            let request = post(uri, "application/json", authorization.as_deref(), "[]");
            let (status, challenge, body) = send(with_auth(), request).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} {authorization:?}");
            assert_eq!(challenge.as_deref(), Some("Bearer"));
            assert_eq!(body, error(StatusCode::UNAUTHORIZED, message));
        }
        // A valid token gets as far as validation.
        let authorization = format!("bearer {}", token(300));
        let request = post(uri, "application/json", Some(&authorization), "[]");
        let (status, challenge, body) = send(with_auth(), request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(challenge, None);
        assert!(body["error"]
            .as_str()
            .unwrap()
            .starts_with("request body must be a JSON"));
    }
}

#[tokio::test]
async fn authentication_comes_before_content_type_size_and_validation() {
    let too_large = "x".repeat(MAX + 1);
    for (content_type, body) in [
        ("text/plain", "{}".to_string()),
        ("application/json", too_large),
        ("application/json", "{".to_string()),
        ("application/json", format!("[{}]", "1".repeat(101))),
    ] {
        let request = post("/api/v1/events", content_type, None, body);
        let (status, _, body) = send(with_auth(), request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{content_type}");
        assert_eq!(body["error"], "missing bearer token");
    }
    // Nothing is read from the body of a refused request.
    for uri in ["/api/v1/events", "/api/v1/events/bulk"] {
        let polled = Arc::new(AtomicBool::new(false));
        let flag = polled.clone();
        let chunks = tokio_stream::StreamExt::map(tokio_stream::iter(["{}"]), move |chunk| {
            flag.store(true, Ordering::SeqCst);
            Ok::<_, std::convert::Infallible>(chunk)
        });
        let request = post(uri, "application/json", None, Body::from_stream(chunks));
        let (status, _, _) = send(with_auth(), request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(!polled.load(Ordering::SeqCst), "{uri}: the body was read");
    }
}

#[tokio::test]
async fn with_auth_on_health_404_and_405_stay_open() {
    let health = Request::get("/api/v1/events/health")
        .body(Body::empty())
        .unwrap();
    let (status, challenge, _) = send(with_auth(), health).await;
    assert_eq!((status, challenge), (StatusCode::SERVICE_UNAVAILABLE, None));
    let unknown = Request::get("/api/v1/nope").body(Body::empty()).unwrap();
    assert_eq!(send(with_auth(), unknown).await.0, StatusCode::NOT_FOUND);
    let wrong_method = Request::get("/api/v1/events").body(Body::empty()).unwrap();
    assert_eq!(
        send(with_auth(), wrong_method).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn auth_off_needs_no_token() {
    let (status, _, body) = send(
        app(),
        post("/api/v1/events", "application/json", None, "[]"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "request body must be a JSON object");
}

#[tokio::test]
async fn numbers_have_at_most_100_characters_of_json_text() {
    let message = "event contains a number longer than 100 characters";
    // 100 characters pass the rule (and fail a later one); 101 do not, wherever they are.
    for number in ["9".repeat(100), format!("-{}.5", "1".repeat(97))] {
        let (status, body) = post_json("/api/v1/events", &format!(r#"{{"x": {number}}}"#)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (
                StatusCode::BAD_REQUEST,
                Some("eventHeader must be an object")
            )
        );
    }
    for number in [
        "9".repeat(101),
        format!("-{}.5", "1".repeat(98)),
        format!("1e{}", "0".repeat(99)),
    ] {
        let (status, body) = post_json("/api/v1/events", &format!(r#"{{"x": {number}}}"#)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, error(StatusCode::BAD_REQUEST, message));
    }
    // In a bulk body, one long number anywhere refuses the whole request.
    let bulk = format!(
        r#"[{{"eventHeader": 1}}, {{"eventHeader": {{"uuid": {}}}}}]"#,
        "7".repeat(101)
    );
    let (status, body) = post_json("/api/v1/events/bulk", &bulk).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, error(StatusCode::BAD_REQUEST, message));
}

fn event_text(uuid: &str) -> String {
    json!({
        "eventHeader": {"uuid": uuid, "eventName": "RestCancelTest", "eventType": "RestCancelTest"},
        "eventBody": {"entities": [{"entityType": "RestCancelTest", "entityId": uuid, "updatedAttributes": {"n": 1}}]}
    })
    .to_string()
}

#[tokio::test]
#[ignore = "needs PERFLAB_TEST_DATABASE_URL"]
async fn a_client_that_goes_away_does_not_interrupt_the_transaction() {
    let url = test_database_url();
    let database = sqlx::PgPool::connect(&url).await.unwrap();
    let app = app_with(&[("DATABASE_URL", &url)]);
    let single = uuid::Uuid::new_v4().to_string();
    let (first, second) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let bulk = format!("[{}, {}]", event_text(&first), event_text(&second));

    for (uri, body, blocked, all) in [
        (
            "/api/v1/events",
            event_text(&single),
            &single,
            vec![single.as_str()],
        ),
        (
            "/api/v1/events/bulk",
            bulk,
            &first,
            vec![first.as_str(), second.as_str()],
        ),
    ] {
        let blocker = block(&database, blocked).await;
        // The client gives up (its request future is dropped) while the handler waits inside the
        // transaction, after the whole body arrived.
        let request = app
            .clone()
            .oneshot(post(uri, "application/json", None, body));
        assert!(
            tokio::time::timeout(Duration::from_millis(500), request)
                .await
                .is_err(),
            "{uri}"
        );
        blocker.rollback().await.unwrap();
        for uuid in &all {
            wait_until_stored(&database, uuid).await;
        }
        cleanup(&database, "RestCancelTest", &all).await;
    }
}
