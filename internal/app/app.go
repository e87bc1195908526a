// Package app assembles, from the configuration, what every Go API needs besides its own surface: where the
// database password and the JWT key come from (the environment, or the secrets store with its refresh)
// and the token verifier. The long-running APIs (internal/lifecycle) and the Lambdas (lambda/internal/
// lambdarun) both start with Prepare, so the rules of the contract's "Authentication" and "Secrets" live
// in one place.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/perflab/apilab/internal/auth"
	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/secrets"
	"github.com/perflab/apilab/internal/store"
)

// Parts are the pieces Prepare assembled.
type Parts struct {
	// StoreOptions go to store.Open: with SECRETS_URL, the password of each new connection.
	StoreOptions []store.Option
	// Tokens verifies bearer tokens; nil when AUTH_ENABLED is off.
	Tokens *auth.Verifier
	// SecretsReadTime is how long the start-up read of the secrets took; zero without SECRETS_URL.
	SecretsReadTime time.Duration
}

// Prepare reads the secrets when SECRETS_URL is set (db-password, and jwt-secret-key when auth is on),
// failing with an error that names the secret that could not be read; it then refreshes them every
// SECRETS_REFRESH_INTERVAL until ctx is done. Without SECRETS_URL the key is JWT_SECRET_KEY and the
// password stays with DATABASE_URL / PGPASSWORD.
func Prepare(ctx context.Context, cfg config.Config, log *slog.Logger) (Parts, error) {
	envKey := cfg.JWTSecretKey.Bytes()
	jwtKey := func() []byte { return envKey }
	var parts Parts
	if cfg.SecretsURL != "" {
		specs := []secrets.Spec{{Name: secrets.DBPassword}}
		if cfg.AuthEnabled {
			specs = append(specs, secrets.Spec{Name: secrets.JWTSecretKey, Check: secrets.CheckJWTKey})
		}
		started := time.Now()
		set, err := secrets.Load(ctx, secrets.NewClient(cfg.SecretsURL), log, specs...)
		if err != nil {
			return Parts{}, err
		}
		parts.SecretsReadTime = time.Since(started)
		parts.StoreOptions = append(parts.StoreOptions, store.WithPassword(set.Getter(secrets.DBPassword)))
		if cfg.AuthEnabled {
			storeKey := set.Getter(secrets.JWTSecretKey)
			jwtKey = func() []byte { return []byte(storeKey()) }
		}
		go set.RefreshEvery(ctx, cfg.SecretsRefreshInterval)
	}
	if cfg.AuthEnabled {
		parts.Tokens = auth.New(jwtKey, cfg.JWTIssuer, cfg.JWTAudience)
	}
	return parts, nil
}
