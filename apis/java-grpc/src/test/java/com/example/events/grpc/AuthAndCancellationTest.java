package com.example.events.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.example.events.common.EventRepository;
import com.example.events.common.JwtAuthenticator;
import com.example.events.common.ScriptedDatabase;
import com.example.events.common.TestTokens;
import com.example.grpc.EventResponse;
import com.example.grpc.EventServiceGrpc;
import com.example.grpc.HealthRequest;
import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** AUTH_ENABLED on (the interceptor), and calls that end before their write does. */
class AuthAndCancellationTest {

    static final String KEY = "grpc-test-key-at-least-32-bytes-long";

    private ScriptedDatabase database;
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void startServer() throws Exception {
        // Committing takes long enough for a short deadline to pass first.
        database = new ScriptedDatabase(Duration.ZERO, Duration.ofMillis(400));
        EventRepository repository = new EventRepository(database);
        BearerAuthInterceptor authentication = new BearerAuthInterceptor(new JwtAuthenticator(() -> KEY, null, null));
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(ServerInterceptors.intercept(new EventServiceImpl(repository), authentication))
                .addService(new DatabaseHealthService(repository))
                .build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    }

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
    }

    private EventServiceGrpc.EventServiceBlockingStub events(String authorization) {
        EventServiceGrpc.EventServiceBlockingStub stub = EventServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS);
        if (authorization == null) {
            return stub;
        }
        Metadata metadata = new Metadata();
        metadata.put(BearerAuthInterceptor.AUTHORIZATION, authorization);
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(metadata));
    }

    private static void assertUnauthenticated(EventServiceGrpc.EventServiceBlockingStub stub, String message) {
        assertThatThrownBy(() -> stub.processEvent(EventServiceTest.validRequest().build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                    assertThat(e.getStatus().getDescription()).isEqualTo(message);
                });
    }

    @Test
    void processEventNeedsAValidToken() {
        assertUnauthenticated(events(null), "missing bearer token");
        assertUnauthenticated(events("Basic dTpw"), "missing bearer token");
        assertUnauthenticated(events("Bearer not.a.token"), "invalid token");
        assertUnauthenticated(events("Bearer " + TestTokens.hs256(KEY + "-other", 60)), "invalid token");
        assertUnauthenticated(events("Bearer " + TestTokens.hs256(KEY, -120)), "invalid token");
        assertThat(database.statements).isEmpty();
        EventResponse response = events("Bearer " + TestTokens.hs256(KEY, 60))
                .processEvent(EventServiceTest.validRequest().build());
        assertThat(response.getSuccess()).isTrue();
        assertThat(response.getMessage()).isEqualTo("event processed");
    }

    @Test
    void authenticationComesBeforeValidation() {
        assertThatThrownBy(() -> events(null).processEvent(EventServiceTest.validRequest().clearEventHeader().build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    }

    @Test
    void healthServicesStayOpen() {
        assertThat(events(null).healthCheck(HealthRequest.getDefaultInstance()).getHealthy()).isTrue();
        assertThat(HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(ServingStatus.SERVING);
    }

    @Test
    void anExpiredDeadlineDoesNotInterruptTheWrite() throws InterruptedException {
        assertThatThrownBy(() -> events("Bearer " + TestTokens.hs256(KEY, 60))
                .withDeadlineAfter(100, TimeUnit.MILLISECONDS)
                .processEvent(EventServiceTest.validRequest().build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        assertThat(database.awaitCommits(1)).isEqualTo(1);
        assertThat(database.rollbacks.get()).isZero();
    }

    @Test
    void aCancelledCallDoesNotInterruptTheWrite() throws InterruptedException {
        Metadata metadata = new Metadata();
        metadata.put(BearerAuthInterceptor.AUTHORIZATION, "Bearer " + TestTokens.hs256(KEY, 60));
        ListenableFuture<EventResponse> call = EventServiceGrpc.newFutureStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(metadata))
                .processEvent(EventServiceTest.validRequest().build());
        Thread.sleep(100); // the write is under way
        assertThat(call.cancel(true)).isTrue();
        assertThat(database.awaitCommits(1)).isEqualTo(1);
        assertThat(database.rollbacks.get()).isZero();
    }
}
