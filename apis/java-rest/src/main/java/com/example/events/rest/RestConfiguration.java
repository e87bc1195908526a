package com.example.events.rest;

import static org.springframework.web.reactive.function.server.RequestPredicates.GET;
import static org.springframework.web.reactive.function.server.RequestPredicates.POST;
import static org.springframework.web.reactive.function.server.RequestPredicates.all;
import static org.springframework.web.reactive.function.server.RequestPredicates.path;

import com.example.events.common.AppConfig;
import com.example.events.common.ConnectionPools;
import com.example.events.common.EventRepository;
import io.r2dbc.pool.ConnectionPool;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.springframework.boot.web.embedded.netty.NettyReactiveWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

@Configuration(proxyBeanMethods = false)
public class RestConfiguration {

    static final String EVENTS = "/api/v1/events";
    static final String BULK = "/api/v1/events/bulk";
    static final String HEALTH = "/api/v1/events/health";

    @Bean
    AppConfig appConfig() {
        return AppConfig.fromEnvironment(System.getenv(), 8080);
    }

    /** Disposed after the web server's graceful stop, so in-flight requests still have the pool. */
    @Bean(destroyMethod = "dispose")
    ConnectionPool connectionPool(AppConfig config) {
        return ConnectionPools.create(config);
    }

    @Bean
    EventRepository eventRepository(ConnectionPool pool) {
        return new EventRepository(pool);
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
     * 405 and any other path a 404, both as JSON.
     */
    @Bean
    RouterFunction<ServerResponse> routes(EventHandler events) {
        return RouterFunctions.route(POST(EVENTS), events::single)
                .andRoute(path(EVENTS), request -> events.methodNotAllowed("POST"))
                .andRoute(POST(BULK), events::bulk)
                .andRoute(path(BULK), request -> events.methodNotAllowed("POST"))
                .andRoute(GET(HEALTH), events::health)
                .andRoute(path(HEALTH), request -> events.methodNotAllowed("GET"))
                .andRoute(all(), request -> events.notFound());
    }
}
