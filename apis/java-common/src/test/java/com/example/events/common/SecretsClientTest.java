package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.example.events.common.SecretsClient.SecretReadException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The secrets store protocol and its retries, against a local store on 127.0.0.1. */
class SecretsClientTest {

    static final String JWT_KEY = "a-jwt-key-from-the-store-32-bytes+";

    /** A mock secrets store: per secret a status to answer, a body, and how many failures before success. */
    static final class MockStore implements AutoCloseable {
        final HttpServer server;
        final Map<String, String> values = new ConcurrentHashMap<>();
        final Map<String, AtomicInteger> failuresLeft = new ConcurrentHashMap<>();
        final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();
        volatile String rawBody;
        volatile long delayMs;

        MockStore() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/secrets/", this::answer);
            server.start();
        }

        URI url() {
            return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        }

        int requests(String name) {
            return requests.computeIfAbsent(name, n -> new AtomicInteger()).get();
        }

        private void answer(HttpExchange exchange) throws IOException {
            String name = exchange.getRequestURI().getPath().substring("/secrets/".length());
            requests.computeIfAbsent(name, n -> new AtomicInteger()).incrementAndGet();
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            AtomicInteger failures = failuresLeft.get(name);
            String value = values.get(name);
            if (value == null || (failures != null && failures.getAndDecrement() > 0)) {
                send(exchange, 503, "{\"error\":\"unavailable\"}");
            } else {
                send(exchange, 200, rawBody != null ? rawBody
                        : Json.write(Json.MAPPER.createObjectNode().put("name", name).put("value", value)));
            }
        }

