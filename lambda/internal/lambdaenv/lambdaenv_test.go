package lambdaenv

import (
	"testing"

	"github.com/perflab/apilab/internal/config"
)

func load(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.FromLookup(lookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok }), config.DefaultRESTPort)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPoolDefaultsToTwoPerEnvironment(t *testing.T) {
	if got := load(t, map[string]string{"DATABASE_URL": "postgres://u:p@h/db"}).DBPoolMax; got != DefaultDBPoolMax {
		t.Fatalf("DBPoolMax = %d", got)
	}
	if got := load(t, map[string]string{"DATABASE_URL": "postgres://u:p@h/db", "DB_POOL_MAX": ""}).DBPoolMax; got != DefaultDBPoolMax {
		t.Fatalf("empty DB_POOL_MAX: DBPoolMax = %d", got)
	}
}

func TestPoolSizeIsConfigurable(t *testing.T) {
	cfg := load(t, map[string]string{"DATABASE_URL": "postgres://u:p@h/db", "DB_POOL_MAX": "7", "MAX_BODY_BYTES": "10"})
	if cfg.DBPoolMax != 7 || cfg.MaxBodyBytes != 10 {
		t.Fatalf("got %+v", cfg)
	}
}
