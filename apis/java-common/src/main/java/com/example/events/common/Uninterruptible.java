package com.example.events.common;

import reactor.core.publisher.Mono;

/**
 * Work that runs to its end once started, whoever still waits for it (contract/CONTRACT.md, "Saturation":
 * a client that goes away never interrupts the transaction).
 *
 * <p>In Reactor a subscriber's cancel travels upstream: a closed HTTP exchange or a cancelled gRPC call would
 * cancel the database work, and {@code usingWhen} would roll the transaction back. Here the work is
 * subscribed on its own (as a future) when the returned Mono is subscribed; cancelling the returned Mono only
 * drops the outcome.
 */
public final class Uninterruptible {

    private Uninterruptible() {
    }

    public static <T> Mono<T> of(Mono<T> work) {
        return Mono.defer(() -> Mono.fromFuture(work.toFuture(), true));
    }
}
