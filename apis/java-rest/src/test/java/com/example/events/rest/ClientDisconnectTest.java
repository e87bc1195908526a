package com.example.events.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.example.events.common.AppConfig;
import com.example.events.common.EventRepository;
import com.example.events.common.ScriptedDatabase;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import org.springframework.web.reactive.function.server.RouterFunctions;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * contract/CONTRACT.md, "Saturation": once the body is in, a client that goes away does not interrupt the
 * transaction. A real Reactor Netty server and a raw socket that closes before the answer.
 */
class ClientDisconnectTest {

    static final String EVENT = AuthenticationTest.EVENT;

    private ScriptedDatabase database;
    private DisposableServer server;

    @BeforeEach
    void startServer() {
        AppConfig config = AppConfig.fromEnvironment(Map.of("DATABASE_URL", "postgres://u@localhost/db"), 8080);
        // Committing takes long enough for the client to be gone before the answer.
        database = new ScriptedDatabase(Duration.ZERO, Duration.ofMillis(500));
        EventHandler handler = new EventHandler(new EventRepository(database), config);
        var httpHandler = RouterFunctions.toHttpHandler(new RestConfiguration().routes(handler, BearerAuthentication.NONE));
        server = HttpServer.create().host("127.0.0.1").port(0)
                .handle(new ReactorHttpHandlerAdapter(httpHandler)).bindNow(Duration.ofSeconds(10));
    }

    @AfterEach
    void stopServer() {
        server.disposeNow(Duration.ofSeconds(5));
    }

    /** Sends the request head and {@code sendBytes} of the body, waits, then closes the connection. */
    private void sendAndHangUp(String path, String body, int sendBytes, long waitMs) throws Exception {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes, 0, sendBytes);
            out.flush();
            Thread.sleep(waitMs);
        }
    }

    @Test
    void aClientThatLeavesDuringTheTransactionStillGetsItsEventCommitted() throws Exception {
        sendAndHangUp("/api/v1/events", EVENT, EVENT.length(), 150);
        assertThat(database.awaitCommits(1)).isEqualTo(1);
        Thread.sleep(200);
        assertThat(database.rollbacks.get()).isZero();
    }

    @Test
    void aClientThatLeavesRightAfterItsBodyStillGetsItsEventCommitted() throws Exception {
        sendAndHangUp("/api/v1/events", EVENT, EVENT.length(), 0);
        assertThat(database.awaitCommits(1)).isEqualTo(1);
        assertThat(database.rollbacks.get()).isZero();
    }

    @Test
    void aBatchRunsToItsEndWhenTheClientLeaves() throws Exception {
        String second = EVENT.replace("550e8400", "650e8400");
        String third = EVENT.replace("550e8400", "750e8400");
        sendAndHangUp("/api/v1/events/bulk", "[" + EVENT + "," + second + "," + third + "]", 0, 0);
        sendAndHangUp("/api/v1/events/bulk", "[" + EVENT + "," + second + "," + third + "]",
                ("[" + EVENT + "," + second + "," + third + "]").length(), 150);
        assertThat(database.awaitCommits(3)).isEqualTo(3);
        assertThat(database.rollbacks.get()).isZero();
    }

    @Test
    void aBodyThatDidNotArriveInFullWritesNothing() throws Exception {
        sendAndHangUp("/api/v1/events", EVENT, EVENT.length() / 2, 100);
        Thread.sleep(500);
        assertThat(database.statements).isEmpty();
        assertThat(database.opened.get()).isZero();
    }
}
