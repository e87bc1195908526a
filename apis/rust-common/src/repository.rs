//! The one database call of the APIs: the contract's two statements in one transaction.

use std::fmt;
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
/// How long a request waits for a pooled connection before it is answered "database unavailable".
/// sqlx keeps retrying a refused connect until then, so this is also the answer time while the
/// database is down.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
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

/// Class 08 (connection exception), the server shutting down or starting (57P01-57P03), too
/// many connections (53300).
pub fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
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

impl Repository {
    /// Creates the pool without connecting: the server starts (and reports unhealthy) while the
    /// database is still down.
    pub fn connect_lazy(options: PgConnectOptions, pool_max: u32) -> Self {
        // sqlx logs statements at debug (the default) and slow ones at warn: under load that
        // would be per-request logging, so slow statements are debug too.
        let options = options
            .log_statements(LevelFilter::Debug)
            .log_slow_statements(LevelFilter::Debug, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(pool_max)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
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
            .connect_lazy_with(options);
        Repository { pool }
    }

    /// S1 then, unless the uuid is already stored, S2 per entity in lock order; one transaction.
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
}
