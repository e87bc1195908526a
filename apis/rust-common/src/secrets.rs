//! The secrets store (the contract's "Secrets"): `GET <SECRETS_URL>/secrets/<name>` answers
//! `200 {"name": "<name>", "value": "<text>"}`; anything else is a failed read.

use std::fmt;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The database password.
pub const DB_PASSWORD: &str = "db-password";
/// The HS256 key, read only when auth is on.
pub const JWT_SECRET_KEY: &str = "jwt-secret-key";

/// How long one read may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The pauses between the 5 attempts of a read.
const BACKOFF: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
];
/// A secret is a password or a key: a larger answer is not one.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why a read failed. Never holds a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// No answer within the attempt's time.
    Timeout,
    /// Connecting, sending or receiving failed.
    Transport(String),
    /// An answer other than 200.
    Status(u16),
    /// A 200 whose body is not JSON with a string `value`.
    NoValue,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Timeout => write!(f, "no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
            ReadError::Transport(error) => write!(f, "request failed: {error}"),
            ReadError::Status(status) => write!(f, "answered HTTP {status}"),
            ReadError::NoValue => f.write_str("answer without a string \"value\""),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads secrets from the store over HTTP/1.1 (hyper's client, kept-alive connections).
#[derive(Clone)]
pub struct SecretsClient {
    /// `SECRETS_URL` without a trailing `/`.
    base_url: String,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl fmt::Debug for SecretsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsClient")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl SecretsClient {
    pub fn new(base_url: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        SecretsClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Reads one secret: up to 5 attempts of at most 2 s, 100, 200, 400 and 800 ms apart. The
    /// error is the last attempt's.
    pub async fn read(&self, name: &str) -> Result<String, ReadError> {
        let mut attempt = 0;
        loop {
            match self.read_once(name).await {
                Ok(value) => return Ok(value),
                Err(error) if attempt < BACKOFF.len() => {
                    tracing::debug!(secret = name, %error, "secret read failed; retrying");
                    tokio::time::sleep(BACKOFF[attempt]).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One attempt: a GET answered within [`ATTEMPT_TIMEOUT`], body included.
    pub async fn read_once(&self, name: &str) -> Result<String, ReadError> {
        tokio::time::timeout(ATTEMPT_TIMEOUT, self.get(name))
            .await
            .unwrap_or(Err(ReadError::Timeout))
    }

    async fn get(&self, name: &str) -> Result<String, ReadError> {
        let request = Request::get(format!("{}/secrets/{name}", self.base_url))
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|error| ReadError::Transport(error.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|error| ReadError::Transport(error.to_string()))?;
        if response.status() != StatusCode::OK {
            return Err(ReadError::Status(response.status().as_u16()));
        }
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|error| ReadError::Transport(error.to_string()))?
            .to_bytes();
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(mut answer)) => match answer.remove("value") {
                Some(Value::String(value)) => Ok(value),
                _ => Err(ReadError::NoValue),
            },
            _ => Err(ReadError::NoValue),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::time::Instant;
    use tokio::net::TcpListener;

    use crate::test_support::secrets_store as store;

    fn secret(path: &str) -> Option<(u16, String)> {
        let name = path.strip_prefix("/base/secrets/")?;
        Some((
            200,
            format!(r#"{{"name": "{name}", "value": "value of {name}"}}"#),
        ))
    }

    #[tokio::test]
    async fn a_secret_is_read_from_its_path() {
        let (url, count) = store(|_, path| secret(path).or(Some((404, "{}".into())))).await;
        let client = SecretsClient::new(&format!("{url}/base/"));
        assert_eq!(
            client.read(DB_PASSWORD).await.unwrap(),
            "value of db-password"
        );
        assert_eq!(
            client.read(JWT_SECRET_KEY).await.unwrap(),
            "value of jwt-secret-key"
        );
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failed_attempts_are_retried_with_backoff() {
        // Three failures of different kinds, then the answer.
        let (url, count) = store(|n, path| match n {
            0 => Some((503, "{}".into())),
            1 => Some((200, r#"{"name": "db-password"}"#.into())),
            2 => Some((200, "not json".into())),
            _ => secret(path),
        })
        .await;
        let started = Instant::now();
        let value = SecretsClient::new(&format!("{url}/base"))
            .read(DB_PASSWORD)
            .await;
        assert_eq!(value.unwrap(), "value of db-password");
        assert_eq!(count.load(Ordering::SeqCst), 4);
        // 100 + 200 + 400 ms of backoff.
        assert!(
            started.elapsed() >= Duration::from_millis(700),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn five_failed_attempts_fail_the_read() {
        let (url, count) = store(|_, _| Some((500, "{}".into()))).await;
        let started = Instant::now();
        let error = SecretsClient::new(&url)
            .read(DB_PASSWORD)
            .await
            .unwrap_err();
        assert_eq!(error, ReadError::Status(500));
        assert_eq!(count.load(Ordering::SeqCst), 5);
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    #[tokio::test]
    async fn bodies_without_a_string_value_are_failed_reads() {
        for body in [
            r#"{"value": 1}"#,
            r#"{"value": null}"#,
            r#"["value"]"#,
            "",
            r#""x""#,
        ] {
            let (url, _) = store(move |_, _| Some((200, body.to_string()))).await;
            let error = SecretsClient::new(&url).read_once(DB_PASSWORD).await;
            assert_eq!(error, Err(ReadError::NoValue), "{body}");
        }
        // The empty string is a value.
        let (url, _) = store(|_, _| Some((200, r#"{"name": "n", "value": ""}"#.into()))).await;
        assert_eq!(
            SecretsClient::new(&url).read_once("n").await,
            Ok(String::new())
        );
    }

    #[tokio::test]
    async fn an_attempt_gives_up_after_2_seconds() {
        let (url, _) = store(|_, _| None).await;
        let started = Instant::now();
        let error = SecretsClient::new(&url).read_once(DB_PASSWORD).await;
        assert_eq!(error, Err(ReadError::Timeout));
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_store_is_a_transport_error() {
        // Bound and closed at once: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = SecretsClient::new(&format!("http://127.0.0.1:{port}"))
            .read_once(DB_PASSWORD)
            .await;
        assert!(matches!(error, Err(ReadError::Transport(_))), "{error:?}");
    }
}
