package com.example.events.grpc;

import com.example.events.common.AppConfig;
import com.example.events.common.ConnectionPools;
import com.example.events.common.EventRepository;
import com.example.events.common.ExitOnSignal;
import com.example.events.common.JwtAuthenticator;
import com.example.events.common.Secrets;
import com.example.events.common.Startup;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.r2dbc.pool.ConnectionPool;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Starts the gRPC API: EventService and grpc.health.v1.Health on one Netty server. */
public final class GrpcServerMain {

    static final int DEFAULT_PORT = 9090;
    static final long SHUTDOWN_GRACE_SECONDS = 30;
    private static final Logger log = Logger.getLogger(GrpcServerMain.class.getName());

    private GrpcServerMain() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        Startup startup = Startup.readOrExit(DEFAULT_PORT, settings -> applyLogLevel(settings.logLevel()));
        AppConfig config = startup.config();
        Secrets secrets = startup.secrets();
        ConnectionPool pool = ConnectionPools.create(config, secrets.databasePassword());
        ConnectionPools.warmUpInBackground(pool);
        EventRepository repository = new EventRepository(pool);

        ServerServiceDefinition events = ServerInterceptors.intercept(new EventServiceImpl(repository),
                authentication(config.auth(), secrets));
        Server server = NettyServerBuilder
                .forAddress(new InetSocketAddress(config.bindAddress(), config.port()))
                .maxInboundMessageSize(config.maxBodyBytes())
                // The handlers never block: validation is in memory and the database work is reactive.
                .directExecutor()
                .addService(events)
                .addService(new DatabaseHealthService(repository))
                .build()
                .start();
        log.info(() -> "gRPC API listening on " + config.bindAddress() + ":" + config.port()
                + ", database " + config.database() + ", auth " + (config.auth().enabled() ? "on" : "off")
                + ", secrets " + (secrets.fromStore()
                        ? "read from SECRETS_URL in " + secrets.loadTime().toMillis() + " ms"
                        : "from the environment"));

        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(server, pool), "grpc-shutdown"));
        ExitOnSignal.install();
        server.awaitTermination();
    }

    /** The token check of ProcessEvent when AUTH_ENABLED is on; no interceptor otherwise. */
    static ServerInterceptor[] authentication(AppConfig.Auth auth, Secrets secrets) {
        if (!auth.enabled()) {
            return new ServerInterceptor[0];
        }
        return new ServerInterceptor[] {new BearerAuthInterceptor(
                new JwtAuthenticator(secrets.jwtSecretKey(), auth.issuer(), auth.audience()))};
    }

    /** Stop accepting, let in-flight calls finish (bounded), then close the pool. */
    private static void stop(Server server, ConnectionPool pool) {
        server.shutdown();
        try {
            if (!server.awaitTermination(SHUTDOWN_GRACE_SECONDS, TimeUnit.SECONDS)) {
                server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        } finally {
            pool.dispose();
        }
    }

    /** LOG_LEVEL governs java.util.logging, which grpc-java uses and SLF4J (Reactor, R2DBC) is bound to. */
    static void applyLogLevel(String logLevel) {
        Level level = switch (logLevel) {
            case "error" -> Level.SEVERE;
            case "info" -> Level.INFO;
            case "debug" -> Level.FINE;
            default -> Level.WARNING;
        };
        Logger root = Logger.getLogger("");
        root.setLevel(level);
        for (Handler handler : root.getHandlers()) {
            handler.setLevel(level);
        }
        // grpc-java warns once per rejected oversize message; a client's mistake is not the server's
        // warning, and nothing is logged per request below debug.
        QUIET_PER_REQUEST_LOGGER.setLevel(level == Level.FINE ? Level.FINE : Level.SEVERE);
    }

    /** Held strongly: java.util.logging keeps only weak references to configured loggers. */
    private static final Logger QUIET_PER_REQUEST_LOGGER =
            Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream");
}
