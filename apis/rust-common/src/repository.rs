//! The one database call of the APIs: the contract's two statements in one transaction.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use log::LevelFilter;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{ConnectOptions, Connection};

use crate::event::ValidEvent;

/// S1, once per event (byte for byte as in the contract, so `pg_stat_statements` groups the APIs).
pub const INSERT_EVENT: &str = "INSERT INTO events (uuid, event_name, event_type, created_date, saved_date, payload) VALUES ($1::uuid, $2, $3, $4::timestamptz, $5::timestamptz, $6::jsonb) ON CONFLICT (uuid) DO NOTHING";
/// S2, once per entity.
pub const UPSERT_ENTITY: &str = "INSERT INTO entities (entity_type, entity_id, data) VALUES ($1, $2, $3::jsonb) ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = entities.data || EXCLUDED.data, updated_at = now()";

pub const MSG_UNSTORABLE_VALUE: &str = "event contains a value the database cannot store";

/// How long the health check's `SELECT 1` may take.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// A connection idle longer than this is pinged before use, so connections that died with a
/// database restart are replaced instead of failing a request (the busy path pays nothing).
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    Stored,
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// Connect, pool, timeout or connection lost: 503 / UNAVAILABLE.
    Unavailable,
    /// The database refused a value of a valid event as data it cannot store (SQLSTATE class 22
    /// or 54): 400 / INVALID_ARGUMENT, like a validation error.
    UnstorableValue,
    /// Anything else: 500 / INTERNAL.
    Internal,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::Unavailable => "database unavailable",
            StoreError::UnstorableValue => MSG_UNSTORABLE_VALUE,
            StoreError::Internal => "internal error",
        })
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        let kind = classify(&error);
        match kind {
            StoreError::Unavailable => tracing::debug!(%error, "database unavailable"),
            StoreError::UnstorableValue => tracing::debug!(%error, "value refused by the database"),
            StoreError::Internal => tracing::error!(%error, "database error"),
        }
        kind
    }
}

/// Sorts a database error into the contract's two answers.
pub fn classify(error: &sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable,
        sqlx::Error::Database(db) => match db.code() {
            Some(code) if is_unavailable_sqlstate(&code) => StoreError::Unavailable,
            Some(code) if is_unstorable_value_sqlstate(&code) => StoreError::UnstorableValue,
            _ => StoreError::Internal,
        },
        _ => StoreError::Internal,
    }
}

/// Class 08 (connection exception), class 28 (the server refused the login, e.g. while a rotated
/// password has not reached this API yet), the server shutting down or starting (57P01-57P03),
/// too many connections (53300).
pub fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("28")
        || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// Class 22 (data exception, e.g. a number beyond `numeric`'s range) and 54 (program limit
/// exceeded).
pub fn is_unstorable_value_sqlstate(code: &str) -> bool {
    code.starts_with("22") || code.starts_with("54")
}

#[derive(Clone, Debug)]
pub struct Repository {
    pool: PgPool,
}

/// sqlx logs statements at debug (the default) and slow ones at warn: under load that would be
/// per-request logging, so slow statements are debug too.
fn quiet(options: PgConnectOptions) -> PgConnectOptions {
    options
        .log_statements(LevelFilter::Debug)
        .log_slow_statements(LevelFilter::Debug, Duration::from_secs(1))
}

impl Repository {
    /// Creates the pool without connecting: the server starts (and reports unhealthy) while the
    /// database is still down.
    ///
    /// A request waits at most `acquire_timeout` (`DB_ACQUIRE_TIMEOUT`) for a connection, a free
    /// one or a new one the pool opens for it; then it is answered "database unavailable". The
    /// pool queues the requests beyond `pool_max` in arrival order and refuses none before that.
    /// sqlx keeps retrying a refused connect until then, so this is also the answer time while
    /// the database is down.
    pub fn connect_lazy(
        options: PgConnectOptions,
        pool_max: u32,
        acquire_timeout: Duration,
    ) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(pool_max)
            .min_connections(0)
            .acquire_timeout(acquire_timeout)
            .acquire_slow_level(LevelFilter::Debug)
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for < PING_IF_IDLE_FOR {
                        return Ok(true);
                    }
                    // A failed ping closes this connection quietly; the pool opens another.
                    Ok(connection.ping().await.is_ok())
                })
            })
            .connect_lazy_with(quiet(options));
        Repository { pool }
    }

    /// The options new connections are opened with.
    #[cfg(test)]
    pub(crate) fn connect_options(&self) -> std::sync::Arc<PgConnectOptions> {
        self.pool.connect_options()
    }

    /// The options (a rotated password) for the connections opened from now on; open ones stay.
    pub fn set_connect_options(&self, options: PgConnectOptions) {
        self.pool.set_connect_options(quiet(options));
    }

    /// [`Repository::store`] in a task of its own, so that it runs to the end even when the
    /// caller stops waiting (see [`to_completion`]).
    pub async fn store_to_completion(&self, event: ValidEvent) -> Result<StoreOutcome, StoreError> {
        let repository = self.clone();
        to_completion(async move { repository.store(&event).await }).await
    }

    /// S1 then, unless the uuid is already stored, S2 per entity in lock order; one transaction.
    /// Dropping this future part-way rolls the transaction back: handlers call it through
    /// [`to_completion`].
    pub async fn store(&self, event: &ValidEvent) -> Result<StoreOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(INSERT_EVENT)
            .bind(event.uuid)
            .bind(event.event_name.as_str())
            .bind(event.event_type.as_str())
            .bind(event.created_date)
            .bind(event.saved_date)
            .bind(Json(&event.document))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(StoreOutcome::Duplicate);
        }
        for entity in event.entities_in_lock_order() {
            sqlx::query(UPSERT_ENTITY)
                .bind(entity.entity_type)
                .bind(entity.entity_id)
                .bind(Json(entity.attributes))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(StoreOutcome::Stored)
    }

    /// `SELECT 1` on the pool within [`HEALTH_TIMEOUT`].
    pub async fn is_healthy(&self) -> bool {
        let probe = sqlx::query("SELECT 1").execute(&self.pool);
        matches!(tokio::time::timeout(HEALTH_TIMEOUT, probe).await, Ok(Ok(_)))
    }

    /// Waits for checked-out connections to come back, then closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Runs `work` in a task of its own and waits for it. hyper and tonic drop a handler's future when