        private static void send(HttpExchange exchange, int status, String body) throws IOException {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    private MockStore store;

    @BeforeEach
    void startStore() throws IOException {
        store = new MockStore();
    }

    @AfterEach
    void stopStore() {
        store.close();
    }

    @Test
    void readsTheValueOfASecret() throws Exception {
        store.values.put("db-password", "s3cret \"quoted\" ü");
        assertThat(new SecretsClient(store.url()).read("db-password")).isEqualTo("s3cret \"quoted\" ü");
        assertThat(new SecretsClient(URI.create(store.url() + "/")).read("db-password")).isEqualTo("s3cret \"quoted\" ü");
    }

    @Test
    void retriesWithTheContractsBackoff() throws Exception {
        store.values.put("db-password", "pw");
        store.failuresLeft.put("db-password", new AtomicInteger(3));
        long started = System.nanoTime();
        assertThat(new SecretsClient(store.url()).read("db-password")).isEqualTo("pw");
        long elapsedMs = Duration.ofNanos(System.nanoTime() - started).toMillis();
        assertThat(store.requests("db-password")).isEqualTo(4);
        assertThat(elapsedMs).isBetween(100L + 200 + 400, 3_000L);
    }

    @Test
    void givesUpAfterFiveAttemptsNamingTheSecretButNotItsValue() {
        store.values.put("jwt-secret-key", JWT_KEY);
        store.failuresLeft.put("jwt-secret-key", new AtomicInteger(5));
        long started = System.nanoTime();
        assertThatThrownBy(() -> new SecretsClient(store.url()).read("jwt-secret-key"))
                .isInstanceOf(SecretReadException.class)
                .hasMessageContaining("jwt-secret-key")
                .hasMessageNotContaining(JWT_KEY);
        assertThat(Duration.ofNanos(System.nanoTime() - started).toMillis()).isBetween(1_500L, 5_000L);
        assertThat(store.requests("jwt-secret-key")).isEqualTo(5);
    }

    @Test
    void anAnswerWithoutAStringValueIsAFailedRead() {
        store.values.put("db-password", "pw");
        SecretsClient client = new SecretsClient(store.url(), Duration.ofSeconds(2), List.of(Duration.ofMillis(1)));
        for (String body : List.of("{\"name\":\"db-password\"}", "{\"value\":42}", "[\"pw\"]", "not json", "")) {
            store.rawBody = body;
            assertThatThrownBy(() -> client.read("db-password")).as(body).isInstanceOf(SecretReadException.class);
        }
        assertThatThrownBy(() -> client.read("missing")).hasMessageContaining("status 503");
    }

    @Test
    void anAttemptIsBoundedByItsTimeout() {
        store.values.put("db-password", "pw");
        store.delayMs = 1_500;
        SecretsClient client = new SecretsClient(store.url(), Duration.ofMillis(200), List.of(Duration.ofMillis(1)));
        long started = System.nanoTime();
        assertThatThrownBy(() -> client.read("db-password")).hasMessageContaining("no answer within 200 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - started).toMillis()).isLessThan(1_400L);
    }

    static AppConfig config(URI storeUrl, boolean auth, String databaseUrl) {
        return AppConfig.fromEnvironment(Map.of("DATABASE_URL", databaseUrl, "PGPASSWORD", "from-pgpassword",
                "SECRETS_URL", storeUrl.toString(), "AUTH_ENABLED", Boolean.toString(auth)), 8080);
    }

    @Test
    void startUpReadsBothSecretsAndRefreshKeepsOldValuesOnFailure() {
        store.values.put("db-password", "pw-1");
        store.values.put("jwt-secret-key", JWT_KEY);
        AppConfig config = config(store.url(), true, "postgres://bench@db/events");
        SecretsClient fast = new SecretsClient(store.url(), Duration.ofSeconds(2), List.of(Duration.ofMillis(1)));
        try (Secrets secrets = Secrets.load(config, fast)) {
            assertThat(secrets.fromStore()).isTrue();
            assertThat(secrets.databasePassword().get()).isEqualTo("pw-1"); // the store wins over PGPASSWORD
            assertThat(secrets.jwtSecretKey().get()).isEqualTo(JWT_KEY);

            store.values.put("db-password", "pw-2");
            store.values.put("jwt-secret-key", JWT_KEY + "-rotated");
            secrets.refresh();
            assertThat(secrets.databasePassword().get()).isEqualTo("pw-2");
            assertThat(secrets.jwtSecretKey().get()).isEqualTo(JWT_KEY + "-rotated");

            store.values.remove("db-password"); // the store now fails: keep what we have
            store.values.put("jwt-secret-key", "too-short");
            secrets.refresh();
            assertThat(secrets.databasePassword().get()).isEqualTo("pw-2");
            assertThat(secrets.jwtSecretKey().get()).isEqualTo(JWT_KEY + "-rotated");
        }
    }

    @Test
    void aPasswordInTheDatabaseUrlWinsOverTheStore() {
        store.values.put("db-password", "from-store");
        AppConfig config = config(store.url(), false, "postgres://bench:from-url@db/events");
        try (Secrets secrets = Secrets.load(config, new SecretsClient(store.url()))) {
            assertThat(secrets.databasePassword().get()).isEqualTo("from-url");
        }
    }

    @Test
    void startUpFailsNamingTheSecret() {
        store.values.put("db-password", "pw");
        SecretsClient fast = new SecretsClient(store.url(), Duration.ofSeconds(2), List.of(Duration.ofMillis(1)));
        assertThatThrownBy(() -> Secrets.load(config(store.url(), true, "postgres://bench@db/events"), fast))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("jwt-secret-key");
        store.values.put("jwt-secret-key", "short");
        assertThatThrownBy(() -> Secrets.load(config(store.url(), true, "postgres://bench@db/events"), fast))
                .isInstanceOf(ConfigException.class)
                .hasMessage("secret jwt-secret-key must be at least 32 bytes");
        store.values.remove("db-password");
        assertThatThrownBy(() -> Secrets.load(config(store.url(), false, "postgres://bench@db/events"), fast))
                .hasMessageContaining("db-password");
    }

    @Test
    void withoutAStoreTheEnvironmentIsUsed() {
        AppConfig config = AppConfig.fromEnvironment(Map.of("DATABASE_URL", "postgres://bench@db/events",
                "PGPASSWORD", "env-pw", "AUTH_ENABLED", "1", "JWT_SECRET_KEY", JWT_KEY), 8080);
        try (Secrets secrets = Secrets.load(config)) {
            assertThat(secrets.fromStore()).isFalse();
            assertThat(secrets.databasePassword().get()).isEqualTo("env-pw");
            assertThat(secrets.jwtSecretKey().get()).isEqualTo(JWT_KEY);
        }
        AppConfig noPassword = AppConfig.fromEnvironment(Map.of("DATABASE_URL", "postgres://bench@db/events"), 8080);
        try (Secrets secrets = Secrets.load(noPassword)) {
            assertThat(secrets.databasePassword()).isNull();
        }
    }
}
