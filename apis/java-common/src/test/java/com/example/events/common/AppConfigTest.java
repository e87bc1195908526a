package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AppConfigTest {

    @Test
    void defaultsFromTheEnvironmentContract() {
        AppConfig config = AppConfig.fromEnvironment(Map.of("DATABASE_URL", "postgres://bench:bench@db:5432/events"), 8080);
        assertThat(config.port()).isEqualTo(8080);
        assertThat(config.bindAddress()).isEqualTo("0.0.0.0");
        assertThat(config.poolMax()).isEqualTo(20);
        assertThat(config.maxBodyBytes()).isEqualTo(1_048_576);
        assertThat(config.logLevel()).isEqualTo("warn");
    }

    @Test
    void readsEverySetting() {
        AppConfig config = AppConfig.fromEnvironment(Map.of(
                "DATABASE_URL", "postgresql://u%40x:p%3Aw+d@[::1]:6543/ev%20db?sslmode=disable",
                "PORT", "9091", "BIND_ADDRESS", "127.0.0.1", "DB_POOL_MAX", "7",
                "LOG_LEVEL", "DEBUG", "MAX_BODY_BYTES", "2048"), 9090);
        assertThat(config.database()).isEqualTo(new DatabaseUrl("::1", 6543, "ev db", "u@x", "p:w+d", "disable"));
        assertThat(config.port()).isEqualTo(9091);
        assertThat(config.bindAddress()).isEqualTo("127.0.0.1");
        assertThat(config.poolMax()).isEqualTo(7);
        assertThat(config.logLevel()).isEqualTo("debug");
        assertThat(config.maxBodyBytes()).isEqualTo(2048);
    }

    @Test
    void databaseUrlNeverShowsItsPassword() {
        DatabaseUrl url = DatabaseUrl.parse("postgres://bench:s3cret@db/events");
        assertThat(url.toString()).doesNotContain("s3cret").contains("bench@db:5432/events");
        assertThat(url.sslMode()).isEqualTo("prefer");
    }

    @Test
    void passwordFromPgpasswordWhenTheUrlHasNone() {
        AppConfig config = AppConfig.fromEnvironment(Map.of(
                "DATABASE_URL", "postgres://bench@db.example:5432/events?sslmode=require",
                "PGPASSWORD", "from-env p@ss:/"), 8080);
        assertThat(config.database())
                .isEqualTo(new DatabaseUrl("db.example", 5432, "events", "bench", "from-env p@ss:/", "require"));
        assertThat(config.database().toString()).doesNotContain("from-env");
        assertThat(password("postgres://bench:@db/events", "from-env")).isEqualTo("from-env");
        // A password in the URL wins.
        assertThat(password("postgres://bench:from-url@db/events", "from-env")).isEqualTo("from-url");
        // Neither: no password (the server may ask for none).
        assertThat(password("postgres://bench@db/events", null)).isNull();
        assertThat(password("postgres://bench@db/events", "")).isNull();
    }

    private static String password(String url, String pgPassword) {
        Map<String, String> env = new HashMap<>(Map.of("DATABASE_URL", url));
        env.put("PGPASSWORD", pgPassword);
        return AppConfig.fromEnvironment(env, 8080).database().password();
    }

    @Test
    void rejectsBadSettingsWithoutLeakingThePassword() {
        assertThatThrownBy(() -> AppConfig.fromEnvironment(Map.of(), 8080)).hasMessage("DATABASE_URL is required");
        assertThatThrownBy(() -> DatabaseUrl.parse("mysql://u:s3cret@h/db")).hasMessageNotContaining("s3cret");
        assertThatThrownBy(() -> AppConfig.fromEnvironment(
                Map.of("DATABASE_URL", "postgres://u@h/db", "DB_POOL_MAX", "0"), 8080))
                .hasMessage("DB_POOL_MAX must be an integer from 1 to 10000");
        assertThatThrownBy(() -> AppConfig.fromEnvironment(
                Map.of("DATABASE_URL", "postgres://u@h/db", "LOG_LEVEL", "trace"), 8080))
                .isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> ConnectionPools.sslMode("sometimes")).isInstanceOf(ConfigException.class);
    }

    private static final String DB = "postgres://u@h/db";
    private static final String KEY = "0123456789abcdef0123456789abcdef"; // 32 bytes

    private static AppConfig withSettings(String... keyValues) {
        Map<String, String> env = new HashMap<>(Map.of("DATABASE_URL", DB));
        for (int i = 0; i < keyValues.length; i += 2) {
            env.put(keyValues[i], keyValues[i + 1]);
        }
        return AppConfig.fromEnvironment(env, 8080);
    }

    @Test
    void saturationAuthAndSecretsDefaults() {
        AppConfig config = withSettings();
        assertThat(config.dbAcquireTimeout()).isEqualTo(java.time.Duration.ofMillis(5000));
        assertThat(config.auth().enabled()).isFalse();
        assertThat(config.secrets()).isNull();
        assertThat(withSettings("DB_ACQUIRE_TIMEOUT", "250").dbAcquireTimeout().toMillis()).isEqualTo(250);
    }

    @Test
    void authEnabledAcceptsTheContractsSpellingsInAnyCase() {
        for (String on : new String[] {"true", "TRUE", "True", "1", " true "}) {
            assertThat(withSettings("AUTH_ENABLED", on, "JWT_SECRET_KEY", KEY).auth().enabled()).as(on).isTrue();
        }
        for (String off : new String[] {"false", "FALSE", "0", "", "  "}) {
            assertThat(withSettings("AUTH_ENABLED", off).auth().enabled()).as(off).isFalse();
        }
        AppConfig config = withSettings("AUTH_ENABLED", "true", "JWT_SECRET_KEY", KEY,
                "JWT_ISSUER", "perflab", "JWT_AUDIENCE", "events");
        assertThat(config.auth()).isEqualTo(new AppConfig.Auth(true, KEY, "perflab", "events"));
        assertThat(config.toString()).doesNotContain(KEY).contains("perflab");
    }

    @Test
    void theKeyComesFromTheStoreWhenSecretsUrlIsSet() {
        AppConfig config = withSettings("AUTH_ENABLED", "1", "SECRETS_URL", "http://127.0.0.1:8200",
                "SECRETS_REFRESH_INTERVAL", "1500");
        assertThat(config.auth().enabled()).isTrue();
        assertThat(config.auth().secretKey()).isNull();
        assertThat(config.secrets()).isEqualTo(new AppConfig.SecretsStore(
                java.net.URI.create("http://127.0.0.1:8200"), java.time.Duration.ofMillis(1500)));
        assertThat(withSettings("SECRETS_URL", "https://store").secrets().refreshInterval().toMillis())
                .isEqualTo(60_000);
    }

    @Test
    void settingsOutOfRangeNameTheirVariable() {
        for (String bad : new String[] {"0", "-5", "1.5", "5s", "abc", "99999999999"}) {
            assertThatThrownBy(() -> withSettings("DB_ACQUIRE_TIMEOUT", bad)).as(bad)
                    .isInstanceOf(ConfigException.class).hasMessageStartingWith("DB_ACQUIRE_TIMEOUT ");
        }
        for (String bad : new String[] {"yes", "on", "2", "enabled"}) {
            assertThatThrownBy(() -> withSettings("AUTH_ENABLED", bad)).as(bad)
                    .isInstanceOf(ConfigException.class).hasMessageStartingWith("AUTH_ENABLED ");
        }
        assertThatThrownBy(() -> withSettings("AUTH_ENABLED", "true"))
                .hasMessage("JWT_SECRET_KEY is required when AUTH_ENABLED is on");
        assertThatThrownBy(() -> withSettings("AUTH_ENABLED", "true", "JWT_SECRET_KEY", KEY.substring(1)))
                .isInstanceOf(ConfigException.class)
                .hasMessage("JWT_SECRET_KEY must be at least 32 bytes")
                .hasMessageNotContaining(KEY.substring(1));
        // 17 characters, 33 bytes of UTF-8: the bytes count
        assertThat(withSettings("AUTH_ENABLED", "1", "JWT_SECRET_KEY", "ü".repeat(16) + "x").auth().enabled()).isTrue();
        // a short key does not matter while auth is off
        assertThat(withSettings("JWT_SECRET_KEY", "short").auth().enabled()).isFalse();
        assertThatThrownBy(() -> withSettings("SECRETS_URL", "ftp://store")).hasMessageStartingWith("SECRETS_URL ");
        assertThatThrownBy(() -> withSettings("SECRETS_URL", "not a url")).hasMessageStartingWith("SECRETS_URL ");
        assertThatThrownBy(() -> withSettings("SECRETS_URL", "http://store", "SECRETS_REFRESH_INTERVAL", "0"))
                .hasMessageStartingWith("SECRETS_REFRESH_INTERVAL ");
    }
}
