//! What both servers set up before they listen: the secrets (when `SECRETS_URL` is set), the pool,
//! the authenticator, and the task that refreshes the secrets.

use std::fmt;
use std::time::Instant;

use crate::auth::Authenticator;
use crate::config::{init_logging, Config, SecretsSettings, MIN_JWT_KEY_BYTES};
use crate::repository::Repository;
use crate::secrets::{SecretsClient, DB_PASSWORD, JWT_SECRET_KEY};

/// What a server's handlers need.
#[derive(Clone, Debug)]
pub struct Services {
    pub repository: Repository,
    /// `Some` when `AUTH_ENABLED` is on.
    pub authenticator: Option<Authenticator>,
}

/// Start-up failed; the message names the setting or the secret, never a value. Exit code 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupError(pub String);

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartupError {}

/// The secrets' current values. Never printed.
#[derive(Clone, Default, PartialEq, Eq)]
struct SecretValues {
    db_password: Option<String>,
    jwt_key: Option<String>,
}

/// What both servers do first: reads the configuration from the environment (a mistake goes to
/// stderr after `binary`'s name: logging is not set up yet), sets up logging, then [`start`]s.
/// `None`: start-up failed and said why; the server exits with code 1.
pub async fn from_env(binary: &str, default_port: u16) -> Option<(Config, Services)> {
    let config = match Config::from_env(default_port) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{binary}: {error}");
            return None;
        }
    };
    init_logging(config.log_level);
    tracing::info!(?config, "starting");
    match start(&config).await {
        Ok(services) => Some((config, services)),
        Err(error) => {
            tracing::error!("cannot start: {error}");
            None
        }
    }
}

/// Reads the secrets, then builds the pool (lazily: the database may still be down) and the
/// authenticator; with a secrets store, starts the task that re-reads them. Must run inside the
/// Tokio runtime.
pub async fn start(config: &Config) -> Result<Services, StartupError> {
    let (store, secrets) = match &config.secrets {
        Some(settings) => {
            let store = SecretsClient::new(&settings.url);
            let started = Instant::now();
            let secrets = read_at_startup(&store, config.auth.is_some()).await?;
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "read the secrets from SECRETS_URL"
            );
            (Some((store, settings.clone())), secrets)
        }
        None => (None, SecretValues::default()),
    };

    let repository = Repository::connect_lazy(
        config.connect_options(secrets.db_password.as_deref()),
        config.pool_max,
        config.db_acquire_timeout,
    );
    let authenticator = match &config.auth {
        Some(settings) => {
            let key = secrets.jwt_key.as_deref().or(settings.key.as_deref());
            let key = key.ok_or_else(|| {
                StartupError("JWT_SECRET_KEY is required when AUTH_ENABLED is on".into())
            })?;
            let authenticator = Authenticator::new(key, settings).map_err(|_| {
                StartupError(format!(
                    "JWT_SECRET_KEY must be at least {MIN_JWT_KEY_BYTES} bytes"
                ))
            })?;
            Some(authenticator)
        }
        None => None,
    };

    if let Some((store, settings)) = store {
        let refresher = Refresher {
            store,
            config: config.clone(),
            repository: repository.clone(),
            authenticator: authenticator.clone(),
            current: secrets,
        };
        tokio::spawn(refresher.run(settings));
    }
    Ok(Services {
        repository,
        authenticator,
    })
}

/// Each secret with the store's retries; a failure names the secret.
async fn read_at_startup(
    store: &SecretsClient,
    auth_enabled: bool,
) -> Result<SecretValues, StartupError> {
    let read = |name: &'static str| async move {
        store.read(name).await.map_err(|error| {
            StartupError(format!(
                "cannot read the secret {name} from SECRETS_URL: {error}"
            ))
        })
    };
    let db_password = Some(read(DB_PASSWORD).await?);
    let jwt_key = if auth_enabled {
        let key = read(JWT_SECRET_KEY).await?;
        if key.len() < MIN_JWT_KEY_BYTES {
            return Err(StartupError(format!(
                "the secret {JWT_SECRET_KEY} must be at least {MIN_JWT_KEY_BYTES} bytes"
            )));
        }
        Some(key)
    } else {
        None
    };
    Ok(SecretValues {
        db_password,
        jwt_key,
    })
}

/// Re-reads the secrets every `SECRETS_REFRESH_INTERVAL`. A failed read keeps the value in use.
struct Refresher {
    store: SecretsClient,
    config: Config,
    repository: Repository,
    authenticator: Option<Authenticator>,
    current: SecretValues,
}

impl Refresher {
    async fn run(mut self, settings: SecretsSettings) {
        loop {
            tokio::time::sleep(settings.refresh_interval).await;
            self.refresh().await;
        }
    }

