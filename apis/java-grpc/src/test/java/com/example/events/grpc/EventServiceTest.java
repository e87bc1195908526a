package com.example.events.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.example.events.common.EventRepository;
import com.example.events.common.Json;
import com.example.events.common.Messages;
import com.example.events.common.ScriptedDatabase;
import com.example.grpc.EntityUpdate;
import com.example.grpc.EventBody;
import com.example.grpc.EventHeader;
import com.example.grpc.EventRequest;
import com.example.grpc.EventServiceGrpc;
import com.example.grpc.HealthRequest;
import com.example.grpc.HealthResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EventServiceTest {

    private Server server;
    private ManagedChannel channel;
    private EventServiceGrpc.EventServiceBlockingStub events;
    private HealthGrpc.HealthBlockingStub health;

    @BeforeEach
    void startServerWithDatabaseDown() throws Exception {
        String name = InProcessServerBuilder.generateName();
        EventRepository repository = new EventRepository(new UnreachableDatabase());
        server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(new EventServiceImpl(repository))
                .addService(new DatabaseHealthService(repository))
                .build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        events = EventServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
    }

    static EventRequest.Builder validRequest() {
        return EventRequest.newBuilder()
                .setEventHeader(EventHeader.newBuilder().setUuid("550e8400-e29b-41d4-a716-446655440000")
                        .setEventName("CarCreated").setEventType("CarCreated"))
                .setEventBody(EventBody.newBuilder().addEntities(EntityUpdate.newBuilder()
                        .setEntityType("Car").setEntityId("car-1").putUpdatedAttributes("mileage", "10")));
    }

    @Test
    void unsetHeaderAndBodyAreAnsweredLikeMissingObjects() {
        assertInvalid(validRequest().clearEventHeader().build(), "eventHeader must be an object");
        assertInvalid(validRequest().clearEventBody().build(), "eventBody must be an object");
        assertInvalid(validRequest().setEventBody(EventBody.getDefaultInstance()).build(),
                "eventBody.entities must be an array of 1 to 100 entities");
        assertInvalid(validRequest().setEventHeader(validRequest().getEventHeader().toBuilder().setUuid("")).build(),
                "eventHeader.uuid must be a UUID");
    }

    @Test
    void attributeValuesNestingDeeperThan59LevelsAreTooDeep() {
        String deep = "{\"a\":".repeat(60) + "1" + "}".repeat(60);
        EntityUpdate entity = validRequest().getEventBody().getEntities(0);
        assertInvalid(withEntities(entity.toBuilder().putUpdatedAttributes("d", deep).build()),
                "event nests deeper than 64 levels");
        assertInvalid(withEntities(entity.toBuilder()
                        .putUpdatedAttributes("d", "[".repeat(100_000) + "]".repeat(100_000)).build()),
                "event nests deeper than 64 levels");
        // the contract's order: every entity rule, then NUL, then the nesting of attribute values
        assertInvalid(withEntities(entity.toBuilder().putUpdatedAttributes("d", deep).build(),
                entity.toBuilder().setEntityType("1Car").build()), Messages.entityTypeInvalid(1));
        assertInvalid(withEntities(entity.toBuilder().putUpdatedAttributes("d", deep).setEntityId("a\0").build()),
                Messages.NUL_CHARACTER);
        assertInvalid(withEntities(entity.toBuilder()
                        .putUpdatedAttributes("d", "[".repeat(70) + "\"\\u0000\"" + "]".repeat(70)).build()),
                Messages.NUL_CHARACTER);
    }

    @Test
    void attributeValueOf59LevelsIsValid() {
        String deepest = "{\"a\":".repeat(59) + "1" + "}".repeat(59);
        EventRequest request = withEntities(validRequest().getEventBody().getEntities(0).toBuilder()
                .putUpdatedAttributes("d", deepest).build());
        assertThat(Json.write(ProtoEvents.validate(request).entities().get(0).attributes().get("d")))
                .isEqualTo(deepest);
    }

    @Test
    void attributeValuesWithANumberLongerThan100CharactersAreRejected() {
        EntityUpdate entity = validRequest().getEventBody().getEntities(0);
        String longest = "-" + "1".repeat(97) + ".5";
        String tooLong = "-" + "1".repeat(98) + ".5";
        assertInvalid(withEntities(entity.toBuilder().putUpdatedAttributes("n", tooLong).build()),
                Messages.NUMBER_TOO_LONG);
        assertInvalid(withEntities(entity.toBuilder().putUpdatedAttributes("n", "{\"a\":[" + "9".repeat(500) + "]}").build()),
                Messages.NUMBER_TOO_LONG);
        // the contract's order: NUL, then nesting, then numbers
        assertInvalid(withEntities(entity.toBuilder().putUpdatedAttributes("n", tooLong).build(),
                entity.toBuilder().putUpdatedAttributes("d", "[".repeat(60) + "]".repeat(60)).build()),
                Messages.EVENT_TOO_DEEP);
        assertInvalid(withEntities(entity.toBuilder().putUpdatedAttributes("n", tooLong).setEntityId("a\0").build()),
                Messages.NUL_CHARACTER);
        // 100 characters pass validation (and meet the database that is down)
        assertThat(ProtoEvents.validate(withEntities(entity.toBuilder().putUpdatedAttributes("n", longest).build()))
                .entities().get(0).attributes().get("n").isNumber()).isTrue();
        // not JSON text: stored as a string, whatever its digits
        String words = "serial " + "7".repeat(200);
        assertThat(ProtoEvents.validate(withEntities(entity.toBuilder().putUpdatedAttributes("s", words).build()))
                .entities().get(0).attributes().get("s").textValue()).isEqualTo(words);
    }

    /**
     * An attribute value that is a number no BigDecimal holds (exponent beyond 32 bits) is JSON text like any
     * other: its exact text reaches the database, which refuses it (here: refuses any statement binding that
     * text), so the answer is the database's INVALID_ARGUMENT and nothing is committed.
     */
    @ParameterizedTest
    @ValueSource(strings = {"1e2147483648", "0.1e-99999999999", "-1E+99999999999", "-9.99e-2147483649"})
    void anAttributeNumberBeyondBigDecimalReachesTheDatabase(String number) throws Exception {
        ScriptedDatabase database = ScriptedDatabase.refusing("\"n\":" + number + "}");
        String name = InProcessServerBuilder.generateName();
        Server refusing = InProcessServerBuilder.forName(name).directExecutor()
                .addService(new EventServiceImpl(new EventRepository(database))).build().start();
        ManagedChannel refusingChannel = InProcessChannelBuilder.forName(name).directExecutor().build();
        try {
            EventRequest request = withEntities(validRequest().getEventBody().getEntities(0).toBuilder()
                    .clearUpdatedAttributes().putUpdatedAttributes("n", number).build());
            assertThatThrownBy(() -> EventServiceGrpc.newBlockingStub(refusingChannel)
                            .withDeadlineAfter(10, TimeUnit.SECONDS).processEvent(request))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getStatus().getDescription())
                                .isEqualTo("event contains a value the database cannot store");
                    });
            assertThat(database.commits).hasValue(0);
            // validation still comes first
            assertInvalid(request.toBuilder().setEventHeader(request.getEventHeader().toBuilder().setEventName(""))
                    .build(), Messages.EVENT_NAME_INVALID);
        } finally {
            refusingChannel.shutdownNow();
            refusing.shutdownNow();
        }
    }

    private static EventRequest withEntities(EntityUpdate... entities) {
        return validRequest().setEventBody(EventBody.newBuilder().addAllEntities(java.util.List.of(entities))).build();
    }

    @Test
    void validEventWithDatabaseDownIsUnavailable() {
        assertThatThrownBy(() -> events.processEvent(validRequest().build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(e.getStatus().getDescription()).isEqualTo("database unavailable");
                });
    }

    @Test
    void bothHealthServicesReportTheOutage() {
        HealthResponse legacy = events.healthCheck(HealthRequest.getDefaultInstance());
        assertThat(legacy.getHealthy()).isFalse();
        assertThat(legacy.getMessage()).isEqualTo("database unavailable");
        assertThat(health.check(HealthCheckRequest.newBuilder().setService("").build()).getStatus())
                .isEqualTo(ServingStatus.NOT_SERVING);
        assertThat(health.check(HealthCheckRequest.newBuilder().setService("com.example.grpc.EventService").build())
                .getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
        assertThatThrownBy(() -> health.check(HealthCheckRequest.newBuilder().setService("other").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }

    @Test
    void protoEventBecomesTheSameTreeAsItsJson() {
        EventRequest request = validRequest()
                .setEventHeader(validRequest().getEventHeader().toBuilder().setCreatedDate("").setSavedDate(""))
                .setEventBody(EventBody.newBuilder().addEntities(EntityUpdate.newBuilder()
                        .setEntityType("Car").setEntityId("car-1")
                        .putUpdatedAttributes("n", "12")
                        .putUpdatedAttributes("word", "abc")))
                .build();
        var tree = ProtoEvents.toJsonTree(request);
        assertThat(Json.write(tree.get("eventBody"))).isEqualTo(
                "{\"entities\":[{\"entityType\":\"Car\",\"entityId\":\"car-1\",\"updatedAttributes\":{\"n\":12,\"word\":\"abc\"}}]}");
        var event = com.example.events.common.EventValidator.validate(tree);
        assertThat(event.createdDate()).isNull();
        assertThat(event.savedDate()).isNull();
    }

    private void assertInvalid(EventRequest request, String message) {
        assertThatThrownBy(() -> events.processEvent(request))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).isEqualTo(message);
                });
    }
}
