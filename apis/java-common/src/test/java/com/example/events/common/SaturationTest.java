package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.PoolMetrics;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** contract/CONTRACT.md, "Saturation": bounded waits for a connection, and writes no client can interrupt. */
class SaturationTest {

    static final Duration ACQUIRE_TIMEOUT = Duration.ofMillis(400);

    static AppConfig config(int poolMax) {
        return AppConfig.fromEnvironment(Map.of("DATABASE_URL", "postgres://u@localhost/db",
                "DB_POOL_MAX", Integer.toString(poolMax),
                "DB_ACQUIRE_TIMEOUT", Long.toString(ACQUIRE_TIMEOUT.toMillis())), 8080);
    }

    static ValidEvent event() {
        return EventValidator.validate(Json.parse(EventValidatorTest.event(EventValidatorTest.GOOD_HEADER,
                "[" + EventValidatorTest.GOOD_ENTITY + "]").getBytes(StandardCharsets.UTF_8)));
    }

    /** The outcome of one acquire: how long it took and whether it got a connection. */
    record Outcome(long millis, Connection connection, Throwable failure) {
    }

    static Mono<Outcome> timedAcquire(ConnectionPool pool) {
        return Mono.defer(() -> {
            long started = System.nanoTime();
            return Mono.from(pool.create())
                    .map(connection -> new Outcome(elapsedMs(started), connection, null))
                    .onErrorResume(failure -> Mono.just(new Outcome(elapsedMs(started), null, failure)));
        });
    }

    static long elapsedMs(long startedNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
    }

    /** The pool's idle connections, once there is one (or after 5 s). */
    static int awaitIdle(ConnectionPool pool) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        int idle = 0;
        while ((idle = pool.getMetrics().map(PoolMetrics::idleSize).orElse(0)) < 1 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return idle;
    }

    private final List<ConnectionPool> pools = new ArrayList<>();

    /** A pool of {@code poolMax} connections over {@code database}, disposed when the test ends. */
    private ConnectionPool pool(int poolMax, ConnectionFactory database) {
        ConnectionPool pool = ConnectionPools.create(config(poolMax), database);
        pools.add(pool);
        return pool;
    }

    @AfterEach
    void disposePools() {
        pools.forEach(ConnectionPool::dispose);
    }

    @Test
    void requestsBeyondThePoolWaitTheAcquireTimeoutThenFailAsUnavailable() {
        ConnectionPool pool = pool(1, new ScriptedDatabase());
        Connection held = Mono.from(pool.create()).block(Duration.ofSeconds(5));
        assertThat(held).isNotNull();
        // Far more waiters than the pool: none may be refused early for their number.
        List<Outcome> outcomes = Flux.range(0, 300).flatMap(i -> timedAcquire(pool), 300)
                .collectList().block(Duration.ofSeconds(10));
        assertThat(outcomes).hasSize(300).allSatisfy(outcome -> {
            assertThat(outcome.connection()).isNull();
            assertThat(DatabaseErrors.isUnavailable(outcome.failure())).as("%s", outcome.failure()).isTrue();
            assertThat(outcome.millis()).isBetween(ACQUIRE_TIMEOUT.toMillis() - 20, 3_000L);
        });
        Mono.from(held.close()).block(Duration.ofSeconds(5));
    }

    @Test
    void aWaiterGetsTheConnectionReleasedBeforeItsTimeout() {
        ConnectionPool pool = pool(1, new ScriptedDatabase());
        Connection held = Mono.from(pool.create()).block(Duration.ofSeconds(5));
        Mono<Outcome> waiter = timedAcquire(pool).cache();
        waiter.subscribe();
        Mono.delay(Duration.ofMillis(100)).then(Mono.from(held.close())).block(Duration.ofSeconds(5));
        Outcome outcome = waiter.block(Duration.ofSeconds(5));
        assertThat(outcome.failure()).isNull();
        assertThat(outcome.millis()).isLessThan(ACQUIRE_TIMEOUT.toMillis());
        Mono.from(outcome.connection().close()).block(Duration.ofSeconds(5));
    }

