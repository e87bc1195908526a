// Package dbsecret reads a Lambda's secrets from AWS Secrets Manager: DATABASE_SECRET_ARN names the
// RDS-managed secret, a JSON object with "username" and "password" (contract/CONTRACT.md, "Environment"),
// and JWT_SECRET_ARN a secret whose text is the JWT key ("Secrets"). They are read once per execution
// environment, at cold start, and never logged.
package dbsecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Bounds of one read, retries included. The whole read fits well inside Lambda's 10 s init phase; an
// attempt that hangs (no route to Secrets Manager) is cut after AttemptTimeout and retried.
const (
	Timeout        = 6 * time.Second
	AttemptTimeout = 2 * time.Second
	MaxAttempts    = 4
	MaxBackoff     = 500 * time.Millisecond
)

// Credentials are the secret's user and password. They print without the password.
type Credentials struct {
	Username string
	Password string
}

func (c Credentials) String() string {
	return fmt.Sprintf("{Username:%s Password:[redacted]}", c.Username)
}

// GoString keeps %#v from printing the password.
func (c Credentials) GoString() string { return "dbsecret.Credentials" + c.String() }

// LogValue keeps slog from printing the password.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.Username), slog.String("password", "[redacted]"))
}

// limits are the bounds of Fetch; tests shorten them.
type limits struct {
	timeout, attemptTimeout, maxBackoff time.Duration
	maxAttempts                         int
}

var defaultLimits = limits{timeout: Timeout, attemptTimeout: AttemptTimeout, maxBackoff: MaxBackoff, maxAttempts: MaxAttempts}

// Fetch reads secretID with GetSecretValue: the AWS configuration of the environment (in Lambda: the
// function role's credentials and AWS_REGION from the environment), the SDK's standard retries
// (throttling, 5xx, connection errors and timeouts) up to MaxAttempts, and at most Timeout in all.
// options come after the defaults (tests: static credentials, region, endpoint). Errors never contain
// the secret's value.
func Fetch(ctx context.Context, secretID string, options ...func(*awsconfig.LoadOptions) error) (Credentials, error) {
	return fetch(ctx, secretID, defaultLimits, options...)
}

func fetch(ctx context.Context, secretID string, l limits, options ...func(*awsconfig.LoadOptions) error) (Credentials, error) {
	text, err := fetchText(ctx, secretID, l, options...)
	if err != nil {
		return Credentials{}, err
	}
	return parse(text)
}

// FetchText reads secretID's SecretString as it is, with the same bounds and retries as Fetch: the JWT
// key of JWT_SECRET_ARN. Errors never contain the value.
func FetchText(ctx context.Context, secretID string, options ...func(*awsconfig.LoadOptions) error) (string, error) {
	return fetchText(ctx, secretID, defaultLimits, options...)
}

func fetchText(ctx context.Context, secretID string, l limits, options ...func(*awsconfig.LoadOptions) error) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	defaults := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(l.attemptTimeout)),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = l.maxAttempts
				o.MaxBackoff = l.maxBackoff
			})
		}),
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, append(defaults, options...)...)
	if err != nil {
		return "", fmt.Errorf("loading the AWS configuration: %w", err)
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx,
		&secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return "", fmt.Errorf("reading the secret %s: %w", secretID, err)
	}
	return aws.ToString(out.SecretString), nil
}

// parse reads the RDS-managed secret's JSON. Its messages never quote the text: it holds the password.
func parse(text string) (Credentials, error) {
	var doc struct {
		Username *string `json:"username"`
		Password *string `json:"password"`
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return Credentials{}, errors.New(`the database secret is not a JSON object with a string "password"`)
	}
	if doc.Password == nil || *doc.Password == "" {
		return Credentials{}, errors.New(`the database secret has no "password"`)
	}
	return Credentials{Username: aws.ToString(doc.Username), Password: *doc.Password}, nil
}
