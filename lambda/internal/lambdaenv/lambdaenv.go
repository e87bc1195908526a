// Package lambdaenv reads the environment contract for a Lambda function: the same variables as
// every API, with one Lambda-specific default, and DATABASE_SECRET_ARN (contract/CONTRACT.md, "Environment").
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

// Load reads the process environment; it runs once per execution environment, at cold start. With
// DATABASE_SECRET_ARN set it reads the database credentials from AWS Secrets Manager (dbsecret.Fetch:
// retries, bounded time) and puts them into DatabaseURL where the URL has none. PORT and BIND_ADDRESS are
// ignored by functions: the Lambda runtime API decides where invocations come from.
func Load(ctx context.Context) (config.Config, error) {
	return load(ctx, os.LookupEnv, func(ctx context.Context, arn string) (dbsecret.Credentials, error) {
		return dbsecret.Fetch(ctx, arn)
	})
}

func load(ctx context.Context, env func(string) (string, bool),
	fetch func(context.Context, string) (dbsecret.Credentials, error)) (config.Config, error) {
	cfg, err := config.FromLookup(lookup(env), config.DefaultRESTPort)
	if err != nil {
		return config.Config{}, err
	}
	arn, _ := env("DATABASE_SECRET_ARN")
	if arn = strings.TrimSpace(arn); arn == "" {
		return cfg, nil // locally (emulator): the password is in DATABASE_URL or PGPASSWORD
	}
	credentials, err := fetch(ctx, arn)
	if err != nil {
		return config.Config{}, fmt.Errorf("DATABASE_SECRET_ARN: %w", err)
	}
	if cfg.DatabaseURL, err = withCredentials(cfg.DatabaseURL, credentials); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
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
