package lazydb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/store"
)

func TestPoolOpensOnFirstUseOnlyOnce(t *testing.T) {
	opened := 0
	s := New(config.Config{DatabaseURL: "postgres://bench@127.0.0.1:1/none", DBPoolMax: 2})
	openStore := s.open
	s.open = func(ctx context.Context, cfg config.Config, options ...store.Option) (*store.Store, error) {
		opened++
		return openStore(ctx, cfg, options...)
	}
	if opened != 0 {
		t.Fatal("opened before the first invocation")
	}
	for i := 0; i < 3; i++ {
		// Nothing listens on port 1: every call is "database unavailable", on the same pool.
		if err := s.Ping(context.Background()); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Ping: %v", err)
		}
	}
	if opened != 1 {
		t.Fatalf("pool opened %d times", opened)
	}
	s.Close()
}

func TestInvalidURLIsAnErrorWithoutThePassword(t *testing.T) {
	s := New(config.Config{DatabaseURL: "postgres://bench:s3cret@%zz/db", DBPoolMax: 2})
	err := s.Ping(context.Background())
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
	if got := err.Error(); strings.Contains(got, "s3cret") {
		t.Fatalf("error leaks the password: %s", got)
	}
}
