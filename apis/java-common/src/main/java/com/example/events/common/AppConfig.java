package com.example.events.common;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The shared environment contract (contract/CONTRACT.md, "Environment"), read once at start-up.
 *
 * <p>{@link #toString()} shows neither the database password nor the JWT key, so the value can be logged.
 *
 * @param database               {@code DATABASE_URL}, with {@code PGPASSWORD} filled in when it has no password
 * @param databaseUrlHasPassword whether {@code DATABASE_URL} itself carries a password (which then wins over
 *                               the secrets store's {@code db-password})
 * @param dbAcquireTimeout       {@code DB_ACQUIRE_TIMEOUT}: the longest a request waits for a connection
 * @param auth                   {@code AUTH_ENABLED}, {@code JWT_SECRET_KEY}, {@code JWT_ISSUER}, {@code JWT_AUDIENCE}
 * @param secrets                {@code SECRETS_URL} and {@code SECRETS_REFRESH_INTERVAL}; {@code null} when unset
 */
public record AppConfig(
        DatabaseUrl database,
        boolean databaseUrlHasPassword,
        String bindAddress,
        int port,
        int poolMax,
        String logLevel,
        int maxBodyBytes,
        Duration dbAcquireTimeout,
        Auth auth,
        SecretsStore secrets) {

    public static final int DEFAULT_POOL_MAX = 20;
    public static final int DEFAULT_MAX_BODY_BYTES = 1_048_576;
    public static final int DEFAULT_DB_ACQUIRE_TIMEOUT_MS = 5_000;
    public static final int DEFAULT_SECRETS_REFRESH_INTERVAL_MS = 60_000;
    public static final int MIN_JWT_KEY_BYTES = 32;
    public static final String DEFAULT_BIND_ADDRESS = "0.0.0.0";
    public static final String DEFAULT_LOG_LEVEL = "warn";
    private static final Set<String> LOG_LEVELS = Set.of("error", "warn", "info", "debug");

    /**
     * JWT authentication of the event endpoints. {@code secretKey} is the key from the environment; it is
     * {@code null} when auth is off or when the key comes from the secrets store.
     */
    public record Auth(boolean enabled, String secretKey, String issuer, String audience) {

        public static final Auth DISABLED = new Auth(false, null, null, null);

        @Override
        public String toString() {
            return "Auth[enabled=" + enabled + ", issuer=" + issuer + ", audience=" + audience + "]";
        }
    }

    /** The secrets store the database password and the JWT key come from. */
    public record SecretsStore(URI url, Duration refreshInterval) {
    }

    /**
     * @param env         the process environment (or a test map)
     * @param defaultPort 8080 for REST, 9090 for gRPC
     * @throws ConfigException naming the variable whose value is missing or out of range
     */
    public static AppConfig fromEnvironment(Map<String, String> env, int defaultPort) {
        DatabaseUrl url = DatabaseUrl.parse(env.get("DATABASE_URL"));
        boolean urlHasPassword = url.password() != null && !url.password().isEmpty();
        DatabaseUrl database = url.withPasswordFallback(env.get("PGPASSWORD"));
        String bindAddress = valueOr(env, "BIND_ADDRESS", DEFAULT_BIND_ADDRESS);
        int port = intSetting(env, "PORT", defaultPort, 1, 65_535);
        int poolMax = intSetting(env, "DB_POOL_MAX", DEFAULT_POOL_MAX, 1, 10_000);
        int maxBodyBytes = intSetting(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1, Integer.MAX_VALUE);
        String logLevel = valueOr(env, "LOG_LEVEL", DEFAULT_LOG_LEVEL).toLowerCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(logLevel)) {
            throw new ConfigException("LOG_LEVEL must be one of error, warn, info, debug");
        }
        Duration acquireTimeout = Duration.ofMillis(
                intSetting(env, "DB_ACQUIRE_TIMEOUT", DEFAULT_DB_ACQUIRE_TIMEOUT_MS, 1, Integer.MAX_VALUE));
        SecretsStore secrets = secretsStore(env);
        Auth auth = auth(env, secrets != null);
        return new AppConfig(database, urlHasPassword, bindAddress, port, poolMax, logLevel, maxBodyBytes,
                acquireTimeout, auth, secrets);
    }

    private static SecretsStore secretsStore(Map<String, String> env) {
        String value = env.get("SECRETS_URL");
        if (value == null || value.isBlank()) {
            return null;
        }
        URI url;
        try {
            url = new URI(value.trim());
        } catch (URISyntaxException e) {
            throw new ConfigException("SECRETS_URL must be an http:// or https:// URL");
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || url.getHost() == null) {
            throw new ConfigException("SECRETS_URL must be an http:// or https:// URL");
        }
        int refreshMs = intSetting(env, "SECRETS_REFRESH_INTERVAL", DEFAULT_SECRETS_REFRESH_INTERVAL_MS,
                1, Integer.MAX_VALUE);
        return new SecretsStore(url, Duration.ofMillis(refreshMs));
    }

    private static Auth auth(Map<String, String> env, boolean keyFromSecretsStore) {
        String enabled = env.get("AUTH_ENABLED");
        String flag = enabled == null ? "" : enabled.trim().toLowerCase(Locale.ROOT);
        boolean on = switch (flag) {
            case "true", "1" -> true;
            case "false", "0", "" -> false;
            default -> throw new ConfigException("AUTH_ENABLED must be true, 1, false or 0");
        };
        if (!on) {
            return Auth.DISABLED;
        }
        String key = null;
        if (!keyFromSecretsStore) {
            // The key is taken as given (its UTF-8 bytes): surrounding spaces are part of it.
            key = env.get("JWT_SECRET_KEY");
            if (key == null || key.isEmpty()) {
                throw new ConfigException("JWT_SECRET_KEY is required when AUTH_ENABLED is on");
            }
            checkJwtKey(key, "JWT_SECRET_KEY");
        }
        return new Auth(true, key, optional(env, "JWT_ISSUER"), optional(env, "JWT_AUDIENCE"));
    }

    /** @throws ConfigException when the key is shorter than {@value #MIN_JWT_KEY_BYTES} bytes of UTF-8 */
    public static void checkJwtKey(String key, String source) {
        if (key.getBytes(StandardCharsets.UTF_8).length < MIN_JWT_KEY_BYTES) {
            throw new ConfigException(source + " must be at least " + MIN_JWT_KEY_BYTES + " bytes");
        }
    }

    private static String optional(Map<String, String> env, String name) {
        String value = env.get(name);
        return value == null || value.isEmpty() ? null : value;
    }

    private static String valueOr(Map<String, String> env, String name, String fallback) {
        String value = env.get(name);
        return value == null || value.isBlank() ? fallback : value.trim();
    }

    private static int intSetting(Map<String, String> env, String name, int fallback, int min, int max) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            int parsed = Integer.parseInt(value.trim());
            if (parsed >= min && parsed <= max) {
                return parsed;
            }
        } catch (NumberFormatException ignored) {
            // reported below with the allowed range
        }
        throw new ConfigException(name + " must be an integer from " + min + " to " + max);
    }
}
