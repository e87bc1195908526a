//! Settings from the shared environment contract, and nothing else.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use tracing::Level;

pub const DEFAULT_POOL_MAX: u32 = 20;
pub const DEFAULT_MAX_BODY_BYTES: usize = 1_048_576;
pub const DEFAULT_DB_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(5000);
pub const DEFAULT_SECRETS_REFRESH_INTERVAL: Duration = Duration::from_millis(60_000);
/// The shortest HS256 key accepted (bytes of its UTF-8 text).
pub const MIN_JWT_KEY_BYTES: usize = 32;
const DEFAULT_BIND_ADDRESS: &str = "0.0.0.0";

#[derive(Clone)]
pub struct Config {
    /// Parsed once; never printed, because it holds the database password.
    pub database: PgConnectOptions,
    /// Whether `DATABASE_URL` carries the password itself, which then wins over any other source.
    pub url_has_password: bool,
    pub listen: SocketAddr,
    pub pool_max: u32,
    /// `DB_ACQUIRE_TIMEOUT`: how long a request waits for a database connection.
    pub db_acquire_timeout: Duration,
    pub log_level: Level,
    pub max_body_bytes: usize,
    /// `Some` when `AUTH_ENABLED` is on.
    pub auth: Option<AuthSettings>,
    /// `Some` when `SECRETS_URL` is set.
    pub secrets: Option<SecretsSettings>,
}

/// JWT verification settings (`AUTH_ENABLED` on).
#[derive(Clone)]
pub struct AuthSettings {
    /// `JWT_SECRET_KEY`; `None` when the key comes from the secrets store. Never printed.
    pub key: Option<String>,
    /// `JWT_ISSUER`: a token's `iss` must equal it.
    pub issuer: Option<String>,
    /// `JWT_AUDIENCE`: a token's `aud` must be or contain it.
    pub audience: Option<String>,
}

