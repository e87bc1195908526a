package com.example.events.common;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reads one secret from the secrets store (contract/CONTRACT.md, "Secrets"): {@code GET <url>/secrets/<name>}
 * answers 200 {@code {"name": "<name>", "value": "<text>"}}; anything else (another status, a body without a
 * string {@code value}, no whole answer within 2 s) is a failed attempt. A read makes up to 5 attempts with
 * 100, 200, 400 and 800 ms between them.
 *
 * <p>Messages name the secret, never its value.
 */
public final class SecretsClient {

    public static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(2);
    public static final List<Duration> BACKOFF = List.of(
            Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofMillis(800));

    /** All attempts to read a secret failed; the message names the secret and the last failure. */
    public static final class SecretReadException extends Exception {
        public SecretReadException(String message) {
            super(message, null, false, false);
        }
    }

    private final URI baseUrl;
    private final Duration attemptTimeout;
    private final List<Duration> backoff;
    private final HttpClient http;

    public SecretsClient(URI baseUrl) {
        this(baseUrl, ATTEMPT_TIMEOUT, BACKOFF);
    }

    /** Timings other than the contract's are for tests. */
    SecretsClient(URI baseUrl, Duration attemptTimeout, List<Duration> backoff) {
        String base = baseUrl.toString();
        this.baseUrl = URI.create(base.endsWith("/") ? base : base + "/");
        this.attemptTimeout = attemptTimeout;
        this.backoff = backoff;
        this.http = HttpClient.newBuilder()
                // Plain HTTP/1.1: no h2c upgrade dance with small mock servers.
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(attemptTimeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /**
     * Reads the secret with the contract's retries.
     *
     * @throws SecretReadException when every attempt failed
     * @throws InterruptedException when the thread is interrupted while waiting
     */
    public String read(String name) throws SecretReadException, InterruptedException {
        String lastFailure = null;
        for (int attempt = 0; attempt <= backoff.size(); attempt++) {
            if (attempt > 0) {
                Thread.sleep(backoff.get(attempt - 1).toMillis());
            }
            try {
                return readOnce(name);
            } catch (SecretReadException failed) {
                lastFailure = failed.getMessage();
            }
        }
        throw new SecretReadException("could not read secret " + name + " from SECRETS_URL after "
                + (backoff.size() + 1) + " attempts (last: " + lastFailure + ")");
    }

    private String noAnswer() {
        return "no answer within " + attemptTimeout.toMillis() + " ms";
    }

    /** One attempt, bounded by the attempt timeout from the request to the end of the body. */
    String readOnce(String name) throws SecretReadException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(
                        baseUrl.resolve("secrets/" + URLEncoder.encode(name, StandardCharsets.UTF_8)))
                .timeout(attemptTimeout)
                .header("Accept", "application/json")
                .GET()
                .build();
        CompletableFuture<HttpResponse<byte[]>> pending = http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
        HttpResponse<byte[]> response;
        try {
            response = pending.get(attemptTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            pending.cancel(true);
            throw new SecretReadException(noAnswer());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HttpTimeoutException) {
                throw new SecretReadException(noAnswer()); // the request's own timeout came first
            }
            throw new SecretReadException(e.getCause() == null ? "request failed" : e.getCause().getClass().getSimpleName());
        }
        if (response.statusCode() != 200) {
            throw new SecretReadException("status " + response.statusCode());
        }
        JsonNode value;
        try {
            value = Json.MAPPER.readTree(response.body()).get("value");
        } catch (IOException | RuntimeException e) {
            throw new SecretReadException("the answer is not a JSON object");
        }
        if (value == null || !value.isTextual()) {
            throw new SecretReadException("the answer has no string value");
        }
        return value.textValue();
    }
}
