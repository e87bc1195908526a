// Package lifecycle holds the start-up and graceful shutdown the long-running Go APIs share: settings from the
// environment contract, the logger, the database pool, the listener, and a bounded stop on SIGTERM.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/store"
)

// ShutdownGrace bounds how long in-flight requests or calls may take to finish after SIGTERM.
const ShutdownGrace = 30 * time.Second

// Server is what Run serves: *http.Server as it is, a grpc.Server through a small adapter.
type Server interface {
	// Serve accepts on the listener until the server is shut down.
	Serve(net.Listener) error
	// Shutdown stops accepting and waits for in-flight work, at most until ctx is done.
	Shutdown(ctx context.Context) error
}

// Run loads the settings (defaultPort when PORT is unset), opens the store, listens, and serves the server
// newServer builds until SIGTERM or an interrupt; then it shuts the server down within ShutdownGrace and
// closes the pool.
func Run(defaultPort int, newServer func(cfg config.Config, events *store.Store, log *slog.Logger) Server) error {
	cfg, err := config.Load(defaultPort)
	if err != nil {
		return err
	}
	log := cfg.NewLogger()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	events, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer events.Close()

	listener, err := net.Listen("tcp", cfg.ListenAddress())
	if err != nil {
		return err
	}
	server := newServer(cfg, events, log)
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	log.Info("listening", "address", listener.Addr().String(), "dbPoolMax", cfg.DBPoolMax, "maxBodyBytes", cfg.MaxBodyBytes)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	// Shutdown stops accepting and waits for in-flight work; the deferred Close then closes the pool.
	if err := server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
