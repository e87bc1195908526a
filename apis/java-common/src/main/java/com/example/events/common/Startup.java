package com.example.events.common;

import java.util.function.Consumer;

/** What an API reads before it serves: its settings from the environment, then its secrets. */
public record Startup(AppConfig config, Secrets secrets) {

    /**
     * Reads the environment contract ({@code PORT} defaults to {@code defaultPort}), hands the settings to
     * {@code configured} (for what must be in place before the secrets are read, such as the log level),
     * reads the secrets and starts their refresh. A bad setting or an unreadable secret stops the API with one
     * line naming it and exit code 1, not a stack trace.
     */
    public static Startup readOrExit(int defaultPort, Consumer<AppConfig> configured) {
        AppConfig config;
        Secrets secrets;
        try {
            config = AppConfig.fromEnvironment(System.getenv(), defaultPort);
            configured.accept(config);
            secrets = Secrets.load(config);
        } catch (ConfigException e) {
            System.err.println("configuration error: " + e.getMessage());
            System.exit(1);
            throw new IllegalStateException("System.exit returned", e);
        }
        secrets.startRefreshing();
        return new Startup(config, secrets);
    }
}
