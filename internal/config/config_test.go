package config

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func lookupFrom(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestDefaultsOfTheContract(t *testing.T) {
	cfg, err := FromLookup(lookupFrom(map[string]string{"DATABASE_URL": "postgres://u:p@h:5432/d"}), DefaultGRPCPort)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{DatabaseURL: "postgres://u:p@h:5432/d", Port: 9090, BindAddress: "0.0.0.0", DBPoolMax: 20,
		LogLevel: slog.LevelWarn, MaxBodyBytes: 1048576, DBAcquireTimeout: 5 * time.Second,
		SecretsRefreshInterval: 60 * time.Second}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	if got := cfg.ListenAddress(); got != "0.0.0.0:9090" {
		t.Fatalf("ListenAddress = %q", got)
	}
}

func TestEverySettingIsRead(t *testing.T) {
	cfg, err := FromLookup(lookupFrom(map[string]string{
		"DATABASE_URL": "postgres://u:p@h/d", "PORT": "19083", "BIND_ADDRESS": "::1", "DB_POOL_MAX": "7",
		"LOG_LEVEL": "DEBUG", "MAX_BODY_BYTES": "100", "DB_ACQUIRE_TIMEOUT": "250", "AUTH_ENABLED": "True",
		"JWT_SECRET_KEY": " 0123456789abcdef0123456789abcdef", "JWT_ISSUER": "lab", "JWT_AUDIENCE": "events",
		"SECRETS_URL": "http://127.0.0.1:8200", "SECRETS_REFRESH_INTERVAL": "1500",
	}), DefaultRESTPort)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 19083 || cfg.DBPoolMax != 7 || cfg.LogLevel != slog.LevelDebug || cfg.MaxBodyBytes != 100 ||
		cfg.DBAcquireTimeout != 250*time.Millisecond || !cfg.AuthEnabled || cfg.JWTIssuer != "lab" ||
		cfg.JWTAudience != "events" || cfg.SecretsURL != "http://127.0.0.1:8200" ||
		cfg.SecretsRefreshInterval != 1500*time.Millisecond {
		t.Fatalf("got %+v", cfg)
	}
	if string(cfg.JWTSecretKey) != " 0123456789abcdef0123456789abcdef" {
		t.Fatal("the key must be its exact bytes, not trimmed")
	}
	if got := cfg.ListenAddress(); got != "[::1]:19083" {
		t.Fatalf("ListenAddress = %q", got)
	}
}

func TestInvalidSettingsAreAllReportedWithoutThePassword(t *testing.T) {
	_, err := FromLookup(lookupFrom(map[string]string{
		"PORT": "http", "DB_POOL_MAX": "0", "LOG_LEVEL": "trace", "MAX_BODY_BYTES": "-1",
	}), DefaultRESTPort)
	if err == nil {
		t.Fatal("expected an error")
	}
	for _, name := range []string{"DATABASE_URL", "PORT", "DB_POOL_MAX", "LOG_LEVEL", "MAX_BODY_BYTES"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not mention %s: %v", name, err)
		}
	}
	_, err = FromLookup(lookupFrom(map[string]string{"DATABASE_URL": "postgres://u:secret@h/d", "PORT": "0"}), 1)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("got %v", err)
	}
}

