// Package lambdarun holds the start-up both Lambda functions share: the environment contract (and the
// secrets from AWS Secrets Manager or the secrets store), the logger, the token verifier, the lazily
// opened database pool, and the Lambda runtime loop with a SIGTERM hook that closes the pool.
package lambdarun

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/perflab/apilab/internal/app"
	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/lambda/internal/lambdaenv"
	"github.com/perflab/apilab/lambda/internal/lazydb"
)

// Services are what a function's handler is built from.
type Services struct {
	Config config.Config
	DB     *lazydb.Store
	// Tokens verifies bearer tokens; nil when AUTH_ENABLED is off.
	Tokens *auth.Verifier
	Log    *slog.Logger
}

// Start loads the settings (with DATABASE_SECRET_ARN / JWT_SECRET_ARN, the secrets from Secrets Manager;
// with SECRETS_URL, from the secrets store, refreshed like in every API; both read here once per execution
// environment) and serves the handler newHandler returns (any handler lambda.Start accepts) until Lambda
// shuts the environment down; it never returns. An invalid configuration or an unreadable secret exits
// with status 1 and a message naming it: an init error, which Lambda reports and retries the environment
// on; no invocation runs.
func Start(newHandler func(Services) any) {
	ctx := context.Background()
	cfg, err := lambdaenv.Load(ctx)
	if err != nil {
		slog.Error("invalid configuration", "error", err) // never holds the password or the key
		os.Exit(1)
	}
	log := cfg.NewLogger()
	parts, err := app.Prepare(ctx, cfg, log)
	if err != nil {
		log.Error("reading the secrets failed", "error", err)
		os.Exit(1)
	}
	if cfg.SecretsURL != "" {
		log.Info("secrets read", "secretsReadMs", parts.SecretsReadTime.Milliseconds())
	}
	db := lazydb.New(cfg, parts.StoreOptions...)
	handler := newHandler(Services{Config: cfg, DB: db, Tokens: parts.Tokens, Log: log})
	lambda.StartWithOptions(handler, lambda.WithEnableSIGTERM(func() {
		db.Close()
		os.Exit(0)
	}))
}