impl fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSettings")
            .field("key_from_environment", &self.key.is_some())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// Where the database password and the JWT key come from when `SECRETS_URL` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsSettings {
    /// `SECRETS_URL` without a trailing `/`: secrets are read from `<url>/secrets/<name>`.
    pub url: String,
    /// `SECRETS_REFRESH_INTERVAL`.
    pub refresh_interval: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_host", &self.database.get_host())
            .field("database_port", &self.database.get_port())
            .field("database_name", &self.database.get_database())
            .field("listen", &self.listen)
            .field("pool_max", &self.pool_max)
            .field("db_acquire_timeout", &self.db_acquire_timeout)
            .field("log_level", &self.log_level)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("auth", &self.auth)
            .field("secrets", &self.secrets)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the process environment. `default_port` is 8080 for REST, 9090 for gRPC.
    pub fn from_env(default_port: u16) -> Result<Self, ConfigError> {
        Self::from_lookup(default_port, |name| std::env::var(name).ok())
    }

    /// Same as [`Config::from_env`] over any variable lookup, so tests need not touch the process
    /// environment. Empty values count as unset.
    pub fn from_lookup(
        default_port: u16,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let url =
            get("DATABASE_URL").ok_or_else(|| ConfigError("DATABASE_URL is required".into()))?;
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError(
                "DATABASE_URL must start with postgres:// or postgresql://".into(),
            ));
        }
        // The parser's message may quote the URL, password included: say only what is wrong.
        let database = PgConnectOptions::from_str(url).map_err(|_| {
            ConfigError(
                "DATABASE_URL is not a valid postgres://user:password@host:port/db URL".into(),
            )
        })?;
        // libpq's rule: without a password in the URL, PGPASSWORD (how ECS hands over the secret). sqlx
        // already takes it from the process environment when parsing; reading it through `lookup` keeps
        // this function's answer a function of `lookup` alone.
        let url_has_password = url_has_password(url);
        let database = match lookup("PGPASSWORD").filter(|password| !password.is_empty()) {
            Some(password) if !url_has_password => database.password(&password),
            _ => database,
        };

        let port = match get("PORT") {
            Some(value) => parse_number::<u16>("PORT", &value).and_then(|port| {
                if port == 0 {
                    Err(ConfigError("PORT must be between 1 and 65535".into()))
                } else {
                    Ok(port)
                }
            })?,
            None => default_port,
        };
        let bind = get("BIND_ADDRESS").unwrap_or_else(|| DEFAULT_BIND_ADDRESS.to_string());
        let address = IpAddr::from_str(bind.trim())
            .map_err(|_| ConfigError("BIND_ADDRESS must be an IP address".into()))?;

        let pool_max = match get("DB_POOL_MAX") {
            Some(value) => positive::<u32>("DB_POOL_MAX", &value)?,
            None => DEFAULT_POOL_MAX,
        };
        let max_body_bytes = match get("MAX_BODY_BYTES") {
            Some(value) => positive::<usize>("MAX_BODY_BYTES", &value)?,
            None => DEFAULT_MAX_BODY_BYTES,
        };
        let db_acquire_timeout = match get("DB_ACQUIRE_TIMEOUT") {
            Some(value) => Duration::from_millis(positive::<u64>("DB_ACQUIRE_TIMEOUT", &value)?),
            None => DEFAULT_DB_ACQUIRE_TIMEOUT,
        };
        let log_level = match get("LOG_LEVEL") {
            Some(value) => parse_log_level(&value)?,
            None => Level::WARN,
        };

        let secrets = match get("SECRETS_URL") {
            Some(url) => Some(SecretsSettings {
                url: parse_secrets_url(&url)?,
                refresh_interval: match get("SECRETS_REFRESH_INTERVAL") {
                    Some(value) => {
                        Duration::from_millis(positive::<u64>("SECRETS_REFRESH_INTERVAL", &value)?)
                    }
                    None => DEFAULT_SECRETS_REFRESH_INTERVAL,
                },
            }),
            None => None,
        };
        let auth = if parse_switch("AUTH_ENABLED", lookup("AUTH_ENABLED"))? {
            // The key is used byte for byte: no trimming.
            let key = match lookup("JWT_SECRET_KEY").filter(|key| !key.is_empty()) {
                // With a secrets store the key comes from it, not from the environment.
                _ if secrets.is_some() => None,
                Some(key) if key.len() < MIN_JWT_KEY_BYTES => {
                    return Err(ConfigError(format!(
                        "JWT_SECRET_KEY must be at least {MIN_JWT_KEY_BYTES} bytes when AUTH_ENABLED is on"
                    )))
                }
                Some(key) => Some(key),
                None => {
                    return Err(ConfigError(
                        "JWT_SECRET_KEY is required when AUTH_ENABLED is on and SECRETS_URL is not set"
                            .into(),
                    ))
                }
            };
            Some(AuthSettings {
                key,
                issuer: get("JWT_ISSUER"),
                audience: get("JWT_AUDIENCE"),
            })
        } else {
            None
        };

        Ok(Config {
            database,
            url_has_password,
            listen: SocketAddr::new(address, port),
            pool_max,
            db_acquire_timeout,
            log_level,
            max_body_bytes,
            auth,
            secrets,
        })
    }

    /// The options the pool connects with, given the `db-password` of the secrets store: a
    /// password in `DATABASE_URL` wins, then the store's, then `PGPASSWORD`.
    pub fn connect_options(&self, db_password_secret: Option<&str>) -> PgConnectOptions {
        match db_password_secret {
            Some(password) if !self.url_has_password => self.database.clone().password(password),
            _ => self.database.clone(),
        }
    }
}

/// `true` or `1` (any case) is on; `false`, `0`, empty or unset is off; anything else an error.
fn parse_switch(name: &str, value: Option<String>) -> Result<bool, ConfigError> {
    let value = value.unwrap_or_default();
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(ConfigError(format!(
            "{name} must be true, 1, false or 0, got {value:?}"
        ))),
    }
}

/// An `http://host[:port][/path]` URL, returned without a trailing `/`. The lab's secrets store
/// (its mock service, or a sidecar) is plain HTTP on a private network.
fn parse_secrets_url(value: &str) -> Result<String, ConfigError> {
    let invalid = || {
        ConfigError(format!(
            "SECRETS_URL must be an http://host[:port] URL, got {value:?}"
        ))
    };
    let url = value.trim().trim_end_matches('/');
    let uri = hyper::Uri::from_str(url).map_err(|_| invalid())?;
    let plain_http = uri.scheme_str() == Some("http")
        && uri.host().is_some_and(|host| !host.is_empty())
        && uri.query().is_none();
    if !plain_http {
        return Err(invalid());
    }
    Ok(url.to_string())
}

