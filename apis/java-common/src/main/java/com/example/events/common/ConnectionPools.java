package com.example.events.common;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.postgresql.client.SSLMode;
import io.r2dbc.spi.ValidationDepth;
import java.time.Duration;
import java.util.Locale;

/** Builds the one R2DBC pool of an API from the environment contract. */
public final class ConnectionPools {

    /** A small warm start; the pool grows on demand up to DB_POOL_MAX. */
    static final int INITIAL_SIZE = 2;
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Generous, so that a saturated pool queues requests instead of failing them. */
    static final Duration MAX_ACQUIRE_TIME = Duration.ofSeconds(30);

    private ConnectionPools() {
    }

    public static ConnectionPool create(AppConfig config) {
        DatabaseUrl url = config.database();
        PostgresqlConnectionConfiguration.Builder connection = PostgresqlConnectionConfiguration.builder()
                .host(url.host())
                .port(url.port())
                .database(url.database())
                .username(url.user())
                .applicationName("java-api")
                .connectTimeout(CONNECT_TIMEOUT)
                .sslMode(sslMode(url.sslMode()));
        if (url.password() != null) {
            connection.password(url.password());
        }
        ConnectionPoolConfiguration pool = ConnectionPoolConfiguration
                .builder(new PostgresqlConnectionFactory(connection.build()))
                .name("events")
                .initialSize(Math.min(INITIAL_SIZE, config.poolMax()))
                .maxSize(config.poolMax())
                .maxAcquireTime(MAX_ACQUIRE_TIME)
                .maxCreateConnectionTime(CONNECT_TIMEOUT)
                // A connection the server closed (restart, failover) is dropped on acquire, not handed out.
                .validationDepth(ValidationDepth.LOCAL)
                .build();
        return new ConnectionPool(pool);
    }

    static SSLMode sslMode(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "disable" -> SSLMode.DISABLE;
            case "allow" -> SSLMode.ALLOW;
            case "prefer" -> SSLMode.PREFER;
            case "require" -> SSLMode.REQUIRE;
            case "verify-ca" -> SSLMode.VERIFY_CA;
            case "verify-full" -> SSLMode.VERIFY_FULL;
            default -> throw new ConfigException("DATABASE_URL sslmode must be one of disable, allow, prefer, "
                    + "require, verify-ca, verify-full");
        };
    }
}
