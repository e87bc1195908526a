package com.example.events.common;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * An in-memory stand-in for PostgreSQL behind the R2DBC SPI: every statement "affects" one row, opening a
 * connection and committing take as long as asked, and what happened is counted. Shared with the service
 * modules' tests through java-common's test-jar.
 *
 * <p>{@link #refusing} makes it refuse, like PostgreSQL refuses a number beyond numeric's range, every
 * statement with a bound value containing a given text: so a test sees that text reach the database verbatim.
 */
public final class ScriptedDatabase implements ConnectionFactory {

    public final AtomicInteger opened = new AtomicInteger();
    public final AtomicInteger commits = new AtomicInteger();
    public final AtomicInteger rollbacks = new AtomicInteger();
    public final List<String> statements = new CopyOnWriteArrayList<>();
    /** Bumped by {@link #restart()}: a connection of an older generation is closed. */
    private final AtomicInteger generation = new AtomicInteger();

    private final Duration connectDelay;
    private final Duration commitDelay;
    /** A statement with a bound value containing this text fails with SQLSTATE 22003; null: none fails. */
    private final String refusedText;

    public ScriptedDatabase() {
        this(Duration.ZERO, Duration.ZERO);
    }

    public ScriptedDatabase(Duration connectDelay, Duration commitDelay) {
        this(connectDelay, commitDelay, null);
    }

    private ScriptedDatabase(Duration connectDelay, Duration commitDelay, String refusedText) {
        this.connectDelay = connectDelay;
        this.commitDelay = commitDelay;
        this.refusedText = refusedText;
    }

    /** A database that answers "value overflows numeric format" to a statement binding {@code text}. */
    public static ScriptedDatabase refusing(String text) {
        return new ScriptedDatabase(Duration.ZERO, Duration.ZERO, text);
    }

    @Override
    public Publisher<? extends Connection> create() {
        return Mono.delay(connectDelay).map(ignored -> {
            opened.incrementAndGet();
            return connection();
        });
    }

    /** Waits (10 s at the most) until {@code atLeast} transactions have committed; returns the count then. */
    public int awaitCommits(int atLeast) throws InterruptedException {
        return awaitAtLeast(commits, atLeast);
    }

    /** Waits (10 s at the most) until {@code atLeast} connections have been opened; returns the count then. */
    public int awaitOpened(int atLeast) throws InterruptedException {
        return awaitAtLeast(opened, atLeast);
    }

    private static int awaitAtLeast(AtomicInteger counter, int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (counter.get() < atLeast && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return counter.get();
    }

    /** The server restarts: every connection opened so far is closed (its LOCAL validation says so). */
    public void restart() {
        generation.incrementAndGet();
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return () -> "scripted";
    }

    private Connection connection() {
        int bornIn = generation.get();
        return proxy(Connection.class, (method, args) -> switch (method.getName()) {
            case "commitTransaction" -> Mono.delay(commitDelay).doOnNext(ignored -> commits.incrementAndGet()).then();
            case "rollbackTransaction" -> Mono.fromRunnable(rollbacks::incrementAndGet);
            case "createStatement" -> statement((String) args[0]);
            case "validate" -> Mono.fromSupplier(() -> generation.get() == bornIn);
            case "isAutoCommit" -> true;
            default -> Publisher.class.isAssignableFrom(method.getReturnType()) ? Mono.empty() : unsupported(method);
        });
    }

    private Statement statement(String sql) {
        Statement[] self = new Statement[1];
        List<Object> bound = new ArrayList<>();
        self[0] = proxy(Statement.class, (method, args) -> {
            if (method.getName().equals("execute")) {
                statements.add(sql);
                if (refusedText != null && bound.stream().anyMatch(value -> String.valueOf(value).contains(refusedText))) {
                    return Mono.error(new R2dbcNonTransientResourceException("value overflows numeric format", "22003"));
                }
                return Mono.just(result());
            }
            if (method.getName().equals("bind")) {
                bound.add(args[1]);
            }
            return method.getReturnType() == Statement.class ? self[0] : unsupported(method);
        });
        return self[0];
    }

    private static Result result() {
        return proxy(Result.class, (method, args) -> switch (method.getName()) {
            case "getRowsUpdated" -> Mono.just(1L);
            case "map" -> Flux.just(1);
            default -> unsupported(method);
        });
    }

    private static Object unsupported(Method method) {
        throw new UnsupportedOperationException(method.getName());
    }

    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type, BiFunction<Method, Object[], Object> behaviour) {
        return (T) Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (instance, method, args) ->
                switch (method.getName()) {
                    case "toString" -> "scripted " + type.getSimpleName();
                    case "hashCode" -> System.identityHashCode(instance);
                    case "equals" -> instance == args[0];
                    default -> behaviour.apply(method, args);
                });
    }
}
