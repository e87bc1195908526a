package com.example.events.grpc;

import com.example.events.common.AppConfig;
import com.example.events.common.ConfigException;
import com.example.events.common.ConnectionPools;
import com.example.events.common.EventRepository;
import com.example.events.common.ExitOnSignal;
import io.grpc.Server;
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
        AppConfig config;
        try {
            config = AppConfig.fromEnvironment(System.getenv(), DEFAULT_PORT);
        } catch (ConfigException e) {
            System.err.println("configuration error: " + e.getMessage());
            System.exit(2);
            return;
        }
        applyLogLevel(config.logLevel());
        ConnectionPool pool = ConnectionPools.create(config);
        EventRepository repository = new EventRepository(pool);

        Server server = NettyServerBuilder
                .forAddress(new InetSocketAddress(config.bindAddress(), config.port()))
                .maxInboundMessageSize(config.maxBodyBytes())
                // The handlers never block: validation is in memory and the database work is reactive.
                .directExecutor()
                .addService(new EventServiceImpl(repository))
                .addService(new DatabaseHealthService(repository))
                .build()
                .start();
        log.info(() -> "gRPC API listening on " + config.bindAddress() + ":" + config.port()
                + ", database " + config.database());

        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(server, pool), "grpc-shutdown"));
        ExitOnSignal.install();
        server.awaitTermination();
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
