package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perflab/apilab/internal/auth/authtest"
	"github.com/perflab/apilab/internal/config"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestWithoutSecretsURLTheKeyIsJWTSecretKey(t *testing.T) {
	key := strings.Repeat("e", 32)
	parts, err := Prepare(context.Background(), config.Config{AuthEnabled: true, JWTSecretKey: config.Secret(key)}, quiet)
	if err != nil || len(parts.StoreOptions) != 0 || parts.SecretsReadTime != 0 {
		t.Fatalf("got %+v, %v", parts, err)
	}
	if err := parts.Tokens.Check(authtest.Bearer(t, key)); err != nil {
		t.Fatal(err)
	}
	off, err := Prepare(context.Background(), config.Config{}, quiet)
	if err != nil || off.Tokens != nil {
		t.Fatalf("auth off: %+v, %v", off, err)
	}
}

func TestTheStoresKeyAndItsRefresh(t *testing.T) {
	var key atomic.Value
	key.Store(strings.Repeat("a", 32))
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/secrets/db-password":
			_, _ = io.WriteString(w, `{"name":"db-password","value":"pw"}`)
		case "/secrets/jwt-secret-key":
			_, _ = io.WriteString(w, `{"name":"jwt-secret-key","value":"`+key.Load().(string)+`"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Config{AuthEnabled: true, JWTSecretKey: config.Secret(strings.Repeat("e", 32)), SecretsURL: store.URL,
		SecretsRefreshInterval: 20 * time.Millisecond}
	parts, err := Prepare(ctx, cfg, quiet)
	if err != nil || len(parts.StoreOptions) != 1 || parts.SecretsReadTime <= 0 {
		t.Fatalf("got %+v, %v", parts, err)
	}
	if err := parts.Tokens.Check(authtest.Bearer(t, strings.Repeat("a", 32))); err != nil {
		t.Fatalf("the store's key: %v", err)
	}
	if err := parts.Tokens.Check(authtest.Bearer(t, strings.Repeat("e", 32))); err == nil {
		t.Fatal("JWT_SECRET_KEY must not be used when SECRETS_URL is set")
	}
	key.Store(strings.Repeat("b", 32))
	deadline := time.Now().Add(3 * time.Second)
	for parts.Tokens.Check(authtest.Bearer(t, strings.Repeat("b", 32))) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the refreshed key is not used")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAnUnreadableSecretStopsTheStartNamingIt(t *testing.T) {
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/secrets/db-password" {
			_, _ = io.WriteString(w, `{"name":"db-password","value":"pw"}`)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer store.Close()
	_, err := Prepare(context.Background(), config.Config{AuthEnabled: true, SecretsURL: store.URL}, quiet)
	if err == nil || !strings.Contains(err.Error(), "jwt-secret-key") {
		t.Fatalf("got %v", err)
	}
	// Auth off: the key is not read at all.
	if _, err := Prepare(context.Background(), config.Config{SecretsURL: store.URL, SecretsRefreshInterval: time.Hour}, quiet); err != nil {
		t.Fatal(err)
	}
}
