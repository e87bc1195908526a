package com.example.events.common;

import static org.assertj.core.api.Assertions.assertThat;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;
import com.example.events.common.JwtAuthenticator.Failure;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The contract's token cases (contract/CONTRACT.md, "Authentication"), on a fixed clock. */
class JwtAuthenticatorTest {

    static final String KEY = "test-key-of-at-least-32-bytes-long!!";
    /** Half a second past a whole second: the library alone would truncate it away. */
    static final Instant NOW = Instant.parse("2025-06-01T12:00:00.500Z");
    static final long NOW_SECONDS = NOW.getEpochSecond();

    private final JwtAuthenticator plain = authenticator(null, null);

    static JwtAuthenticator authenticator(String issuer, String audience) {
        return new JwtAuthenticator(() -> KEY, issuer, audience, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    /** A token valid for an hour, changed by {@code claims}, signed HS256 with {@link #KEY}. */
    static String token(UnaryOperator<JWTCreator.Builder> claims) {
        return claims.apply(JWT.create().withClaim("exp", NOW_SECONDS + 3600)).sign(hs256(KEY));
    }

    static String bearer(String token) {
        return "Bearer " + token;
    }

    static Algorithm hs256(String key) {
        return Algorithm.HMAC256(key.getBytes(StandardCharsets.UTF_8));
    }

    private Optional<Failure> check(String authorization) {
        return plain.authenticate(authorization);
    }

    @Test
    void aValidTokenPassesWithTheSchemeInAnyCase() {
        String token = token(c -> c.withSubject("load-generator").withClaim("iat", NOW_SECONDS + 3600));
        assertThat(check(bearer(token))).isEmpty();
        assertThat(check("bearer " + token)).isEmpty();
        assertThat(check("BEARER " + token)).isEmpty();
    }

    @ParameterizedTest
    @NullSource
    @ValueSource(strings = {"", "Bearer", "Bearer ", "Bearer    ", "Basic dXNlcjpwdw==", "Token abc", "Bearerabc"})
    void noUsableBearerHeaderIsAMissingToken(String authorization) {
        assertThat(check(authorization)).contains(Failure.MISSING_TOKEN);
        assertThat(Failure.MISSING_TOKEN.message()).isEqualTo("missing bearer token");
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30.", "Bearer x"})
    void aMalformedTokenIsInvalid(String token) {
        assertThat(check(bearer(token))).contains(Failure.INVALID_TOKEN);
        assertThat(Failure.INVALID_TOKEN.message()).isEqualTo("invalid token");
    }

    @Test
    void aTokenWithTwoSpacesAfterTheSchemeIsInvalid() {
        assertThat(check("Bearer  " + token(c -> c))).contains(Failure.INVALID_TOKEN);
    }

    @Test
    void aBadSignatureIsInvalid() {
        String otherKey = JWT.create().withClaim("exp", NOW_SECONDS + 3600).sign(hs256(KEY + "-but-another"));
        assertThat(check(bearer(otherKey))).contains(Failure.INVALID_TOKEN);
        String good = token(c -> c);
        String tampered = good.substring(0, good.lastIndexOf('.') + 1) + "AAAA" + good.substring(good.lastIndexOf('.') + 5);
        assertThat(check(bearer(tampered))).contains(Failure.INVALID_TOKEN);
    }

    @Test
    void onlyHs256IsAccepted() {
        String none = base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "."
                + base64Url("{\"exp\":" + (NOW_SECONDS + 3600) + "}") + ".";
        assertThat(check(bearer(none))).contains(Failure.INVALID_TOKEN);
        String hs384 = JWT.create().withClaim("exp", NOW_SECONDS + 3600)
                .sign(Algorithm.HMAC384(KEY.getBytes(StandardCharsets.UTF_8)));
        assertThat(check(bearer(hs384))).contains(Failure.INVALID_TOKEN);
        // An HS256 signature under a header that names another algorithm is refused too.
        String header = base64Url("{\"alg\":\"HS384\",\"typ\":\"JWT\"}");
        String payload = base64Url("{\"exp\":" + (NOW_SECONDS + 3600) + "}");
        String signature = Base64.getUrlEncoder().withoutPadding().encodeToString(
                hs256(KEY).sign(header.getBytes(StandardCharsets.UTF_8), payload.getBytes(StandardCharsets.UTF_8)));
        assertThat(check(bearer(header + "." + payload + "." + signature))).contains(Failure.INVALID_TOKEN);
    }

    @Test
    void expIsRequiredAndMustBeANumber() {
        assertThat(check(bearer(JWT.create().withSubject("x").sign(hs256(KEY))))).contains(Failure.INVALID_TOKEN);
        assertThat(check(bearer(JWT.create().withClaim("exp", "tomorrow").sign(hs256(KEY)))))
                .contains(Failure.INVALID_TOKEN);
        assertThat(check(bearer(JWT.create().withNullClaim("exp").sign(hs256(KEY))))).contains(Failure.INVALID_TOKEN);
    }

    @Test
    void expiryHasA30SecondLeeway() {
        assertThat(check(bearer(token(c -> c.withClaim("exp", NOW_SECONDS - 29))))).isEmpty();
        // now < exp + 30 s is false here by half a second (the library alone would accept it)
        assertThat(check(bearer(token(c -> c.withClaim("exp", NOW_SECONDS - 30))))).contains(Failure.INVALID_TOKEN);
        assertThat(check(bearer(token(c -> c.withClaim("exp", NOW_SECONDS - 31))))).contains(Failure.INVALID_TOKEN);
        assertThat(check(bearer(token(c -> c.withClaim("exp", NOW_SECONDS - 3600))))).contains(Failure.INVALID_TOKEN);
    }

    @Test
    void notBeforeHasA30SecondLeeway() {
        assertThat(check(bearer(token(c -> c.withClaim("nbf", NOW_SECONDS + 30))))).isEmpty();
        assertThat(check(bearer(token(c -> c.withClaim("nbf", NOW_SECONDS - 3600))))).isEmpty();
        assertThat(check(bearer(token(c -> c.withClaim("nbf", NOW_SECONDS + 31))))).contains(Failure.INVALID_TOKEN);
        assertThat(check(bearer(token(c -> c.withClaim("nbf", NOW_SECONDS + 3600))))).contains(Failure.INVALID_TOKEN);
        assertThat(check(bearer(token(c -> c.withClaim("nbf", "now"))))).contains(Failure.INVALID_TOKEN);
        assertThat(check(bearer(token(c -> c.withNullClaim("nbf"))))).contains(Failure.INVALID_TOKEN);
    }

    @Test
    void issuerMustMatchWhenConfigured() {
        JwtAuthenticator withIssuer = authenticator("perflab", null);
        assertThat(withIssuer.authenticate(bearer(token(c -> c.withIssuer("perflab"))))).isEmpty();
        assertThat(withIssuer.authenticate(bearer(token(c -> c.withIssuer("someone-else")))))
                .contains(Failure.INVALID_TOKEN);
        assertThat(withIssuer.authenticate(bearer(token(c -> c)))).contains(Failure.INVALID_TOKEN);
        // Without JWT_ISSUER any iss passes.
        assertThat(check(bearer(token(c -> c.withIssuer("someone-else"))))).isEmpty();
    }

    @Test
    void audienceMustBeOrContainTheConfiguredOneWhenSet() {
        JwtAuthenticator withAudience = authenticator(null, "events-api");
        assertThat(withAudience.authenticate(bearer(token(c -> c.withAudience("events-api"))))).isEmpty();
        assertThat(withAudience.authenticate(bearer(token(c -> c.withAudience("other", "events-api"))))).isEmpty();
        assertThat(withAudience.authenticate(bearer(token(c -> c.withAudience("other")))))
                .contains(Failure.INVALID_TOKEN);
        assertThat(withAudience.authenticate(bearer(token(c -> c)))).contains(Failure.INVALID_TOKEN);
        assertThat(check(bearer(token(c -> c.withAudience("other"))))).isEmpty();
    }

    @Test
    void aRotatedKeyVerifiesTheRequestsAfterIt() {
        String newKey = "the-next-key-also-32-bytes-or-more!";
        AtomicReference<String> currentKey = new AtomicReference<>(KEY);
        JwtAuthenticator rotating = new JwtAuthenticator(currentKey::get, null, null, Clock.fixed(NOW, ZoneOffset.UTC));
        String oldToken = token(c -> c);
        String newToken = JWT.create().withClaim("exp", NOW_SECONDS + 3600).sign(hs256(newKey));
        assertThat(rotating.authenticate(bearer(oldToken))).isEmpty();
        assertThat(rotating.authenticate(bearer(newToken))).contains(Failure.INVALID_TOKEN);
        currentKey.set(newKey);
        assertThat(rotating.authenticate(bearer(newToken))).isEmpty();
        assertThat(rotating.authenticate(bearer(oldToken))).contains(Failure.INVALID_TOKEN);
    }

    @Test
    void worksOnTheSystemClock() {
        JwtAuthenticator real = new JwtAuthenticator(() -> KEY, null, null);
        assertThat(real.authenticate(bearer(TestTokens.hs256(KEY, 60)))).isEmpty();
        assertThat(real.authenticate(bearer(TestTokens.hs256(KEY, -60)))).contains(Failure.INVALID_TOKEN);
    }

    private static String base64Url(String json) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
    }
}
