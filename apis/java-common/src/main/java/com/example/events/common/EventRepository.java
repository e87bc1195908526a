package com.example.events.common;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import java.time.Duration;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Writes events with the contract's two statements, one transaction per event; never blocks. */
public final class EventRepository {

    /** S1, byte for byte as in the contract so pg_stat_statements groups it across APIs. */
    public static final String INSERT_EVENT = "INSERT INTO events (uuid, event_name, event_type, created_date, "
            + "saved_date, payload) VALUES ($1::uuid, $2, $3, $4::timestamptz, $5::timestamptz, $6::jsonb) "
            + "ON CONFLICT (uuid) DO NOTHING";
    /** S2, byte for byte as in the contract. */
    public static final String UPSERT_ENTITY = "INSERT INTO entities (entity_type, entity_id, data) "
            + "VALUES ($1, $2, $3::jsonb) ON CONFLICT (entity_type, entity_id) DO UPDATE SET "
            + "data = entities.data || EXCLUDED.data, updated_at = now()";
    public static final String PING = "SELECT 1";
    public static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(2);

    private final ConnectionFactory connections;

    public EventRepository(ConnectionFactory connections) {
        this.connections = connections;
    }

    /**
     * S1 once; when it inserted nothing the uuid is already stored and the transaction is rolled back.
     * Otherwise S2 once per entity in (entityType, entityId) order, then commit.
     *
     * <p>Once subscribed the transaction runs to its commit or rollback even if the subscriber cancels
     * (client disconnect, cancelled gRPC call, expired deadline): see {@link Uninterruptible}.
     */
    public Mono<StoreResult> store(ValidEvent event) {
        return Uninterruptible.of(transaction(event));
    }

    private Mono<StoreResult> transaction(ValidEvent event) {
        String payload = event.canonicalJson();
        return Mono.usingWhen(
                connections.create(),
                connection -> Mono.from(connection.beginTransaction())
                        .then(insertEvent(connection, event, payload))
                        .flatMap(inserted -> inserted == 0
                                ? Mono.from(connection.rollbackTransaction()).thenReturn(StoreResult.DUPLICATE)
                                : Flux.fromIterable(event.entitiesInLockOrder())
                                        .concatMap(entity -> upsertEntity(connection, entity))
                                        .then(Mono.from(connection.commitTransaction()))
                                        .thenReturn(StoreResult.STORED)),
                Connection::close,
                (connection, error) -> rollbackQuietly(connection).then(Mono.from(connection.close())),
                connection -> rollbackQuietly(connection).then(Mono.from(connection.close())));
    }

    /** Completes with {@code true} when {@code SELECT 1} answers within 2 s, {@code false} otherwise. */
    public Mono<Boolean> isHealthy() {
        return Mono.usingWhen(
                        connections.create(),
                        connection -> Flux.from(connection.createStatement(PING).execute())
                                .concatMap(result -> result.map((row, metadata) -> 1))
                                .then(Mono.just(true)),
                        Connection::close)
                .timeout(HEALTH_TIMEOUT)
                .onErrorReturn(false);
    }

    private static Mono<Long> insertEvent(Connection connection, ValidEvent event, String payload) {
        Statement statement = connection.createStatement(INSERT_EVENT)
                .bind(0, event.uuid())
                .bind(1, event.eventName())
                .bind(2, event.eventType());
        bindNullable(statement, 3, event.createdDate());
        bindNullable(statement, 4, event.savedDate());
        statement.bind(5, payload);
        return rowsUpdated(statement);
    }

    private static Mono<Long> upsertEntity(Connection connection, EntityUpdate entity) {
        Statement statement = connection.createStatement(UPSERT_ENTITY)
                .bind(0, entity.entityType())
                .bind(1, entity.entityId())
                .bind(2, Json.write(entity.attributes()));
        return rowsUpdated(statement);
    }

    private static void bindNullable(Statement statement, int index, String value) {
        if (value == null) {
            statement.bindNull(index, String.class);
        } else {
            statement.bind(index, value);
        }
    }

    private static Mono<Long> rowsUpdated(Statement statement) {
        return Flux.from(statement.execute())
                .concatMap(Result::getRowsUpdated)
                .reduce(0L, Long::sum);
    }

    private static Mono<Void> rollbackQuietly(Connection connection) {
        // The connection may already be broken; the pool discards it on close either way.
        return Mono.from(connection.rollbackTransaction()).onErrorResume(ignored -> Mono.empty());
    }
}
