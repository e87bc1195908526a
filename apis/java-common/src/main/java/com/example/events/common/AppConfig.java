package com.example.events.common;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The shared environment contract (contract/CONTRACT.md, "Environment"), read once at start-up. */
public record AppConfig(
        DatabaseUrl database,
        String bindAddress,
        int port,
        int poolMax,
        String logLevel,
        int maxBodyBytes) {

    public static final int DEFAULT_POOL_MAX = 20;
    public static final int DEFAULT_MAX_BODY_BYTES = 1_048_576;
    public static final String DEFAULT_BIND_ADDRESS = "0.0.0.0";
    public static final String DEFAULT_LOG_LEVEL = "warn";
    private static final Set<String> LOG_LEVELS = Set.of("error", "warn", "info", "debug");

    /**
     * @param env         the process environment (or a test map)
     * @param defaultPort 8080 for REST, 9090 for gRPC
     */
    public static AppConfig fromEnvironment(Map<String, String> env, int defaultPort) {
        DatabaseUrl database = DatabaseUrl.parse(env.get("DATABASE_URL")).withPasswordFallback(env.get("PGPASSWORD"));
        String bindAddress = valueOr(env, "BIND_ADDRESS", DEFAULT_BIND_ADDRESS);
        int port = intSetting(env, "PORT", defaultPort, 1, 65_535);
        int poolMax = intSetting(env, "DB_POOL_MAX", DEFAULT_POOL_MAX, 1, 10_000);
        int maxBodyBytes = intSetting(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1, Integer.MAX_VALUE);
        String logLevel = valueOr(env, "LOG_LEVEL", DEFAULT_LOG_LEVEL).toLowerCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(logLevel)) {
            throw new ConfigException("LOG_LEVEL must be one of error, warn, info, debug");
        }
        return new AppConfig(database, bindAddress, port, poolMax, logLevel, maxBodyBytes);
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
