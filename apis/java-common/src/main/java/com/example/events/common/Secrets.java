package com.example.events.common;

import com.example.events.common.SecretsClient.SecretReadException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The two secrets an API uses while it runs, the database password and the JWT key (contract/CONTRACT.md,
 * "Secrets"). Without {@code SECRETS_URL} they come from the environment and never change. With it they are
 * read from the store at start-up ({@link #load}: a secret that cannot be read stops the API) and again every
 * {@code SECRETS_REFRESH_INTERVAL} ({@link #startRefreshing}: a failed refresh keeps the values it has).
 *
 * <p>Consumers hold {@link Supplier}s, not values: a new password is used by the connections opened after
 * the refresh, a new key verifies the requests that arrive after it.
 */
public final class Secrets implements AutoCloseable {

    public static final String DB_PASSWORD = "db-password";
    public static final String JWT_SECRET_KEY = "jwt-secret-key";
    private static final Logger log = LoggerFactory.getLogger(Secrets.class);

    private final AppConfig config;
    private final SecretsClient store;
    private final Duration loadTime;
    private volatile String storedDbPassword;
    private volatile String storedJwtKey;
    private ScheduledExecutorService refresher;

    private Secrets(AppConfig config, SecretsClient store, String dbPassword, String jwtKey, Duration loadTime) {
        this.config = config;
        this.store = store;
        this.storedDbPassword = dbPassword;
        this.storedJwtKey = jwtKey;
        this.loadTime = loadTime;
    }

    /**
     * Reads the secrets the configuration asks for: {@code db-password}, and {@code jwt-secret-key} when auth
     * is on, each with the store client's retries.
     *
     * @throws ConfigException naming the secret that could not be read or is out of range
     */
    public static Secrets load(AppConfig config) {
        if (config.secrets() == null) {
            return new Secrets(config, null, null, null, Duration.ZERO);
        }
        return load(config, new SecretsClient(config.secrets().url()));
    }

    static Secrets load(AppConfig config, SecretsClient store) {
        long started = System.nanoTime();
        String dbPassword = readAtStartUp(store, DB_PASSWORD);
        String jwtKey = null;
        if (config.auth().enabled()) {
            jwtKey = readAtStartUp(store, JWT_SECRET_KEY);
            AppConfig.checkJwtKey(jwtKey, "secret " + JWT_SECRET_KEY);
        }
        return new Secrets(config, store, dbPassword, jwtKey, Duration.ofNanos(System.nanoTime() - started));
    }

    private static String readAtStartUp(SecretsClient store, String name) {
        try {
            return store.read(name);
        } catch (SecretReadException e) {
            throw new ConfigException(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConfigException("interrupted while reading secret " + name);
        }
    }

    /** True when the secrets come from {@code SECRETS_URL}. */
    public boolean fromStore() {
        return store != null;
    }

    /** How long the start-up read of the secrets took (zero without a store). */
    public Duration loadTime() {
        return loadTime;
    }

    /**
     * The password for each new connection: a password in {@code DATABASE_URL} wins, then the store's
     * {@code db-password}, then {@code PGPASSWORD}; {@code null} when there is none at all.
     */
    public Supplier<String> databasePassword() {
        String fixed = config.database().password();
        if (config.databaseUrlHasPassword() || store == null) {
            return fixed == null ? null : () -> fixed;
        }
        return () -> storedDbPassword;
    }

    /** The current JWT key: the store's {@code jwt-secret-key}, or {@code JWT_SECRET_KEY}. */
    public Supplier<String> jwtSecretKey() {
        if (store == null) {
            String fixed = config.auth().secretKey();
            return () -> fixed;
        }
        return () -> storedJwtKey;
    }

    /** Reads the secrets again every {@code SECRETS_REFRESH_INTERVAL}, on a daemon thread; no-op without a store. */
    public synchronized void startRefreshing() {
        if (store == null || refresher != null) {
            return;
        }
        refresher = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "secrets-refresh");
            thread.setDaemon(true);
            return thread;
        });
        long interval = config.secrets().refreshInterval().toMillis();
        refresher.scheduleWithFixedDelay(() -> {
            try {
                refresh();
            } catch (RuntimeException unexpected) {
                // An exception would cancel every later run of the schedule.
                log.warn("refresh of the secrets failed, keeping the previous values", unexpected);
            }
        }, interval, interval, TimeUnit.MILLISECONDS);
    }

    /** One refresh of every secret in use; a secret that cannot be read keeps its value. */
    void refresh() {
        String dbPassword = refreshed(DB_PASSWORD);
        if (dbPassword != null) {
            storedDbPassword = dbPassword;
        }
        if (config.auth().enabled()) {
            String jwtKey = refreshed(JWT_SECRET_KEY);
            if (jwtKey != null) {
                try {
                    AppConfig.checkJwtKey(jwtKey, "secret " + JWT_SECRET_KEY);
                    storedJwtKey = jwtKey;
                } catch (ConfigException tooShort) {
                    log.warn("refresh of secret {} ignored, keeping the previous value: {}",
                            JWT_SECRET_KEY, tooShort.getMessage());
                }
            }
        }
    }

    private String refreshed(String name) {
        try {
            return store.read(name);
        } catch (SecretReadException e) {
            log.warn("refresh of secret {} failed, keeping the previous value: {}", name, e.getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    @Override
    public synchronized void close() {
        if (refresher != null) {
            refresher.shutdownNow();
        }
    }
}
