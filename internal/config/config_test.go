package config

import (
	"log/slog"
	"strings"
	"testing"

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
		LogLevel: slog.LevelWarn, MaxBodyBytes: 1048576}
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
		"LOG_LEVEL": "DEBUG", "MAX_BODY_BYTES": "100",
	}), DefaultRESTPort)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 19083 || cfg.DBPoolMax != 7 || cfg.LogLevel != slog.LevelDebug || cfg.MaxBodyBytes != 100 {
		t.Fatalf("got %+v", cfg)
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
