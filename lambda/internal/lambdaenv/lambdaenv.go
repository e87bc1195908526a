// Package lambdaenv reads the environment contract for a Lambda function: the same variables as
// every API, with one Lambda-specific default, and DATABASE_SECRET_ARN and JWT_SECRET_ARN
// (contract/CONTRACT.md, "Environment" and "Secrets").
package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/lambda/internal/dbsecret"
)

// DefaultDBPoolMax is the pool size of one execution environment when DB_POOL_MAX is unset.
// An environment serves one invocation at a time, so it needs one connection for the event and
// one spare for a health check racing a slow statement; N environments then hold 2N connections,
// which is what keeps a scaled-out Lambda fleet under max_connections.
const DefaultDBPoolMax = 2

// SecretsManager reads the two secrets a Lambda may take from AWS Secrets Manager.
type SecretsManager interface {
	// Credentials reads DATABASE_SECRET_ARN's RDS-managed secret.
	Credentials(ctx context.Context, arn string) (dbsecret.Credentials, error)
	// Text reads JWT_SECRET_ARN's secret: its text is the JWT key.
	Text(ctx context.Context, arn string) (string, error)
}

type awsSecretsManager struct{}

func (awsSecretsManager) Credentials(ctx context.Context, arn string) (dbsecret.Credentials, error) {
	return dbsecret.Fetch(ctx, arn)
}

func (awsSecretsManager) Text(ctx context.Context, arn string) (string, error) {
	return dbsecret.FetchText(ctx, arn)
}

// Load reads the process environment; it runs once per execution environment, at cold start. With
// DATABASE_SECRET_ARN set it reads the database credentials from AWS Secrets Manager (dbsecret.Fetch:
// retries, bounded time) and puts them into DatabaseURL where the URL has none. With AUTH_ENABLED on and
// JWT_SECRET_ARN set (and no SECRETS_URL, whose store would provide the key), the JWT key is that
// secret's text, in place of JWT_SECRET_KEY. PORT and BIND_ADDRESS are ignored by functions: the Lambda
// runtime API decides where invocations come from.
func Load(ctx context.Context) (config.Config, error) {
	return load(ctx, os.LookupEnv, awsSecretsManager{})
}

func load(ctx context.Context, env func(string) (string, bool), secrets SecretsManager) (config.Config, error) {
	env, err := withKeyFromSecretsManager(ctx, env, secrets)
	if err != nil {
		return config.Config{}, err
	}
	cfg, err := config.FromLookup(lookup(env), config.DefaultRESTPort)
	if err != nil {
		return config.Config{}, err
	}
	arn, _ := env("DATABASE_SECRET_ARN")
	if arn = strings.TrimSpace(arn); arn == "" {
		return cfg, nil // locally (emulator): the password is in DATABASE_URL or PGPASSWORD
	}
	credentials, err := secrets.Credentials(ctx, arn)
	if err != nil {
		return config.Config{}, fmt.Errorf("DATABASE_SECRET_ARN: %w", err)
	}
	if cfg.DatabaseURL, err = withCredentials(cfg.DatabaseURL, credentials); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// withKeyFromSecretsManager returns env with JWT_SECRET_KEY read from JWT_SECRET_ARN when the key is
// needed (auth on) and no secrets store provides it; config.FromLookup then checks it like any key.
func withKeyFromSecretsManager(ctx context.Context, env func(string) (string, bool), secrets SecretsManager) (func(string) (string, bool), error) {
	arn, _ := env("JWT_SECRET_ARN")
	secretsURL, _ := env("SECRETS_URL")
	authText, _ := env("AUTH_ENABLED")
	authOn, err := config.ParseAuthEnabled(authText)
	if arn = strings.TrimSpace(arn); arn == "" || strings.TrimSpace(secretsURL) != "" || err != nil || !authOn {
		return env, nil // an invalid AUTH_ENABLED is config.FromLookup's to report
	}
	key, err := secrets.Text(ctx, arn)
	if err != nil {
		return nil, fmt.Errorf("JWT_SECRET_ARN: %w", err)
	}
	if len(key) < config.MinJWTKeyBytes {
		return nil, fmt.Errorf("JWT_SECRET_ARN: the key must be at least %d bytes, not %d", config.MinJWTKeyBytes, len(key))
	}
	return func(name string) (string, bool) {
		if name == "JWT_SECRET_KEY" {
			return key, true
		}
		return env(name)
	}, nil
}

// withCredentials fills in what DATABASE_URL lacks, with libpq's precedence: a password in the URL wins
// over the secret's, and the secret's username is used only when the URL names no user. Errors never
// quote the URL or the credentials.
func withCredentials(databaseURL string, c dbsecret.Credentials) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("DATABASE_URL is not a valid PostgreSQL URL")
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return databaseURL, nil
	}
	user := u.User.Username()
	if user == "" {
		user = c.Username
	}
	if user == "" {
		return "", errors.New(`DATABASE_URL names no user and the database secret has no "username"`)
	}
	u.User = url.UserPassword(user, c.Password)
	return u.String(), nil
}

func lookup(env func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env(name)
		if name == "DB_POOL_MAX" && (!ok || v == "") {
			return strconv.Itoa(DefaultDBPoolMax), true
		}
		return v, ok
	}
}
