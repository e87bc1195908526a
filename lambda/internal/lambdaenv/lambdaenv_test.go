package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/lambda/internal/dbsecret"
)

func loadContract(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.FromLookup(lookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok }), config.DefaultRESTPort)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPoolDefaultsToTwoPerEnvironment(t *testing.T) {
	if got := loadContract(t, map[string]string{"DATABASE_URL": "postgres://u:p@h/db"}).DBPoolMax; got != DefaultDBPoolMax {
		t.Fatalf("DBPoolMax = %d", got)
	}
	if got := loadContract(t, map[string]string{"DATABASE_URL": "postgres://u:p@h/db", "DB_POOL_MAX": ""}).DBPoolMax; got != DefaultDBPoolMax {
		t.Fatalf("empty DB_POOL_MAX: DBPoolMax = %d", got)
	}
}

func TestPoolSizeIsConfigurable(t *testing.T) {
	cfg := loadContract(t, map[string]string{"DATABASE_URL": "postgres://u:p@h/db", "DB_POOL_MAX": "7", "MAX_BODY_BYTES": "10"})
	if cfg.DBPoolMax != 7 || cfg.MaxBodyBytes != 10 {
		t.Fatalf("got %+v", cfg)
	}
}

func fromEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// fakeFetch is Secrets Manager holding one database secret at arn and one JWT key at keyARN; it counts
// the reads.
type fakeFetch struct {
	arn    string
	creds  dbsecret.Credentials
	keyARN string
	key    string
	err    error
	calls  int
}

func (f *fakeFetch) Credentials(_ context.Context, arn string) (dbsecret.Credentials, error) {
	f.calls++
	if arn != f.arn {
		return dbsecret.Credentials{}, fmt.Errorf("no secret %s", arn)
	}
	return f.creds, f.err
}

func (f *fakeFetch) Text(_ context.Context, arn string) (string, error) {
	f.calls++
	if arn != f.keyARN {
		return "", fmt.Errorf("no secret %s", arn)
	}
	return f.key, f.err
}

const testARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1-AbCdEf"

// pgxLogin is what the pool will log in with: the pgx parser store.Open uses.
func pgxLogin(t *testing.T, databaseURL string) (user, password string) {
	t.Helper()
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGUSER", "")
	cfg, err := pgconn.ParseConfig(databaseURL)
	if err != nil {
		t.Fatalf("pgx cannot parse the URL: %v", err)
	}
	return cfg.User, cfg.Password
}

func TestSecretGivesThePasswordTheURLLacks(t *testing.T) {
	const password = `p@ss:/w?rd#%"é`
	secret := &fakeFetch{arn: testARN, creds: dbsecret.Credentials{Username: "bench", Password: password}}
	for url, wantUser := range map[string]string{
		"postgres://bench@db.example:5432/events?sslmode=require": "bench",
		"postgres://app@db.example:5432/events?sslmode=require":   "app", // the URL's user wins
		"postgresql://db.example/events?sslmode=require":          "bench",
	} {
		cfg, err := load(context.Background(), fromEnv(map[string]string{"DATABASE_URL": url, "DATABASE_SECRET_ARN": " " + testARN}), secret)
		if err != nil {
			t.Fatal(err)
		}
		if user, got := pgxLogin(t, cfg.DatabaseURL); user != wantUser || got != password {
			t.Errorf("%s: logs in as %q with password %q", url, user, got)
		}
		parsed, _ := pgconn.ParseConfig(cfg.DatabaseURL)
		if parsed.Host != "db.example" || parsed.Database != "events" || parsed.TLSConfig == nil {
			t.Errorf("%s: the rest of the URL changed: %s %s tls=%v", url, parsed.Host, parsed.Database, parsed.TLSConfig != nil)
		}
	}
	if secret.calls != 3 {
		t.Fatalf("%d reads", secret.calls)
	}
}

func TestPasswordInTheURLWins(t *testing.T) {
	secret := &fakeFetch{arn: testARN, creds: dbsecret.Credentials{Username: "other", Password: "from-secret"}}
	url := "postgres://bench:from-url@db/events"
	cfg, err := load(context.Background(), fromEnv(map[string]string{"DATABASE_URL": url, "DATABASE_SECRET_ARN": testARN}), secret)
	if err != nil || cfg.DatabaseURL != url {
		t.Fatalf("got %q, %v", cfg.DatabaseURL, err)
	}
}

func TestNoSecretNoRead(t *testing.T) {
	secret := &fakeFetch{arn: testARN}
	for _, arn := range []string{"", "  "} {
		cfg, err := load(context.Background(), fromEnv(map[string]string{"DATABASE_URL": "postgres://bench@db/events", "DATABASE_SECRET_ARN": arn}), secret)
		if err != nil || cfg.DatabaseURL != "postgres://bench@db/events" || cfg.DBPoolMax != DefaultDBPoolMax {
			t.Fatalf("got %+v, %v", cfg, err)
		}
	}
	if secret.calls != 0 {
		t.Fatalf("%d reads without DATABASE_SECRET_ARN", secret.calls)
	}
}