/// the client goes away (a disconnect, a cancelled call, an expired deadline); work started this
/// way still runs to the end, so a transaction is committed or rolled back exactly as if the
/// client had waited, and only the answer is lost. A panic in `work` is an internal error.
pub async fn to_completion<T, F>(work: F) -> Result<T, StoreError>
where
    F: Future<Output = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(error) => {
            tracing::error!(%error, "request task failed");
            Err(StoreError::Internal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_the_contract_text() {
        assert_eq!(
            INSERT_EVENT,
            "INSERT INTO events (uuid, event_name, event_type, created_date, saved_date, payload) \
             VALUES ($1::uuid, $2, $3, $4::timestamptz, $5::timestamptz, $6::jsonb) \
             ON CONFLICT (uuid) DO NOTHING"
        );
        assert_eq!(
            UPSERT_ENTITY,
            "INSERT INTO entities (entity_type, entity_id, data) VALUES ($1, $2, $3::jsonb) \
             ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = entities.data || EXCLUDED.data, \
             updated_at = now()"
        );
    }

    #[test]
    fn connection_failures_are_unavailable() {
        assert_eq!(
            classify(&sqlx::Error::PoolTimedOut),
            StoreError::Unavailable
        );
        assert_eq!(classify(&sqlx::Error::PoolClosed), StoreError::Unavailable);
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(classify(&sqlx::Error::Io(refused)), StoreError::Unavailable);
        assert_eq!(
            classify(&sqlx::Error::WorkerCrashed),
            StoreError::Unavailable
        );
    }

    #[test]
    fn other_failures_are_internal() {
        assert_eq!(classify(&sqlx::Error::RowNotFound), StoreError::Internal);
        assert_eq!(
            classify(&sqlx::Error::Protocol("unexpected".into())),
            StoreError::Internal
        );
    }

    #[test]
    fn sqlstates_of_an_unreachable_server() {
        for code in [
            "08000", "08003", "08006", "08001", "08004", "57P01", "57P02", "57P03", "53300",
        ] {
            assert!(is_unavailable_sqlstate(code), "{code}");
        }
        // A refused login (class 28) is a connection failure too.
        for code in ["28P01", "28000"] {
            assert!(is_unavailable_sqlstate(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02", "40P01", "XX000"] {
            assert!(!is_unavailable_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn sqlstates_of_values_the_database_cannot_store() {
        for code in ["22003", "22P02", "22021", "22008", "54000", "54001"] {
            assert!(is_unstorable_value_sqlstate(code), "{code}");
        }
        for code in ["23505", "42P01", "08006", "57P01", "XX000", "40001"] {
            assert!(!is_unstorable_value_sqlstate(code), "{code}");
        }
    }

    #[tokio::test]
    async fn work_runs_to_the_end_when_its_caller_stops_waiting() {
        let (started, has_started) = tokio::sync::oneshot::channel();
        let (finished, has_finished) = tokio::sync::oneshot::channel();
        let caller = to_completion(async move {
            let _ = started.send(());
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = finished.send("committed");
            Ok(())
        });
        // The caller goes away (its future is dropped) while the work is under way.
        tokio::select! {
            _ = caller => panic!("the work cannot be done yet"),
            _ = has_started => {}
        }
        let finished = tokio::time::timeout(Duration::from_secs(5), has_finished).await;
        assert_eq!(finished.unwrap().unwrap(), "committed");
    }

    #[tokio::test]
    async fn a_panic_in_the_work_is_an_internal_error() {
        let result: Result<(), StoreError> = to_completion(async { panic!("bug") }).await;
        assert_eq!(result, Err(StoreError::Internal));
    }

    fn event(uuid: uuid::Uuid) -> ValidEvent {
        crate::validate_event(serde_json::json!({
            "eventHeader": {"uuid": uuid.to_string(), "eventName": "RepositoryTest", "eventType": "RepositoryTest"},
            "eventBody": {"entities": [{"entityType": "RepositoryTest", "entityId": uuid.to_string(), "updatedAttributes": {"n": 1}}]}
        }))
        .unwrap()
    }

    /// A server that accepts connections and never answers, like a database host that hangs.
    async fn black_hole() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        (address, task)
    }

    #[tokio::test]
    async fn no_connection_within_the_acquire_timeout_is_unavailable() {
        let (address, server) = black_hole().await;
        let options = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(address.port())
            .username("bench")
            .database("events");
        let repository = Repository::connect_lazy(options, 1, Duration::from_millis(400));
        let started = std::time::Instant::now();
        let outcome = repository.store(&event(uuid::Uuid::new_v4())).await;
        let elapsed = started.elapsed();
        assert_eq!(outcome, Err(StoreError::Unavailable));
        assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        server.abort();
    }

    /// The database of `PERFLAB_TEST_DATABASE_URL` (with the lab's schema), for the tests that
    /// need one: `PERFLAB_TEST_DATABASE_URL=postgres://... cargo test -- --ignored`.
    fn test_database() -> PgConnectOptions {
        let url = std::env::var("PERFLAB_TEST_DATABASE_URL")
            .expect("PERFLAB_TEST_DATABASE_URL must name a database with the lab's schema");
        url.parse().expect("PERFLAB_TEST_DATABASE_URL")
    }

    async fn is_stored(repository: &Repository, uuid: uuid::Uuid) -> bool {
        sqlx::query("SELECT 1 FROM events WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&repository.pool)
            .await
            .unwrap()
            .is_some()
    }

    #[tokio::test]
    #[ignore = "needs PERFLAB_TEST_DATABASE_URL"]
    async fn requests_beyond_the_pool_wait_up_to_the_acquire_timeout() {
        let timeout = Duration::from_millis(1000);
        let repository = Repository::connect_lazy(test_database(), 1, timeout);
        // The pool's only connection is busy.
        let held = repository.pool.acquire().await.unwrap();

        // A request waits the whole timeout, then is answered "unavailable" and writes nothing.
        let refused = uuid::Uuid::new_v4();
        let started = std::time::Instant::now();
        assert_eq!(
            repository.store(&event(refused)).await,
            Err(StoreError::Unavailable)
        );
        let waited = started.elapsed();
        assert!(waited >= timeout && waited < timeout * 3, "{waited:?}");

        // A request that gets the connection before its timeout is served, not refused.
        let served = uuid::Uuid::new_v4();
        let waiting = {
            let repository = repository.clone();
            tokio::spawn(async move { repository.store(&event(served)).await })
        };
        tokio::time::sleep(timeout / 2).await;
        drop(held);
        assert_eq!(waiting.await.unwrap(), Ok(StoreOutcome::Stored));
        assert!(is_stored(&repository, served).await);
        assert!(!is_stored(&repository, refused).await);
        cleanup(&repository, &[served]).await;
    }

    #[tokio::test]
    #[ignore = "needs PERFLAB_TEST_DATABASE_URL"]
    async fn a_store_whose_caller_went_away_still_commits() {
        let repository = Repository::connect_lazy(test_database(), 2, Duration::from_secs(5));
        let uuid = uuid::Uuid::new_v4();
        // Another transaction holds the uuid, so S1 waits for it inside the store's transaction.
        let mut blocker = repository.pool.begin().await.unwrap();
        sqlx::query("INSERT INTO events (uuid, event_name, event_type, payload) VALUES ($1, 'x', 'x', '{}')")
            .bind(uuid)
            .execute(&mut *blocker)
            .await
            .unwrap();
        let caller = repository.store_to_completion(event(uuid));
        // The caller gives up while S1 waits; then the blocking transaction rolls back.
        assert!(tokio::time::timeout(Duration::from_millis(300), caller)
            .await
            .is_err());
        blocker.rollback().await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !is_stored(&repository, uuid).await {
            assert!(
                std::time::Instant::now() < deadline,
                "the transaction was abandoned"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cleanup(&repository, &[uuid]).await;
    }

    async fn cleanup(repository: &Repository, uuids: &[uuid::Uuid]) {
        for uuid in uuids {
            sqlx::query("DELETE FROM events WHERE uuid = $1")
                .bind(uuid)
                .execute(&repository.pool)
                .await
                .unwrap();
            sqlx::query(
                "DELETE FROM entities WHERE entity_type = 'RepositoryTest' AND entity_id = $1",
            )
            .bind(uuid.to_string())
            .execute(&repository.pool)
            .await
            .unwrap();
        }
    }
}
