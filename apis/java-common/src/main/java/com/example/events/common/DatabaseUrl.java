package com.example.events.common;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code DATABASE_URL} in libpq URL form: {@code postgres://user:password@host:port/db?sslmode=...}; without a
 * password, {@code PGPASSWORD} ({@link #withPasswordFallback}).
 *
 * <p>{@link #toString()} leaves the password out, so the value can be logged safely.
 */
public record DatabaseUrl(String host, int port, String database, String user, String password, String sslMode) {

    private static final int DEFAULT_PORT = 5432;
    /** libpq's default; the other APIs' drivers default to it too. */
    private static final String DEFAULT_SSL_MODE = "prefer";

    public static DatabaseUrl parse(String url) {
        if (url == null || url.isBlank()) {
            throw new ConfigException("DATABASE_URL is required");
        }
        URI uri;
        try {
            uri = new URI(url.trim());
        } catch (URISyntaxException e) {
            throw new ConfigException("DATABASE_URL is not a valid URL");
        }
        String scheme = uri.getScheme();
        if (!"postgres".equals(scheme) && !"postgresql".equals(scheme)) {
            throw new ConfigException("DATABASE_URL must start with postgres:// or postgresql://");
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw new ConfigException("DATABASE_URL has no host");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort();
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        String database = decode(path.startsWith("/") ? path.substring(1) : path);
        if (database.isEmpty()) {
            throw new ConfigException("DATABASE_URL has no database name");
        }
        String user = null;
        String password = null;
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null) {
            int colon = userInfo.indexOf(':');
            user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
            password = colon < 0 ? null : decode(userInfo.substring(colon + 1));
        }
        if (user == null || user.isEmpty()) {
            throw new ConfigException("DATABASE_URL has no user");
        }
        Map<String, String> query = query(uri.getRawQuery());
        String sslMode = query.getOrDefault("sslmode", DEFAULT_SSL_MODE);
        return new DatabaseUrl(host, port, database, user, password, sslMode);
    }

    /**
     * libpq's rule, which the other APIs' drivers follow: a URL without a password takes {@code PGPASSWORD}
     * (how ECS hands over the database secret); a password in the URL wins. r2dbc-postgresql reads no
     * environment variable itself, so {@link AppConfig} applies it.
     */
    public DatabaseUrl withPasswordFallback(String pgPassword) {
        boolean urlHasPassword = password != null && !password.isEmpty();
        if (urlHasPassword || pgPassword == null || pgPassword.isEmpty()) {
            return this;
        }
        return new DatabaseUrl(host, port, database, user, pgPassword, sslMode);
    }

    private static Map<String, String> query(String rawQuery) {
        Map<String, String> params = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return params;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                params.put(decode(pair.substring(0, eq)), decode(pair.substring(eq + 1)));
            }
        }
        return params;
    }

    private static String decode(String raw) {
        return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "postgres://" + user + "@" + host + ":" + port + "/" + database + "?sslmode=" + sslMode;
    }
}