func TestAuthAndTimeoutSettings(t *testing.T) {
	const key32 = "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name string
		env  map[string]string
		// wantErr names the variable the error must mention; empty: the settings are valid.
		wantErr string
		auth    bool
	}{
		{"auth off by default", map[string]string{}, "", false},
		{"AUTH_ENABLED=1", map[string]string{"AUTH_ENABLED": "1", "JWT_SECRET_KEY": key32}, "", true},
		{"AUTH_ENABLED=TRUE", map[string]string{"AUTH_ENABLED": "TRUE", "JWT_SECRET_KEY": key32}, "", true},
		{"AUTH_ENABLED=False", map[string]string{"AUTH_ENABLED": "False"}, "", false},
		{"AUTH_ENABLED=0", map[string]string{"AUTH_ENABLED": "0"}, "", false},
		{"AUTH_ENABLED empty", map[string]string{"AUTH_ENABLED": ""}, "", false},
		{"AUTH_ENABLED=yes", map[string]string{"AUTH_ENABLED": "yes", "JWT_SECRET_KEY": key32}, "AUTH_ENABLED", false},
		{"AUTH_ENABLED=2", map[string]string{"AUTH_ENABLED": "2"}, "AUTH_ENABLED", false},
		{"key required", map[string]string{"AUTH_ENABLED": "true"}, "JWT_SECRET_KEY", false},
		{"key of 31 bytes", map[string]string{"AUTH_ENABLED": "true", "JWT_SECRET_KEY": key32[1:]}, "JWT_SECRET_KEY", false},
		{"key of 32 bytes in 31 characters", map[string]string{"AUTH_ENABLED": "true", "JWT_SECRET_KEY": "é" + key32[2:]}, "", true},
		{"key from the secrets store", map[string]string{"AUTH_ENABLED": "true", "SECRETS_URL": "http://127.0.0.1:1"}, "", true},
		{"short key even with a store", map[string]string{"AUTH_ENABLED": "true", "SECRETS_URL": "http://x", "JWT_SECRET_KEY": "short"}, "JWT_SECRET_KEY", false},
		{"short key ignored when auth is off", map[string]string{"JWT_SECRET_KEY": "short"}, "", false},
		{"DB_ACQUIRE_TIMEOUT=0", map[string]string{"DB_ACQUIRE_TIMEOUT": "0"}, "DB_ACQUIRE_TIMEOUT", false},
		{"DB_ACQUIRE_TIMEOUT=-5", map[string]string{"DB_ACQUIRE_TIMEOUT": "-5"}, "DB_ACQUIRE_TIMEOUT", false},
		{"DB_ACQUIRE_TIMEOUT=1.5", map[string]string{"DB_ACQUIRE_TIMEOUT": "1.5"}, "DB_ACQUIRE_TIMEOUT", false},
		{"DB_ACQUIRE_TIMEOUT=5s", map[string]string{"DB_ACQUIRE_TIMEOUT": "5s"}, "DB_ACQUIRE_TIMEOUT", false},
		{"DB_ACQUIRE_TIMEOUT=1", map[string]string{"DB_ACQUIRE_TIMEOUT": "1"}, "", false},
		{"SECRETS_REFRESH_INTERVAL=0", map[string]string{"SECRETS_REFRESH_INTERVAL": "0"}, "SECRETS_REFRESH_INTERVAL", false},
		{"SECRETS_REFRESH_INTERVAL=x", map[string]string{"SECRETS_REFRESH_INTERVAL": "x"}, "SECRETS_REFRESH_INTERVAL", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env["DATABASE_URL"] = "postgres://u:p@h/d"
			cfg, err := FromLookup(lookupFrom(c.env), DefaultRESTPort)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v does not name %s", err, c.wantErr)
			case c.wantErr == "" && cfg.AuthEnabled != c.auth:
				t.Fatalf("AuthEnabled = %v", cfg.AuthEnabled)
			}
			if err != nil && strings.Contains(err.Error(), "short") {
				t.Fatalf("the error quotes the key: %v", err)
			}
		})
	}
}

func TestTheKeyIsNeverPrinted(t *testing.T) {
	cfg := Config{JWTSecretKey: "0123456789abcdef0123456789abcdef"}
	for _, text := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(cfg.JWTSecretKey)} {
		if strings.Contains(text, "0123456789abcdef") {
			t.Fatalf("printed: %s", text)
		}
	}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("x", "key", cfg.JWTSecretKey)
	if strings.Contains(log.String(), "0123456789abcdef") {
		t.Fatalf("logged: %s", log.String())
	}
}

// TestPasswordFromPGPASSWORDWhenTheURLHasNone checks the contract's rule on the parser the Go APIs use
// (store.Open: pgxpool.ParseConfig of DatabaseURL): on ECS, DATABASE_URL has no password and ECS injects
// PGPASSWORD from the secret.
func TestPasswordFromPGPASSWORDWhenTheURLHasNone(t *testing.T) {
	t.Setenv("PGPASSWORD", "from-env p@ss:/")
	t.Setenv("PGUSER", "")
	t.Setenv("PGPASSFILE", t.TempDir()+"/none") // no .pgpass of this machine
	cfg, err := FromLookup(lookupFrom(map[string]string{"DATABASE_URL": "postgres://bench@db.example:5432/events?sslmode=require"}), DefaultRESTPort)
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		cfg.DatabaseURL: "from-env p@ss:/",
		"postgres://bench:from-url@db.example/events":   "from-url", // a password in the URL wins
		"postgres://bench@db.example/events?password=q": "q",
	} {
		pool, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		if got := pool.ConnConfig; got.User != "bench" || got.Password != want || got.Host != "db.example" {
			t.Errorf("%s: user %q password %q host %q", url, got.User, got.Password, got.Host)
		}
	}
	t.Setenv("PGPASSWORD", "")
	pool, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil || pool.ConnConfig.Password != "" {
		t.Fatalf("without PGPASSWORD: %v, password %q", err, pool.ConnConfig.Password)
	}
}