    async fn refresh(&mut self) {
        match self.store.read(DB_PASSWORD).await {
            Ok(password) if self.current.db_password.as_ref() != Some(&password) => {
                // Open connections stay; the ones opened from now on log in with it.
                self.repository
                    .set_connect_options(self.config.connect_options(Some(&password)));
                self.current.db_password = Some(password);
                tracing::info!("secret {DB_PASSWORD} changed: new connections use it");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(
                %error,
                "cannot refresh the secret {DB_PASSWORD}: keeping the current value"
            ),
        }
        let Some(authenticator) = &self.authenticator else {
            return;
        };
        match self.store.read(JWT_SECRET_KEY).await {
            Ok(key) if self.current.jwt_key.as_ref() != Some(&key) => {
                match authenticator.set_key(&key) {
                    Ok(()) => {
                        self.current.jwt_key = Some(key);
                        tracing::info!("secret {JWT_SECRET_KEY} changed: later requests use it");
                    }
                    Err(error) => tracing::warn!(
                        %error,
                        "refreshed secret {JWT_SECRET_KEY} refused: keeping the current value"
                    ),
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(
                %error,
                "cannot refresh the secret {JWT_SECRET_KEY}: keeping the current value"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use serde_json::json;

    use crate::test_support::{config_from, secrets_store, token_with_key};

    /// A store serving `secrets` (name → value) that answers 500 for names it lacks.
    async fn store(secrets: Arc<Mutex<Vec<(String, String)>>>) -> String {
        let (url, _) = secrets_store(move |_, path| {
            let name = path.trim_start_matches("/secrets/");
            let secrets = secrets.lock().unwrap();
            Some(match secrets.iter().find(|(stored, _)| stored == name) {
                Some((_, value)) => (200, json!({"name": name, "value": value}).to_string()),
                None => (500, "{}".to_string()),
            })
        })
        .await;
        url
    }

    /// A configuration from `vars` over a database that refuses connections.
    fn config(vars: &[(&str, &str)]) -> Config {
        let mut vars = vars.to_vec();
        vars.push(("DATABASE_URL", "postgres://bench@127.0.0.1:1/events"));
        config_from(8080, &vars).unwrap()
    }

    const KEY: &str = "a key from the store, 32 bytes ok";

    fn shared(secrets: &[(&str, &str)]) -> Arc<Mutex<Vec<(String, String)>>> {
        Arc::new(Mutex::new(
            secrets
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    fn password(repository: &Repository) -> Option<String> {
        use sqlx::ConnectOptions;
        repository
            .connect_options()
            .to_url_lossy()
            .password()
            .map(str::to_owned)
    }

    #[tokio::test]
    async fn a_missing_secret_stops_start_up_naming_it() {
        let url = store(shared(&[("db-password", "pw")])).await;
        let config = config(&[("SECRETS_URL", &url), ("AUTH_ENABLED", "true")]);
        let error = start(&config).await.unwrap_err();
        assert!(error.0.contains("jwt-secret-key"), "{error}");
        assert!(!error.0.contains("pw"), "{error}");

        let url = store(shared(&[])).await;
        let config = self::config(&[("SECRETS_URL", &url)]);
        let error = start(&config).await.unwrap_err();
        assert!(error.0.contains("db-password"), "{error}");
    }

    #[tokio::test]
    async fn a_short_stored_key_stops_start_up() {
        let url = store(shared(&[
            ("db-password", "pw"),
            ("jwt-secret-key", "short"),
        ]))
        .await;
        let config = config(&[("SECRETS_URL", &url), ("AUTH_ENABLED", "1")]);
        let error = start(&config).await.unwrap_err();
        assert!(error.0.contains("jwt-secret-key"), "{error}");
        assert!(!error.0.contains("short"), "{error}");
    }

    #[tokio::test]
    async fn refreshed_secrets_replace_the_old_ones_and_failures_keep_them() {
        let secrets = shared(&[("db-password", "first"), ("jwt-secret-key", KEY)]);
        let url = store(secrets.clone()).await;
        let config = config(&[
            ("PGPASSWORD", "fromenv"),
            ("SECRETS_URL", &url),
            ("SECRETS_REFRESH_INTERVAL", "100"),
            ("AUTH_ENABLED", "true"),
        ]);
        let services = start(&config).await.unwrap();
        assert_eq!(password(&services.repository).as_deref(), Some("first"));
        let token = |key: &str| {
            token_with_key(
                key,
                &json!({"exp": jsonwebtoken::get_current_timestamp() + 300}),
            )
        };
        let auth = services.authenticator.clone().unwrap();
        assert_eq!(auth.verify(&token(KEY)), Ok(()));

        let rotated = "the rotated key from the store, 32+";
        *secrets.lock().unwrap() = vec![
            ("db-password".into(), "second".into()),
            ("jwt-secret-key".into(), rotated.into()),
        ];
        let deadline = Instant::now() + Duration::from_secs(5);
        while password(&services.repository).as_deref() != Some("second")
            || auth.verify(&token(rotated)).is_err()
        {
            assert!(Instant::now() < deadline, "the refresh did not happen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(auth.verify(&token(KEY)).is_err());

        // The store fails: the values in use stay (and a short key is refused).
        secrets.lock().unwrap().clear();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        *secrets.lock().unwrap() = vec![("jwt-secret-key".into(), "short".into())];
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert_eq!(password(&services.repository).as_deref(), Some("second"));
        assert_eq!(auth.verify(&token(rotated)), Ok(()));
    }

    #[tokio::test]
    async fn without_a_store_the_environment_is_used() {
        let config = config(&[
            ("PGPASSWORD", "fromenv"),
            ("AUTH_ENABLED", "true"),
            ("JWT_SECRET_KEY", KEY),
        ]);
        let services = start(&config).await.unwrap();
        assert_eq!(password(&services.repository).as_deref(), Some("fromenv"));
        assert!(services.authenticator.is_some());
    }
}
