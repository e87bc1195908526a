// Package lambdarun holds the start-up both Lambda functions share: the environment contract (and the
// database secret), the logger, the lazily opened database pool, and the Lambda runtime loop with a
// SIGTERM hook that closes the pool.
package lambdarun

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/lambda/internal/lambdaenv"
	"github.com/perflab/apilab/lambda/internal/lazydb"
)

// Start loads the settings (with DATABASE_SECRET_ARN, the database password from Secrets Manager, read here
// once per execution environment) and serves the handler newHandler returns (any handler lambda.Start
// accepts) until Lambda shuts the environment down; it never returns. An invalid configuration or an
// unreadable secret exits with status 1: an init error, which Lambda reports and retries the environment
// on; no invocation runs.
func Start(newHandler func(cfg config.Config, db *lazydb.Store, log *slog.Logger) any) {
	cfg, err := lambdaenv.Load(context.Background())
	if err != nil {
		slog.Error("invalid configuration", "error", err) // never holds the password
		os.Exit(1)
	}
	log := cfg.NewLogger()
	db := lazydb.New(cfg)
	lambda.StartWithOptions(newHandler(cfg, db, log), lambda.WithEnableSIGTERM(func() {
		db.Close()
		os.Exit(0)
	}))
}