    @Test
    void openingANewConnectionCountsAgainstTheTimeoutToo() throws InterruptedException {
        ScriptedDatabase slow = new ScriptedDatabase(Duration.ofSeconds(3), Duration.ZERO);
        ConnectionPool pool = pool(5, slow);
        Outcome outcome = timedAcquire(pool).block(Duration.ofSeconds(5));
        assertThat(DatabaseErrors.isUnavailable(outcome.failure())).as("%s", outcome.failure()).isTrue();
        assertThat(outcome.millis()).isBetween(ACQUIRE_TIMEOUT.toMillis() - 20, 2_000L);
        // The slow connection is still opened, and serves the requests after it at once: once the pool has
        // filed it as idle (the factory's emission and the pool's bookkeeping are two steps; on a busy host
        // the acquire below could otherwise slip between them and start a second 3 s opening).
        assertThat(slow.awaitOpened(1)).isPositive();
        assertThat(awaitIdle(pool)).isPositive();
        Outcome next = timedAcquire(pool).block(Duration.ofSeconds(5));
        assertThat(next.failure()).isNull();
        assertThat(next.millis()).isLessThan(ACQUIRE_TIMEOUT.toMillis());
        Mono.from(next.connection().close()).block(Duration.ofSeconds(5));
    }

    @Test
    void connectionsClosedByADatabaseRestartAreReplacedNotHandedOut() {
        ScriptedDatabase database = new ScriptedDatabase();
        ConnectionPool pool = pool(5, database);
        List<Connection> all = Flux.range(0, 5).flatMap(i -> pool.create()).collectList().block(Duration.ofSeconds(5));
        Flux.fromIterable(all).flatMap(Connection::close).blockLast(Duration.ofSeconds(5));
        assertThat(database.opened.get()).isEqualTo(5);
        database.restart();
        // every request after the restart gets a live connection: none fails on a dead one
        for (int i = 0; i < 5; i++) {
            assertThat(new EventRepository(pool).store(event()).block(Duration.ofSeconds(5)))
                    .isEqualTo(StoreResult.STORED);
        }
        // new connections: the one the requests share, and the pool's warm minimum of 2
        assertThat(database.opened.get()).isBetween(6, 7);
    }

    @Test
    void aWarmUpThatFailsDoesNotShrinkThePool() throws InterruptedException {
        ScriptedDatabase database = new ScriptedDatabase();
        AtomicInteger refusals = new AtomicInteger(1);
        ConnectionFactory firstRefused = new ConnectionFactory() {
            @Override
            public Publisher<? extends Connection> create() {
                // r2dbc-pool asks once and subscribes again for each connection: decide per subscription
                return Mono.defer(() -> refusals.getAndDecrement() > 0
                        ? Mono.error(new R2dbcNonTransientResourceException("Connection refused"))
                        : Mono.from(database.create()));
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return database.getMetadata();
            }
        };
        ConnectionPool pool = pool(3, firstRefused);
        ConnectionPools.warmUpInBackground(pool);
        Thread.sleep(200);
        List<Outcome> all = Flux.range(0, 3).flatMap(i -> timedAcquire(pool)).collectList()
                .block(Duration.ofSeconds(5));
        assertThat(all).allSatisfy(outcome -> assertThat(outcome.failure()).isNull());
        Flux.fromIterable(all).flatMap(outcome -> outcome.connection().close()).blockLast(Duration.ofSeconds(5));
    }

    @Test
    void aSaturatedPoolAnswersTheWriteAsUnavailableAndWritesNothing() {
        ScriptedDatabase database = new ScriptedDatabase();
        ConnectionPool pool = pool(1, database);
        Connection held = Mono.from(pool.create()).block(Duration.ofSeconds(5));
        Throwable failure = catchThrowable(() -> new EventRepository(pool).store(event()).block(Duration.ofSeconds(5)));
        assertThat(DatabaseErrors.isUnavailable(failure)).as("%s", failure).isTrue();
        assertThat(database.statements).isEmpty();
        Mono.from(held.close()).block(Duration.ofSeconds(5));
    }

    @Test
    void aCancelledSubscriberDoesNotInterruptTheTransaction() throws InterruptedException {
        ScriptedDatabase database = new ScriptedDatabase(Duration.ZERO, Duration.ofMillis(300));
        EventRepository repository = new EventRepository(database);
        Disposable write = repository.store(event()).subscribe();
        Thread.sleep(100); // the statements ran; the commit is under way
        write.dispose(); // the client went away
        assertThat(database.awaitCommits(1)).isEqualTo(1);
        assertThat(database.rollbacks.get()).isZero();
        assertThat(database.statements).containsExactly(EventRepository.INSERT_EVENT, EventRepository.UPSERT_ENTITY);
    }
}
