//! Handler tests that need no database: routing, content type, size, validation, error bodies.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use rust_common::{Config, Repository};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{router, AppState};

const MAX: usize = 4096;

/// A router whose database cannot be reached (port 1 refuses), so any test that got as far as
/// the database would fail loudly instead of writing.
fn app() -> Router {
    let config = Config::from_lookup(8080, |name| {
        (name == "DATABASE_URL").then(|| "postgres://bench:bench@127.0.0.1:1/events".to_string())
    })
    .unwrap();
    router(AppState::new(
        Repository::connect_lazy(config.database, 1),
        MAX,
    ))
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
