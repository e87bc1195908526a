// Package lifecycle holds the start-up and graceful shutdown the long-running Go APIs share: settings from the
// environment contract, the logger, the secrets and the token verifier (internal/app), the database pool,
// the listener, and a bounded stop on SIGTERM.
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

	"github.com/perflab/apilab/internal/app"
	"github.com/perflab/apilab/internal/auth"
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

// Services are what an API's server is built from.
type Services struct {
	Config config.Config
	Events *store.Store
	// Tokens verifies bearer tokens; nil when AUTH_ENABLED is off.
	Tokens *auth.Verifier
	Log    *slog.Logger
}

// Run loads the settings (defaultPort when PORT is unset), reads the secrets, opens the store, listens,
// and serves the server newServer builds until SIGTERM or an interrupt; then it shuts the server down
// within ShutdownGrace and closes the pool. An error (invalid settings, a secret that cannot be read)
// is for the caller to print before exiting with status 1.
func Run(defaultPort int, newServer func(Services) Server) error {
	cfg, err := config.Load(defaultPort)
	if err != nil {
		return err
	}
	log := cfg.NewLogger()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	parts, err := app.Prepare(ctx, cfg, log)
	if err != nil {
		return err
	}
	events, err := store.Open(ctx, cfg, parts.StoreOptions...)
	if err != nil {
		return err
	}
	defer events.Close()

	listener, err := net.Listen("tcp", cfg.ListenAddress())
	if err != nil {
		return err
	}
	server := newServer(Services{Config: cfg, Events: events, Tokens: parts.Tokens, Log: log})
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	attrs := []any{"address", listener.Addr().String(), "dbPoolMax", cfg.DBPoolMax,
		"dbAcquireTimeoutMs", cfg.DBAcquireTimeout.Milliseconds(), "maxBodyBytes", cfg.MaxBodyBytes, "auth", cfg.AuthEnabled}
	if cfg.SecretsURL != "" {
		attrs = append(attrs, "secretsReadMs", parts.SecretsReadTime.Milliseconds())
	}
	log.Info("listening", attrs...)

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
