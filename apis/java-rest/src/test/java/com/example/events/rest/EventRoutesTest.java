package com.example.events.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.example.events.common.AppConfig;
import com.example.events.common.EventRepository;
import com.example.events.common.ScriptedDatabase;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reactivestreams.Publisher;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;
import reactor.core.publisher.Mono;

/** The REST surface against a database that is down: every answer is the contract's JSON. */
class EventRoutesTest {

    private static final String EVENT = "{\"eventHeader\":{\"uuid\":\"550e8400-e29b-41d4-a716-446655440000\","
            + "\"eventName\":\"N\",\"eventType\":\"T\"},\"eventBody\":{\"entities\":[{\"entityType\":\"Car\","
            + "\"entityId\":\"c1\",\"updatedAttributes\":{}}]}}";

    private WebTestClient client;

    @BeforeEach
    void bindRoutes() {
        AppConfig config = AppConfig.fromEnvironment(
                Map.of("DATABASE_URL", "postgres://u@localhost/db", "MAX_BODY_BYTES", "1024"), 8080);
        EventHandler handler = new EventHandler(new EventRepository(new DownDatabase()), config);
        client = WebTestClient.bindToRouterFunction(new RestConfiguration().routes(handler, BearerAuthentication.NONE)).build();
    }

    @Test
    void validEventWithDatabaseDownIs503() {
        post("/api/v1/events", MediaType.APPLICATION_JSON, EVENT)
                .expectStatus().isEqualTo(503)
                .expectHeader().contentType(MediaType.APPLICATION_JSON)
                .expectBody().json("{\"error\":\"database unavailable\",\"status\":503}", true);
    }

    @Test
    void healthWithDatabaseDownIs503() {
        client.get().uri("/api/v1/events/health").exchange()
                .expectStatus().isEqualTo(503)
                .expectBody().json("{\"error\":\"database unavailable\",\"status\":503}", true);
    }

    @Test
    void wrongContentTypeIs415BeforeAnythingElse() {
        post("/api/v1/events", MediaType.TEXT_PLAIN, "x".repeat(5000))
                .expectStatus().isEqualTo(415)
                .expectBody().json("{\"error\":\"unsupported content type: use application/json\",\"status\":415}", true);
    }

    @Test
    void bodyOverMaxBodyBytesIs413() {
        post("/api/v1/events", MediaType.APPLICATION_JSON, "[" + "1,".repeat(600) + "1]")
                .expectStatus().isEqualTo(413)
                .expectBody().json("{\"error\":\"request body exceeds 1024 bytes\",\"status\":413}", true);
    }

    @Test
    void validationAndBulkShapeAre400() {
        post("/api/v1/events", MediaType.APPLICATION_JSON, "{\"eventHeader\": ")
                .expectStatus().isEqualTo(400)
                .expectBody().json("{\"error\":\"malformed JSON\",\"status\":400}", true);
        post("/api/v1/events/bulk", MediaType.APPLICATION_JSON, "[]")
                .expectStatus().isEqualTo(400)
                .expectBody().json("{\"error\":\"request body must be a JSON array of 1 to 1000 events\",\"status\":400}", true);
    }

    @Test
    void bodyNestingDeeperThan64LevelsIs400() {
        post("/api/v1/events", MediaType.APPLICATION_JSON, "[".repeat(500) + "]".repeat(500))
                .expectStatus().isEqualTo(400)
                .expectBody().json("{\"error\":\"request body nests deeper than 64 levels\",\"status\":400}", true);
        post("/api/v1/events/bulk", MediaType.APPLICATION_JSON, "[".repeat(65) + "]".repeat(65))
                .expectStatus().isEqualTo(400)
                .expectBody().json("{\"error\":\"request body nests deeper than 64 levels\",\"status\":400}", true);
    }

    @Test
    void aValueTheDatabaseCannotStoreIs400AndFailsOnlyItsBatchItem() {
        AppConfig config = AppConfig.fromEnvironment(Map.of("DATABASE_URL", "postgres://u@localhost/db"), 8080);
        ConnectionFactory rejecting = new DownDatabase(
                new R2dbcNonTransientResourceException("numeric field overflow", "22003"));
        WebTestClient rejectingClient = WebTestClient.bindToRouterFunction(new RestConfiguration()
                .routes(new EventHandler(new EventRepository(rejecting), config), BearerAuthentication.NONE)).build();
        rejectingClient.post().uri("/api/v1/events").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(EVENT.getBytes()).exchange()
                .expectStatus().isEqualTo(400)
                .expectBody().json("{\"error\":\"event contains a value the database cannot store\",\"status\":400}", true);
        rejectingClient.post().uri("/api/v1/events/bulk").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(("[" + EVENT + ",{}]").getBytes()).exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.failedCount").isEqualTo(2)
                .jsonPath("$.errors[0].error").isEqualTo("event contains a value the database cannot store")
                .jsonPath("$.errors[0].status").isEqualTo(400)
                .jsonPath("$.errors[1].error").isEqualTo("eventHeader must be an object");
    }

