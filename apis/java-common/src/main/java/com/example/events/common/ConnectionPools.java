package com.example.events.common;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.postgresql.client.SSLMode;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ValidationDepth;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * Builds the one R2DBC pool of an API from the environment contract.
 *
 * <p>Saturation (contract/CONTRACT.md, "Saturation"): a request waits at most {@code DB_ACQUIRE_TIMEOUT} for
 * a connection, whether a free pooled one or a new one the pool opens for it, and then fails as "database
 * unavailable". Requests beyond {@code DB_POOL_MAX} queue without a bound on their number, so none is
 * refused before its timeout.
 */
public final class ConnectionPools {

    private static final Logger log = LoggerFactory.getLogger(ConnectionPools.class);
    /** A small warm start; the pool grows on demand up to DB_POOL_MAX. */
    static final int INITIAL_SIZE = 2;
    /** The least time a new connection is given to open (TCP, TLS negotiation, authentication). */
    static final Duration MIN_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** r2dbc-pool's default, kept in the eviction predicate below. */
    static final Duration MAX_IDLE_TIME = Duration.ofMinutes(30);

    private ConnectionPools() {
    }

    /**
     * @param password the database password for each new connection, asked for when the connection is opened
     *                 (so a refreshed secret is used by the connections opened after it); {@code null} for
     *                 none
     */
    public static ConnectionPool create(AppConfig config, Supplier<String> password) {
        DatabaseUrl url = config.database();
        PostgresqlConnectionConfiguration.Builder connection = PostgresqlConnectionConfiguration.builder()
                .host(url.host())
                .port(url.port())
                .database(url.database())
                .username(url.user())
                .applicationName("java-api")
                .connectTimeout(connectTimeout(config))
                .sslMode(sslMode(url.sslMode()));
        if (password != null) {
            connection.password(password::get);
        }
        return create(config, new PostgresqlConnectionFactory(connection.build()));
    }

    /**
     * Opens the pool's first connections in the background at start-up, so that the first requests do not
     * pay for a cold JVM's first connection (class loading, TLS negotiation) within their acquire timeout.
     * It is one ordinary acquire and release, which makes reactor-pool open its minimum of connections
     * (not {@code ConnectionPool.warmup()}: when one of its parallel openings fails it cancels the others and
     * loses their permits, shrinking the pool for good). A database that is down at start-up is no error:
     * connections are opened on demand later.
     */
    public static void warmUpInBackground(ConnectionPool pool) {
        Mono.from(pool.create())
                .flatMap(connection -> Mono.from(connection.close()))
                .subscribe(
                        ignored -> {
                        },
                        failure -> log.debug("connection pool warm-up failed; connections open on demand", failure),
                        () -> log.debug("connection pool warmed up"));
    }

    /** The pool around any connection factory (tests use a scripted one). */
    public static ConnectionPool create(AppConfig config, ConnectionFactory connections) {
        Duration acquireTimeout = config.dbAcquireTimeout();
        ConnectionPoolConfiguration pool = ConnectionPoolConfiguration.builder(connections)
                .name("events")
                .initialSize(Math.min(INITIAL_SIZE, config.poolMax()))
                .maxSize(config.poolMax())
                // The request's whole wait: queueing for a free connection, or one being opened for it, and
                // validating it.
                .maxAcquireTime(acquireTimeout)
                // Opening a connection is bounded on its own: one that takes longer than the request that
                // asked for it was willing to wait still joins the pool, for the requests after it.
                .maxCreateConnectionTime(connectTimeout(config))
                // No second acquire after a failed one: it would wait DB_ACQUIRE_TIMEOUT again. A stale
                // connection found on acquire is dropped, and its request answered 503.
                .acquireRetry(0)
                .maxIdleTime(MAX_IDLE_TIME)
                // A connection that died between its acquire check and its use still fails its request.
                .validationDepth(ValidationDepth.LOCAL)
                .customizer(builder -> builder
                        // reactor-pool's default already, stated because the contract depends on it: pending
                        // acquires are never refused for their number, only timed out.
                        .maxPendingAcquireUnbounded()
                        // Replaces r2dbc-pool's predicate (idle time only). reactor-pool tests it on every idle
                        // connection before handing it out, so after a database restart the dead ones are
                        // dropped and new ones opened, instead of failing one request each.
                        .evictionPredicate((connection, metadata) ->
                                metadata.idleTime() >= MAX_IDLE_TIME.toMillis() || !isOpen(connection)))
                .build();
        return new ConnectionPool(pool);
    }

    static Duration connectTimeout(AppConfig config) {
        return config.dbAcquireTimeout().compareTo(MIN_CONNECT_TIMEOUT) > 0 ? config.dbAcquireTimeout() : MIN_CONNECT_TIMEOUT;
    }

    /**
     * Whether the connection's socket is still open: r2dbc-postgresql answers a LOCAL validation from its
     * channel state, synchronously. A driver that could not answer at once is given the benefit of the
     * doubt; the acquire's own validation still checks it.
     */
    static boolean isOpen(Connection connection) {
        return Mono.from(connection.validate(ValidationDepth.LOCAL)).toFuture().getNow(Boolean.TRUE);
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