func TestSecretFailuresStopTheStartWithoutThePassword(t *testing.T) {
	env := fromEnv(map[string]string{"DATABASE_URL": "postgres://bench@db/events", "DATABASE_SECRET_ARN": testARN})
	failing := &fakeFetch{arn: testARN, err: errors.New("AccessDeniedException")}
	if _, err := load(context.Background(), env, failing); err == nil || !strings.Contains(err.Error(), "DATABASE_SECRET_ARN") {
		t.Fatalf("got %v", err)
	}
	noUser := &fakeFetch{arn: testARN, creds: dbsecret.Credentials{Password: "s3cret"}}
	_, err := load(context.Background(), fromEnv(map[string]string{"DATABASE_URL": "postgres://db/events", "DATABASE_SECRET_ARN": testARN}), noUser)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v", err)
	}
	for _, url := range []string{"host=db user=bench", "postgres://bench@db:port/events"} {
		_, err := load(context.Background(), fromEnv(map[string]string{"DATABASE_URL": url, "DATABASE_SECRET_ARN": testARN}), noUser)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("%s: got %v", url, err)
		}
	}
	// An invalid contract is reported before any read.
	invalid := &fakeFetch{arn: testARN}
	if _, err := load(context.Background(), fromEnv(map[string]string{"DATABASE_SECRET_ARN": testARN}), invalid); err == nil || invalid.calls != 0 {
		t.Fatalf("got %v after %d reads", err, invalid.calls)
	}
}

const keyARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf"

func TestJWTKeyFromSecretsManager(t *testing.T) {
	key := strings.Repeat("k", 32)
	base := map[string]string{"DATABASE_URL": "postgres://bench:pw@db/events", "JWT_SECRET_ARN": keyARN}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	cases := []struct {
		name      string
		env       map[string]string
		stored    string
		wantKey   string
		wantReads int
		wantErr   string
	}{
		{"auth on: the key is the secret's text", with(map[string]string{"AUTH_ENABLED": "true"}), key, key, 1, ""},
		{"the secret wins over JWT_SECRET_KEY", with(map[string]string{"AUTH_ENABLED": "1", "JWT_SECRET_KEY": strings.Repeat("e", 32)}), key, key, 1, ""},
		{"auth off: not read", with(nil), key, "", 0, ""},
		{"a secrets store provides the key instead", with(map[string]string{"AUTH_ENABLED": "true", "SECRETS_URL": "http://127.0.0.1:1"}), key, "", 0, ""},
		{"a short key stops the start without quoting it", with(map[string]string{"AUTH_ENABLED": "true"}), "short-key", "", 1, "JWT_SECRET_ARN"},
		{"an invalid AUTH_ENABLED is reported, nothing read", with(map[string]string{"AUTH_ENABLED": "maybe"}), key, "", 0, "AUTH_ENABLED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			secrets := &fakeFetch{keyARN: keyARN, key: c.stored}
			cfg, err := load(context.Background(), fromEnv(c.env), secrets)
			switch {
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "short-key")):
				t.Fatalf("got %v, want an error naming %s", err, c.wantErr)
			case c.wantErr == "" && err != nil:
				t.Fatal(err)
			case c.wantErr == "" && string(cfg.JWTSecretKey) != c.wantKey:
				t.Fatal("wrong key")
			}
			if secrets.calls != c.wantReads {
				t.Fatalf("%d reads, want %d", secrets.calls, c.wantReads)
			}
		})
	}
	failing := &fakeFetch{keyARN: keyARN, err: errors.New("AccessDeniedException")}
	if _, err := load(context.Background(), fromEnv(with(map[string]string{"AUTH_ENABLED": "true"})), failing); err == nil ||
		!strings.Contains(err.Error(), "JWT_SECRET_ARN") {
		t.Fatalf("got %v", err)
	}
}

// TestLoadReadsTheSecretLikeOnLambda runs the production path, Load, in the environment Lambda gives a
// function (the role's credentials and the region as variables) against a local Secrets Manager.
func TestLoadReadsTheSecretLikeOnLambda(t *testing.T) {
	var calls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" ||
			!strings.Contains(r.Header.Get("Authorization"), "Credential=ASIAFAKE/") || r.Header.Get("X-Amz-Security-Token") != "session" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"ARN":%q,"SecretString":"{\"username\":\"bench\",\"password\":\"from-secrets-manager\"}"}`, testARN)
	}))
	defer server.Close()
	none := filepath.Join(t.TempDir(), "none")
	lambdaEnvironment := map[string]string{ // what Lambda sets: the role's credentials, the region
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ASIAFAKE", "AWS_SECRET_ACCESS_KEY": "fake",
		"AWS_SESSION_TOKEN": "session",
	}
	local := map[string]string{ // nothing of this machine; Secrets Manager is the fake
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_PROFILE": "", "AWS_ENDPOINT_URL": "",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": server.URL,
	}
	contract := map[string]string{
		"DATABASE_URL":        "postgres://bench@db.example:5432/events?sslmode=require",
		"DATABASE_SECRET_ARN": testARN,
		"DB_POOL_MAX":         "", "PORT": "", "BIND_ADDRESS": "", "LOG_LEVEL": "", "MAX_BODY_BYTES": "",
	}
	for _, env := range []map[string]string{lambdaEnvironment, local, contract} {
		for name, value := range env {
			t.Setenv(name, value)
		}
	}
	cfg, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if user, password := pgxLogin(t, cfg.DatabaseURL); user != "bench" || password != "from-secrets-manager" || calls.Load() != 1 {
		t.Fatalf("logs in as %q/%q after %d calls", user, password, calls.Load())
	}
}
