package com.example.events.common;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTVerifier;
import com.auth0.jwt.RegisteredClaims;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.interfaces.DecodedJWT;
import com.auth0.jwt.interfaces.Verification;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The bearer-token check of the event endpoints (contract/CONTRACT.md, "Authentication"), shared by REST and
 * gRPC: Auth0's java-jwt verifies an HS256 JWS under the UTF-8 bytes of the current key.
 *
 * <p>The library refuses any header {@code alg} but {@code HS256} (so {@code none}, {@code HS384},
 * {@code RS256}… whatever the signature), a bad signature, a non-numeric {@code exp} or {@code nbf}, an
 * {@code nbf} more than 30 s ahead, and an {@code iss} / {@code aud} other than the configured ones. It
 * compares {@code exp} with the clock truncated to the second, which would accept a token up to a second
 * past {@code exp + 30 s}; the contract's {@code now < exp + 30 s} is checked here on top. {@code iat} and
 * other claims are ignored.
 *
 * <p>The key is read from its supplier for every request, so a key refreshed from the secrets store
 * verifies the requests that arrive after it; the library's verifier is rebuilt only when the key changes.
 */
public final class JwtAuthenticator {

    public static final Duration LEEWAY = Duration.ofSeconds(30);
    private static final String BEARER_PREFIX = "Bearer ";

    /** Why a request is refused; the message is the contract's. */
    public enum Failure {
        MISSING_TOKEN(Messages.MISSING_BEARER_TOKEN),
        INVALID_TOKEN(Messages.INVALID_TOKEN);

        private final String message;

        Failure(String message) {
            this.message = message;
        }

        public String message() {
            return message;
        }
    }

    private record KeyedVerifier(String key, JWTVerifier verifier) {
    }

    private final Supplier<String> secretKey;
    private final String issuer;
    private final String audience;
    private final Clock clock;
    private volatile KeyedVerifier current;

    /**
     * @param secretKey the current HS256 key (its UTF-8 bytes are the HMAC key)
     * @param issuer    the required {@code iss}, or {@code null}
     * @param audience  the {@code aud} a token must be or contain, or {@code null}
     */
    public JwtAuthenticator(Supplier<String> secretKey, String issuer, String audience) {
        this(secretKey, issuer, audience, Clock.systemUTC());
    }

    JwtAuthenticator(Supplier<String> secretKey, String issuer, String audience, Clock clock) {
        this.secretKey = secretKey;
        this.issuer = issuer;
        this.audience = audience;
        this.clock = clock;
    }

    /**
     * @param authorization the {@code Authorization} header (gRPC: metadata {@code authorization}), or null
     * @return empty when it carries a valid token, else the reason to answer 401 / UNAUTHENTICATED
     */
    public Optional<Failure> authenticate(String authorization) {
        String token = bearerToken(authorization);
        if (token == null) {
            return Optional.of(Failure.MISSING_TOKEN);
        }
        try {
            DecodedJWT jwt = verifier().verify(token);
            return timesAreValid(jwt) ? Optional.empty() : Optional.of(Failure.INVALID_TOKEN);
        } catch (RuntimeException invalid) {
            // JWTVerificationException and its kin (decode, algorithm, signature, claims); whatever fails, the
            // answer is "invalid token", never a 500.
            return Optional.of(Failure.INVALID_TOKEN);
        }
    }

    /**
     * The token of {@code Bearer <token>}: the scheme in any case followed by one space; {@code null} for no
     * header, another scheme or an empty token.
     */
    static String bearerToken(String authorization) {
        if (authorization == null
                || !authorization.regionMatches(true, 0, BEARER_PREFIX, 0, BEARER_PREFIX.length())) {
            return null;
        }
        String token = authorization.substring(BEARER_PREFIX.length());
        return token.isBlank() ? null : token;
    }

    /** {@code exp} present and {@code now < exp + 30 s}; an {@code nbf} that is present is not null. */
    private boolean timesAreValid(DecodedJWT jwt) {
        Instant expiresAt = jwt.getExpiresAtAsInstant();
        if (expiresAt == null || jwt.getClaim(RegisteredClaims.NOT_BEFORE).isNull()) {
            return false; // "exp": null passes the library's presence check; a null nbf is not a number
        }
        return clock.instant().isBefore(expiresAt.plus(LEEWAY));
    }

    private JWTVerifier verifier() {
        String key = secretKey.get();
        KeyedVerifier cached = current;
        if (cached == null || !cached.key().equals(key)) {
            cached = new KeyedVerifier(key, build(key));
            current = cached;
        }
        return cached.verifier();
    }

    private JWTVerifier build(String key) {
        Verification verification = JWT.require(Algorithm.HMAC256(key.getBytes(StandardCharsets.UTF_8)))
                .acceptLeeway(LEEWAY.toSeconds())
                .withClaimPresence(RegisteredClaims.EXPIRES_AT)
                .ignoreIssuedAt();
        if (issuer != null) {
            verification.withIssuer(issuer);
        }
        if (audience != null) {
            verification.withAudience(audience);
        }
        return ((JWTVerifier.BaseVerification) verification).build(clock);
    }
}
