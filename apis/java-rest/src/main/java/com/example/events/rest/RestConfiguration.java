package com.example.events.rest;

import static org.springframework.web.reactive.function.server.RequestPredicates.GET;
import static org.springframework.web.reactive.function.server.RequestPredicates.POST;
import static org.springframework.web.reactive.function.server.RequestPredicates.all;
import static org.springframework.web.reactive.function.server.RequestPredicates.path;

import com.example.events.common.AppConfig;
import com.example.events.common.ConnectionPools;
import com.example.events.common.EventRepository;
import com.example.events.common.JwtAuthenticator;
import com.example.events.common.Secrets;
import io.r2dbc.pool.ConnectionPool;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.web.embedded.netty.NettyReactiveWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.HandlerFilterFunction;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

@Configuration(proxyBeanMethods = false)
public class RestConfiguration {

    static final String EVENTS = "/api/v1/events";
    static final String BULK = "/api/v1/events/bulk";
    static final String HEALTH = "/api/v1/events/health";
    private static final Logger log = LoggerFactory.getLogger(RestConfiguration.class);

    // AppConfig and Secrets are registered by RestApplication.main, which reads them before Spring starts.

    /** Disposed after the web server's graceful stop, so in-flight requests still have the pool. */
    @Bean(destroyMethod = "dispose")
    ConnectionPool connectionPool(AppConfig config, Secrets secrets) {
        ConnectionPool pool = ConnectionPools.create(config, secrets.databasePassword());
        ConnectionPools.warmUpInBackground(pool);
        return pool;
    }

    @Bean
    EventRepository eventRepository(ConnectionPool pool) {
        return new EventRepository(pool);
    }

    /** The token check of the event routes when AUTH_ENABLED is on, a pass-through otherwise. */
    @Bean
    HandlerFilterFunction<ServerResponse, ServerResponse> eventAuthentication(AppConfig config, Secrets secrets) {
        AppConfig.Auth auth = config.auth();
        if (!auth.enabled()) {
            return BearerAuthentication.NONE;
        }
        return new BearerAuthentication(new JwtAuthenticator(secrets.jwtSecretKey(), auth.issuer(), auth.audience()));
    }

    @Bean
    ApplicationRunner startUpLine(AppConfig config, Secrets secrets) {
        return arguments -> log.info("REST API listening on {}:{}, database {}, auth {}, secrets {}",
                config.bindAddress(), config.port(), config.database(), config.auth().enabled() ? "on" : "off",
                secrets.fromStore() ? "read from SECRETS_URL in " + secrets.loadTime().toMillis() + " ms"
                        : "from the environment");
    }

    @Bean
    WebServerFactoryCustomizer<NettyReactiveWebServerFactory> listenFromEnvironment(AppConfig config) {
        return factory -> {
            factory.setPort(config.port());
            try {
                factory.setAddress(InetAddress.getByName(config.bindAddress()));
            } catch (UnknownHostException e) {
                throw new IllegalStateException("BIND_ADDRESS is not a valid address", e);
            }
        };
    }

    /**
     * Every path of the REST surface, each with its one method; any other method on a known path is a
     * 405 and any other path a 404, both as JSON. Only the two event routes pass the token check.
     */
    @Bean
    RouterFunction<ServerResponse> routes(EventHandler events,
            HandlerFilterFunction<ServerResponse, ServerResponse> eventAuthentication) {
        RouterFunction<ServerResponse> eventRoutes = RouterFunctions.route(POST(EVENTS), events::single)
                .andRoute(POST(BULK), events::bulk)
                .filter(eventAuthentication);
        return eventRoutes
                .andRoute(path(EVENTS), request -> events.methodNotAllowed("POST"))
                .andRoute(path(BULK), request -> events.methodNotAllowed("POST"))
                .andRoute(GET(HEALTH), events::health)
                .andRoute(path(HEALTH), request -> events.methodNotAllowed("GET"))
                .andRoute(all(), request -> events.notFound());
    }
}
