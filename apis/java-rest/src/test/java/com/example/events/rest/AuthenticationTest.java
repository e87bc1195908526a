package com.example.events.rest;

import com.example.events.common.AppConfig;
import com.example.events.common.EventRepository;
import com.example.events.common.JwtAuthenticator;
import com.example.events.common.ScriptedDatabase;
import com.example.events.common.TestTokens;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/** AUTH_ENABLED on: the token is checked first on the event routes, and only there. */
class AuthenticationTest {

    static final String KEY = "rest-test-key-at-least-32-bytes-long";
    static final String EVENT = "{\"eventHeader\":{\"uuid\":\"550e8400-e29b-41d4-a716-446655440000\","
            + "\"eventName\":\"N\",\"eventType\":\"T\"},\"eventBody\":{\"entities\":[{\"entityType\":\"Car\","
            + "\"entityId\":\"c1\",\"updatedAttributes\":{}}]}}";

    private WebTestClient client;
    private ScriptedDatabase database;

    @BeforeEach
    void bindRoutesWithAuthentication() {
        AppConfig config = AppConfig.fromEnvironment(Map.of("DATABASE_URL", "postgres://u@localhost/db",
                "MAX_BODY_BYTES", "1024", "AUTH_ENABLED", "true", "JWT_SECRET_KEY", KEY), 8080);
        database = new ScriptedDatabase();
        EventHandler handler = new EventHandler(new EventRepository(database), config);
        BearerAuthentication authentication = new BearerAuthentication(new JwtAuthenticator(() -> KEY, null, null));
        client = WebTestClient.bindToRouterFunction(new RestConfiguration().routes(handler, authentication)).build();
    }

    private WebTestClient.ResponseSpec post(String path, MediaType type, String body, String authorization) {
        WebTestClient.RequestBodySpec request = client.post().uri(path).contentType(type);
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return request.bodyValue(body.getBytes(StandardCharsets.UTF_8)).exchange();
    }

    private static void isUnauthorized(WebTestClient.ResponseSpec response, String message) {
        response.expectStatus().isEqualTo(401)
                .expectHeader().valueEquals("WWW-Authenticate", "Bearer")
                .expectHeader().contentType(MediaType.APPLICATION_JSON)
                .expectBody().json("{\"error\":\"" + message + "\",\"status\":401}", true);
    }

    @Test
    void aValidTokenIsProcessed() {
        post("/api/v1/events", MediaType.APPLICATION_JSON, EVENT, "Bearer " + TestTokens.hs256(KEY, 60))
                .expectStatus().isOk()
                .expectBody().jsonPath("$.message").isEqualTo("event processed");
        post("/api/v1/events/bulk", MediaType.APPLICATION_JSON, "[" + EVENT + "]", "bearer " + TestTokens.hs256(KEY, 60))
                .expectStatus().isOk();
    }

    @Test
    void noTokenOrAnotherSchemeIsAMissingBearerToken() {
        isUnauthorized(post("/api/v1/events", MediaType.APPLICATION_JSON, EVENT, null), "missing bearer token");
        isUnauthorized(post("/api/v1/events", MediaType.APPLICATION_JSON, EVENT, "Basic dTpw"), "missing bearer token");
        isUnauthorized(post("/api/v1/events/bulk", MediaType.APPLICATION_JSON, "[" + EVENT + "]", "Bearer "),
                "missing bearer token");
    }

    @Test
    void aTokenThatFailsAnyCheckIsInvalid() {
        isUnauthorized(post("/api/v1/events", MediaType.APPLICATION_JSON, EVENT, "Bearer not.a.token"), "invalid token");
        isUnauthorized(post("/api/v1/events", MediaType.APPLICATION_JSON, EVENT,
                "Bearer " + TestTokens.hs256(KEY + "-other", 60)), "invalid token");
        isUnauthorized(post("/api/v1/events", MediaType.APPLICATION_JSON, EVENT, "Bearer " + TestTokens.hs256(KEY, -120)),
                "invalid token");
    }

    @Test
    void authenticationComesBeforeContentTypeSizeAndValidationAndWritesNothing() {
        isUnauthorized(post("/api/v1/events", MediaType.TEXT_PLAIN, EVENT, null), "missing bearer token");
        isUnauthorized(post("/api/v1/events", MediaType.APPLICATION_JSON, "[" + "1,".repeat(2000) + "1]", null),
                "missing bearer token");
        isUnauthorized(post("/api/v1/events", MediaType.APPLICATION_JSON, "{not json", "Bearer x.y.z"), "invalid token");
        isUnauthorized(post("/api/v1/events/bulk", MediaType.APPLICATION_JSON, "[]", null), "missing bearer token");
        org.assertj.core.api.Assertions.assertThat(database.statements).isEmpty();
    }

    @Test
    void healthUnknownPathsAndWrongMethodsNeedNoToken() {
        client.get().uri("/api/v1/events/health").exchange()
                .expectStatus().isOk()
                .expectBody().json("{\"status\":\"healthy\"}", true);
        client.get().uri("/api/v1/events").exchange().expectStatus().isEqualTo(405);
        client.get().uri("/api/v1/events/bulk").exchange().expectStatus().isEqualTo(405);
        client.post().uri("/api/v1/other").exchange().expectStatus().isNotFound();
    }
}