/// Whether a postgres:// URL carries a password: in its user info (`user:password@`, a non-empty
/// password, as sqlx reads it) or as the `password` query parameter.
fn url_has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let in_user_info = authority
        .rsplit_once('@')
        .and_then(|(user_info, _)| user_info.split_once(':'))
        .is_some_and(|(_, password)| !password.is_empty());
    let query = rest
        .split_once('?')
        .map_or("", |(_, query)| query.split('#').next().unwrap_or_default());
    in_user_info
        || query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("password"))
}

fn parse_number<T: FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse::<T>()
        .map_err(|_| ConfigError(format!("{name} must be a whole number, got {value:?}")))
}

fn positive<T: FromStr + PartialEq + Default>(name: &str, value: &str) -> Result<T, ConfigError> {
    let number = parse_number::<T>(name, value)?;
    if number == T::default() {
        return Err(ConfigError(format!("{name} must be at least 1")));
    }
    Ok(number)
}

fn parse_log_level(value: &str) -> Result<Level, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "error" => Ok(Level::ERROR),
        "warn" => Ok(Level::WARN),
        "info" => Ok(Level::INFO),
        "debug" => Ok(Level::DEBUG),
        _ => Err(ConfigError(format!(
            "LOG_LEVEL must be one of error, warn, info, debug, got {value:?}"
        ))),
    }
}

