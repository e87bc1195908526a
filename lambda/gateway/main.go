// Command gateway is a small local stand-in for an API Gateway HTTP API in front of Lambda
// functions running under the AWS Lambda Runtime Interface Emulator. It is for functional tests
// and local measurements; it does not model AWS scaling.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	// No default address: the stack (or lambda/local.sh) gives both from the catalogue.
	listen := flag.String("listen", os.Getenv("GATEWAY_LISTEN"), "address to listen on, e.g. 127.0.0.1:9084 (env GATEWAY_LISTEN)")
	emulators := flag.String("emulators", os.Getenv("GATEWAY_EMULATORS"),
		"comma-separated emulator base URLs, one per execution environment (env GATEWAY_EMULATORS)")
	queueTimeout := flag.Duration("queue-timeout", 30*time.Second, "longest wait for a free emulator before 429")
	invokeTimeout := flag.Duration("invoke-timeout", 35*time.Second, "longest invocation (above the function timeout)")
	flag.Parse()
	if *listen == "" || *emulators == "" {
		fmt.Fprintln(os.Stderr, "gateway: give -listen and -emulators (or GATEWAY_LISTEN and GATEWAY_EMULATORS)")
		os.Exit(2)
	}

	var urls []string
	for _, u := range strings.Split(*emulators, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	gw, err := NewGateway(urls, *queueTimeout, *invokeTimeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(2)
	}
	server := &http.Server{Addr: *listen, Handler: gw, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), *invokeTimeout)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	log.Printf("gateway: listening on %s, %d emulator(s)", *listen, len(urls))
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
