//! What the tests of this crate and of both servers share (feature `test-support`, which the
//! servers turn on in their dev-dependencies only): configurations over an unreachable database,
//! tokens, a fake secrets store, and the database steps of the tests that a client going away
//! does not interrupt a transaction.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::config::{Config, ConfigError};
use crate::repository::Repository;
use crate::startup::Services;

/// An HS256 key of the contract's minimum length (32 bytes).
pub const KEY: &str = "0123456789abcdef0123456789abcdef";

/// Port 1 refuses: a test that reached the database fails loudly instead of writing.
pub const UNREACHABLE_DATABASE_URL: &str = "postgres://bench:bench@127.0.0.1:1/events";

/// A configuration read from `vars` alone, as [`Config::from_lookup`] reads the environment.
pub fn config_from(default_port: u16, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    Config::from_lookup(default_port, move |name| {
        vars.iter()
            .find(|(set, _)| set == name)
            .map(|(_, value)| value.clone())
    })
}

/// A configuration from `vars` over [`UNREACHABLE_DATABASE_URL`] unless they name a database.
pub fn config_over_unreachable_database(default_port: u16, vars: &[(&str, &str)]) -> Config {
    let mut vars = vars.to_vec();
    if !vars.iter().any(|(name, _)| *name == "DATABASE_URL") {
        vars.push(("DATABASE_URL", UNREACHABLE_DATABASE_URL));
    }
    config_from(default_port, &vars).unwrap()
}

/// The services `config` describes, as [`crate::startup::start`] builds them without a secrets
/// store, but without awaiting.
pub fn services(config: &Config) -> Services {
    let authenticator = config
        .auth
        .as_ref()
        .map(|settings| Authenticator::new(settings.key.as_deref().unwrap(), settings).unwrap());
    Services {
        repository: Repository::connect_lazy(
            config.connect_options(None),
            config.pool_max,
            config.db_acquire_timeout,
        ),
        authenticator,
    }
}

/// An HS256 token signed with `key`.
pub fn token_with_key(key: &str, claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// A token signed with [`KEY`] that expires `exp_in_seconds` from now (negative: expired).
pub fn token(exp_in_seconds: i64) -> String {
    let exp = jsonwebtoken::get_current_timestamp() as i64 + exp_in_seconds;
    token_with_key(KEY, &json!({ "exp": exp }))
}

/// A local secrets store that answers its n-th request (0-based) with `answer(n, path)`:
/// `Some((status, body))`, or `None` to never answer. Returns its URL and the request count.
pub async fn secrets_store(
    answer: impl Fn(usize, &str) -> Option<(u16, String)> + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (counter, answer) = (counter.clone(), answer.clone());
            tokio::spawn(async move {
                // One request per connection; hyper's client opens another when this closes.
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request);
                let path = line.split(' ').nth(1).unwrap_or_default().to_string();
                let n = counter.fetch_add(1, Ordering::SeqCst);
                match answer(n, &path) {
                    Some((status, body)) => {
                        let response = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = socket.write_all(response.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    (url, count)
}

/// The database of `PERFLAB_TEST_DATABASE_URL` (with the lab's schema).
pub fn test_database_url() -> String {
    std::env::var("PERFLAB_TEST_DATABASE_URL")
        .expect("PERFLAB_TEST_DATABASE_URL must name a database with the lab's schema")
}

/// Holds `uuid` in an open transaction, so that a request storing it waits inside its own.
pub async fn block(
    database: &sqlx::PgPool,
    uuid: &str,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut blocker = database.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (uuid, event_name, event_type, payload) VALUES ($1::uuid, 'x', 'x', '{}')",
    )
    .bind(uuid)
    .execute(&mut *blocker)
    .await
    .unwrap();
    blocker
}

/// Waits up to 5 s for the request's own row of `uuid` (not the blocker's, named `x`).
pub async fn wait_until_stored(database: &sqlx::PgPool, uuid: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stored =
            sqlx::query("SELECT 1 FROM events WHERE uuid = $1::uuid AND event_name <> 'x'")
                .bind(uuid)
                .fetch_optional(database)
                .await
                .unwrap();
        if stored.is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{uuid} was not stored: the transaction was abandoned"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Deletes the events `uuids` and their entities of `entity_type` (whose ids are the uuids).
pub async fn cleanup(database: &sqlx::PgPool, entity_type: &str, uuids: &[&str]) {
    for uuid in uuids {
        sqlx::query("DELETE FROM events WHERE uuid = $1::uuid")
            .bind(uuid)
            .execute(database)
            .await
            .unwrap();
        sqlx::query("DELETE FROM entities WHERE entity_type = $1 AND entity_id = $2")
            .bind(entity_type)
            .bind(uuid)
            .execute(database)
            .await
            .unwrap();
    }
}
