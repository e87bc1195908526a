package com.example.events.common;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/** Signs the bearer tokens the tests send; shared with the service modules' tests through the test-jar. */
public final class TestTokens {

    private TestTokens() {
    }

    /** An HS256 token signed with {@code key} whose only claim is exp, {@code expiresInSeconds} from now. */
    public static String hs256(String key, long expiresInSeconds) {
        return JWT.create().withClaim("exp", Instant.now().getEpochSecond() + expiresInSeconds)
                .sign(Algorithm.HMAC256(key.getBytes(StandardCharsets.UTF_8)));
    }
}