    /**
     * A number no BigDecimal holds (exponent beyond 32 bits) is a valid event's value like any other: its exact
     * text reaches the database, which refuses it (here: refuses any statement binding that text), so the
     * answer is the database's 400, and in a batch only its item fails.
     */
    @ParameterizedTest
    @ValueSource(strings = {"1e2147483648", "0.1e-99999999999", "-1E+99999999999", "-9.99e-2147483649"})
    void aNumberBeyondBigDecimalReachesTheDatabaseAndOnlyItsItemFails(String number) {
        ScriptedDatabase database = ScriptedDatabase.refusing("\"n\":" + number + "}");
        AppConfig config = AppConfig.fromEnvironment(Map.of("DATABASE_URL", "postgres://u@localhost/db"), 8080);
        WebTestClient refusingClient = WebTestClient.bindToRouterFunction(new RestConfiguration()
                .routes(new EventHandler(new EventRepository(database), config), BearerAuthentication.NONE)).build();
        String withNumber = EVENT.replace("\"updatedAttributes\":{}", "\"updatedAttributes\":{\"n\":" + number + "}");
        refusingClient.post().uri("/api/v1/events").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(withNumber.getBytes()).exchange()
                .expectStatus().isEqualTo(400)
                .expectBody().json("{\"error\":\"event contains a value the database cannot store\",\"status\":400}", true);
        // validation still comes first
        refusingClient.post().uri("/api/v1/events").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(withNumber.replace("\"eventName\":\"N\"", "\"eventName\":\"\"").getBytes()).exchange()
                .expectStatus().isEqualTo(400)
                .expectBody().jsonPath("$.error").isEqualTo("eventHeader.eventName must be a non-empty string");
        String other = EVENT.replace("550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440001");
        refusingClient.post().uri("/api/v1/events/bulk").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(("[" + withNumber + "," + other + "]").getBytes()).exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.success").isEqualTo(false)
                .jsonPath("$.processedCount").isEqualTo(1)
                .jsonPath("$.failedCount").isEqualTo(1)
                .jsonPath("$.errors[0].index").isEqualTo(0)
                .jsonPath("$.errors[0].error").isEqualTo("event contains a value the database cannot store")
                .jsonPath("$.errors[0].status").isEqualTo(400);
        assertThat(database.commits).hasValue(1);
    }

    @Test
    void bulkWithOnlyInvalidItemsNeedsNoDatabase() {
        post("/api/v1/events/bulk", MediaType.APPLICATION_JSON, "[{},5]")
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.success").isEqualTo(false)
                .jsonPath("$.failedCount").isEqualTo(2)
                .jsonPath("$.processedCount").isEqualTo(0)
                .jsonPath("$.errors[0].error").isEqualTo("eventHeader must be an object")
                .jsonPath("$.errors[1].error").isEqualTo("request body must be a JSON object");
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() {
        client.get().uri("/api/v1/nothing").exchange()
                .expectStatus().isNotFound()
                .expectBody().json("{\"error\":\"not found\",\"status\":404}", true);
        client.get().uri("/api/v1/events").exchange()
                .expectStatus().isEqualTo(405)
                .expectHeader().valueEquals("Allow", "POST")
                .expectBody().json("{\"error\":\"method not allowed\",\"status\":405}", true);
        client.delete().uri("/api/v1/events/health").exchange().expectStatus().isEqualTo(405);
    }

    private WebTestClient.ResponseSpec post(String path, MediaType type, String body) {
        return client.post().uri(path).contentType(type).bodyValue(body.getBytes()).exchange();
    }

    @Test
    void aNumberLongerThan100CharactersIsRejectedAnywhereInTheBody() {
        String ok = "-" + "1".repeat(97) + ".5";
        String tooLong = "-" + "1".repeat(98) + ".5";
        String withNumber = EVENT.replace("\"updatedAttributes\":{}", "\"updatedAttributes\":{\"n\":NUMBER}");
        // 100 characters: valid, so it reaches the (down) database
        post("/api/v1/events", MediaType.APPLICATION_JSON, withNumber.replace("NUMBER", ok))
                .expectStatus().isEqualTo(503);
        post("/api/v1/events", MediaType.APPLICATION_JSON, withNumber.replace("NUMBER", tooLong))
                .expectStatus().isEqualTo(400)
                .expectBody().json("{\"error\":\"event contains a number longer than 100 characters\",\"status\":400}", true);
        post("/api/v1/events", MediaType.APPLICATION_JSON, "{\"junk\":" + "9".repeat(1000) + "}")
                .expectStatus().isEqualTo(400)
                .expectBody().jsonPath("$.error").isEqualTo("event contains a number longer than 100 characters");
        // in a batch the whole request is rejected, not just its item
        post("/api/v1/events/bulk", MediaType.APPLICATION_JSON, "[{}," + withNumber.replace("NUMBER", tooLong) + "]")
                .expectStatus().isEqualTo(400)
                .expectBody().json("{\"error\":\"event contains a number longer than 100 characters\",\"status\":400}", true);
    }

    /** A connection factory whose database refuses every connection. */
    private static final class DownDatabase implements ConnectionFactory {
        private final RuntimeException failure;

        DownDatabase() {
            this(new R2dbcNonTransientResourceException("Connection refused"));
        }

        DownDatabase(RuntimeException failure) {
            this.failure = failure;
        }

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.error(failure);
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "down";
        }
    }

}