/// Logs to stderr at the configured level. Nothing below `debug` is logged per request.
pub fn init_logging(level: Level) {
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(level >= Level::DEBUG)
        // Plain text: container logs are read by tools, not terminals.
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        crate::test_support::config_from(8080, vars)
    }

    const URL: (&str, &str) = (
        "DATABASE_URL",
        "postgres://bench:s3cret@db.example:5433/events?sslmode=disable",
    );

    #[test]
    fn defaults_follow_the_contract() {
        let config = config(&[URL]).unwrap();
        assert_eq!(config.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(config.pool_max, 20);
        assert_eq!(config.max_body_bytes, 1_048_576);
        assert_eq!(config.log_level, Level::WARN);
        assert_eq!(config.db_acquire_timeout, Duration::from_millis(5000));
        assert!(config.auth.is_none());
        assert!(config.secrets.is_none());
        assert_eq!(config.database.get_host(), "db.example");
        assert_eq!(config.database.get_port(), 5433);
        assert_eq!(config.database.get_database(), Some("events"));
    }

    #[test]
    fn every_setting_is_read() {
        let config = config(&[
            URL,
            ("PORT", "18082"),
            ("BIND_ADDRESS", "127.0.0.1"),
            ("DB_POOL_MAX", "7"),
            ("LOG_LEVEL", "DEBUG"),
            ("MAX_BODY_BYTES", "4096"),
            ("DB_ACQUIRE_TIMEOUT", "250"),
        ])
        .unwrap();
        assert_eq!(config.db_acquire_timeout, Duration::from_millis(250));
        assert_eq!(config.listen, "127.0.0.1:18082".parse().unwrap());
        assert_eq!(config.pool_max, 7);
        assert_eq!(config.log_level, Level::DEBUG);
        assert_eq!(config.max_body_bytes, 4096);
    }

    #[test]
    fn database_url_is_required() {
        assert_eq!(config(&[]).unwrap_err().0, "DATABASE_URL is required");
    }

    #[test]
    fn the_password_never_appears_in_errors_or_debug_output() {
        for url in [
            "mysql://bench:s3cret@x/y",
            "postgres://bench:s3cret@x:port/y",
        ] {
            let err = config(&[("DATABASE_URL", url)]).unwrap_err();
            assert!(err.0.starts_with("DATABASE_URL"), "{}", err.0);
            assert!(!err.0.contains("s3cret"), "{}", err.0);
        }
        assert!(config(&[(
            "DATABASE_URL",
            "postgresql://bench:s3cret@x/y?sslmode=require"
        )])
        .is_ok());
        let debug = format!("{:?}", config(&[URL]).unwrap());
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    /// The password the pool will log in with (percent-encoded).
    fn password(config: &Config) -> Option<String> {
        use sqlx::ConnectOptions;
        config.database.to_url_lossy().password().map(str::to_owned)
    }

    #[test]
    fn pgpassword_is_used_when_the_url_has_none() {
        let env = ("PGPASSWORD", "fromenv");
        for url in [
            "postgres://bench@db.example:5433/events?sslmode=require",
            "postgres://bench:@db.example/events",
            "postgresql://bench@db.example/events?application_name=x#frag",
        ] {
            let config = config(&[("DATABASE_URL", url), env]).unwrap();
            assert_eq!(password(&config).as_deref(), Some("fromenv"), "{url}");
            assert_eq!(config.database.get_username(), "bench");
            assert_eq!(config.database.get_host(), "db.example");
        }
        // A password in the URL wins, in the user info or as a parameter.
        for url in [
            "postgres://bench:fromurl@db.example/events",
            "postgres://bench@db.example/events?sslmode=disable&password=fromurl",
        ] {
            let config = config(&[("DATABASE_URL", url), env]).unwrap();
            assert_eq!(password(&config).as_deref(), Some("fromurl"), "{url}");
        }
        let debug = format!(
            "{:?}",
            config(&[("DATABASE_URL", "postgres://b@h/d"), env]).unwrap()
        );
        assert!(!debug.contains("fromenv"), "{debug}");
    }

    #[test]
    fn url_password_detection() {
        for url in [
            "postgres://u:p@h/d",
            "postgres://u%40x:p%3Aw@[::1]:5432/d",
            "postgres://u@h/d?password=p",
            "postgres://u@h/d?sslmode=require&password=p",
        ] {
            assert!(url_has_password(url), "{url}");
        }
        for url in [
            "postgres://u@h/d",
            "postgres://u:@h/d",
            "postgres://h:5432/d",
            "postgres://[::1]:5432/d",
            "postgres://u@h/d:x@y",
            "postgres://u@h/d?sslmode=require&passwords=p",
            "postgres://u@h/d#password=p",
        ] {
            assert!(!url_has_password(url), "{url}");
        }
    }

    /// What production relies on as well: sqlx's own URL parsing takes PGPASSWORD from the process
    /// environment when the URL has no password, and the URL's password wins over it.
    #[test]
    fn sqlx_reads_pgpassword_from_the_process_environment() {
        let previous = std::env::var_os("PGPASSWORD");
        std::env::set_var("PGPASSWORD", "processenv");
        let without = PgConnectOptions::from_str("postgres://bench@db/events");
        let with = PgConnectOptions::from_str("postgres://bench:fromurl@db/events");
        match previous {
            Some(value) => std::env::set_var("PGPASSWORD", value),
            None => std::env::remove_var("PGPASSWORD"),
        }
        use sqlx::ConnectOptions;
        assert_eq!(
            without.unwrap().to_url_lossy().password(),
            Some("processenv")
        );
        assert_eq!(with.unwrap().to_url_lossy().password(), Some("fromurl"));
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_name() {
        assert!(config(&[URL, ("PORT", "http")])
            .unwrap_err()
            .0
            .starts_with("PORT"));
        assert!(config(&[URL, ("PORT", "0")])
            .unwrap_err()
            .0
            .starts_with("PORT"));
        assert!(config(&[URL, ("DB_POOL_MAX", "0")])
            .unwrap_err()
            .0
            .starts_with("DB_POOL_MAX"));
        assert!(config(&[URL, ("MAX_BODY_BYTES", "-1")])
            .unwrap_err()
            .0
            .starts_with("MAX_BODY_BYTES"));
        assert!(config(&[URL, ("LOG_LEVEL", "trace")])
            .unwrap_err()
            .0
            .starts_with("LOG_LEVEL"));
        assert!(config(&[URL, ("BIND_ADDRESS", "localhost")])
            .unwrap_err()
            .0
            .starts_with("BIND_ADDRESS"));
        for bad in ["0", "-5", "1.5", "5s", "soon"] {
            assert!(
                config(&[URL, ("DB_ACQUIRE_TIMEOUT", bad)])
                    .unwrap_err()
                    .0
                    .starts_with("DB_ACQUIRE_TIMEOUT"),
                "{bad}"
            );
        }
    }

    const KEY: (&str, &str) = ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef");

    #[test]
    fn auth_enabled_is_a_switch() {
        for on in ["true", "TRUE", "True", "1", " true "] {
            let config = config(&[URL, ("AUTH_ENABLED", on), KEY]).unwrap();
            assert!(config.auth.is_some(), "{on:?}");
        }
        for off in ["false", "FALSE", "0", "", "  "] {
            let config = config(&[URL, ("AUTH_ENABLED", off)]).unwrap();
            assert!(config.auth.is_none(), "{off:?}");
        }
        for bad in ["yes", "on", "2", "enabled", "t"] {
            let err = config(&[URL, ("AUTH_ENABLED", bad), KEY]).unwrap_err();
            assert!(err.0.starts_with("AUTH_ENABLED"), "{bad:?}: {}", err.0);
        }
    }

    #[test]
    fn auth_needs_a_key_of_32_bytes() {
        let err = config(&[URL, ("AUTH_ENABLED", "true")]).unwrap_err();
        assert!(err.0.starts_with("JWT_SECRET_KEY"), "{}", err.0);
        let short = "k".repeat(31);
        let err = config(&[URL, ("AUTH_ENABLED", "1"), ("JWT_SECRET_KEY", &short)]).unwrap_err();
        assert!(err.0.starts_with("JWT_SECRET_KEY"), "{}", err.0);
        assert!(!err.0.contains(&short), "the key is never printed");
        // Bytes of the UTF-8 text: 16 two-byte characters are 32 bytes.
        let config = config(&[
            URL,
            ("AUTH_ENABLED", "1"),
            ("JWT_SECRET_KEY", &"é".repeat(16)),
            ("JWT_ISSUER", "perflab"),
            ("JWT_AUDIENCE", "events"),
        ])
        .unwrap();
        let auth = config.auth.as_ref().unwrap();
        assert_eq!(auth.key.as_deref(), Some("é".repeat(16).as_str()));
        assert_eq!(auth.issuer.as_deref(), Some("perflab"));
        assert_eq!(auth.audience.as_deref(), Some("events"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("éé"), "{debug}");
        // Off: the key is not looked at.
        assert!(config_ok(&[URL, ("JWT_SECRET_KEY", "short")]));
    }

    fn config_ok(vars: &[(&str, &str)]) -> bool {
        config(vars).is_ok()
    }

    #[test]
    fn with_a_secrets_store_the_key_comes_from_it() {
        let store = ("SECRETS_URL", "http://127.0.0.1:8099/");
        let with_store = config(&[URL, ("AUTH_ENABLED", "true"), store]).unwrap();
        assert_eq!(with_store.auth.unwrap().key, None);
        let secrets = with_store.secrets.unwrap();
        assert_eq!(secrets.url, "http://127.0.0.1:8099");
        assert_eq!(secrets.refresh_interval, Duration::from_millis(60_000));
        // The environment's key, even a short one, is not used then.
        let short_env_key = config(&[
            URL,
            ("AUTH_ENABLED", "true"),
            store,
            ("JWT_SECRET_KEY", "x"),
        ]);
        assert_eq!(short_env_key.unwrap().auth.unwrap().key, None);
    }

    #[test]
    fn secrets_settings_are_validated() {
        let secrets = config(&[
            URL,
            ("SECRETS_URL", "http://secrets:8080/base"),
            ("SECRETS_REFRESH_INTERVAL", "1500"),
        ])
        .unwrap()
        .secrets
        .unwrap();
        assert_eq!(secrets.url, "http://secrets:8080/base");
        assert_eq!(secrets.refresh_interval, Duration::from_millis(1500));
        for bad in [
            "secrets:8080",
            "ftp://x",
            "http://",
            "https://secrets",
            "http://x/?a=b",
        ] {
            let err = config(&[URL, ("SECRETS_URL", bad)]).unwrap_err();
            assert!(err.0.starts_with("SECRETS_URL"), "{bad}: {}", err.0);
        }
        for bad in ["0", "-1", "1m"] {
            let err = config(&[
                URL,
                ("SECRETS_URL", "http://s"),
                ("SECRETS_REFRESH_INTERVAL", bad),
            ])
            .unwrap_err();
            assert!(
                err.0.starts_with("SECRETS_REFRESH_INTERVAL"),
                "{bad}: {}",
                err.0
            );
        }
    }

    #[test]
    fn the_url_password_wins_over_the_stored_one_which_wins_over_pgpassword() {
        let stored = Some("fromstore");
        let config_of =
            |url: &str| config(&[("DATABASE_URL", url), ("PGPASSWORD", "fromenv")]).unwrap();
        let without = config_of("postgres://bench@db/events");
        assert_eq!(
            password_of(&without.connect_options(stored)).as_deref(),
            Some("fromstore")
        );
        assert_eq!(
            password_of(&without.connect_options(None)).as_deref(),
            Some("fromenv")
        );
        let with = config_of("postgres://bench:fromurl@db/events");
        assert_eq!(
            password_of(&with.connect_options(stored)).as_deref(),
            Some("fromurl")
        );
    }

    fn password_of(options: &PgConnectOptions) -> Option<String> {
        use sqlx::ConnectOptions;
        options.to_url_lossy().password().map(str::to_owned)
    }
}
