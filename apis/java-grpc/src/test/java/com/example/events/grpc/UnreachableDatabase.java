package com.example.events.grpc;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/** A connection factory whose database never answers, as during an outage. */
final class UnreachableDatabase implements ConnectionFactory {

    @Override
    public Publisher<? extends Connection> create() {
        return Mono.error(new R2dbcNonTransientResourceException("Connection refused"));
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return () -> "unreachable";
    }
}
