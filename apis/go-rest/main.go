// Command go-rest is the Go REST API of the lab: Gin and pgx v5 over the shared internal packages.
// Settings come only from the environment contract (contract/CONTRACT.md).
package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/httpapi"
	"github.com/perflab/apilab/internal/lifecycle"
)

func main() {
	if err := lifecycle.Run(config.DefaultRESTPort, newServer); err != nil {
		fmt.Fprintln(os.Stderr, "go-rest:", err)
		os.Exit(1)
	}
}

func newServer(s lifecycle.Services) lifecycle.Server {
	return &http.Server{
		Handler:           newRouter(httpapi.New(s.Events, s.Tokens, s.Config.MaxBodyBytes, s.Log), s.Log),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelDebug),
	}
}
