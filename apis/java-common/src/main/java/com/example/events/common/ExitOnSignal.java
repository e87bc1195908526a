package com.example.events.common;

import sun.misc.Signal;

/**
 * The contract wants exit status 0 after SIGTERM. The JVM's default handler exits with 143; this one
 * calls {@link System#exit(int)} with 0, which still runs every shutdown hook (graceful server stop,
 * pool close) before the process ends.
 */
public final class ExitOnSignal {

    private ExitOnSignal() {
    }

    public static void install() {
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> new Thread(() -> System.exit(0), "exit-on-sig" + name).start());
        }
    }
}
