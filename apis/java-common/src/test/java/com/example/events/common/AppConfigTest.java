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
}
