// Package config reads the lab's environment-variable contract (contract/CONTRACT.md, "Environment").
// It is the only place where an API learns its settings.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults of the contract. The default port depends on the protocol.
const (
	DefaultRESTPort     = 8080
	DefaultGRPCPort     = 9090
	DefaultBindAddress  = "0.0.0.0"
	DefaultDBPoolMax    = 20
	DefaultMaxBodyBytes = 1048576
	// DefaultDBAcquireTimeout is DB_ACQUIRE_TIMEOUT's default (5000 ms).
	DefaultDBAcquireTimeout = 5 * time.Second
	// DefaultSecretsRefreshInterval is SECRETS_REFRESH_INTERVAL's default (60000 ms).
	DefaultSecretsRefreshInterval = time.Minute
	// MinJWTKeyBytes is the shortest HS256 key accepted: 256 bits, the size of the hash (RFC 7518 §3.2).
	MinJWTKeyBytes = 32
)

// Secret is a value that must never be printed or logged: fmt and slog show it redacted.
type Secret string

func (Secret) String() string       { return "[redacted]" }
func (Secret) GoString() string     { return "[redacted]" }
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }
func (s Secret) Bytes() []byte      { return []byte(s) }

// Config is the validated environment of one API process.
type Config struct {
	// DatabaseURL is never logged: it may hold the password. Without one, pgx (like libpq) takes the
	// password from PGPASSWORD when it parses the URL; a password in the URL wins.
	DatabaseURL  string
	Port         int
	BindAddress  string
	DBPoolMax    int32
	LogLevel     slog.Level
	MaxBodyBytes int64
	// DBAcquireTimeout bounds a request's wait for a database connection, a new one opened for it included.
	DBAcquireTimeout time.Duration

	// AuthEnabled: event requests need a valid HS256 JWT (contract/CONTRACT.md, "Authentication").
	AuthEnabled bool
	// JWTSecretKey is JWT_SECRET_KEY; with SECRETS_URL set, the key comes from the store instead.
	JWTSecretKey Secret
	// JWTIssuer and JWTAudience, when not empty, must be a token's iss / be in its aud.
	JWTIssuer   string
	JWTAudience string

	// SecretsURL is the base URL of the secrets store; empty when the secrets come from the environment.
	SecretsURL             string
	SecretsRefreshInterval time.Duration
}

// Load reads the process environment. defaultPort is DefaultRESTPort or DefaultGRPCPort.
func Load(defaultPort int) (Config, error) {
	return FromLookup(os.LookupEnv, defaultPort)
}

// FromLookup reads the contract through lookup (os.LookupEnv in production) so tests need no real environment.
// A variable set to the empty string counts as unset.
func FromLookup(lookup func(string) (string, bool), defaultPort int) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	cfg := Config{
		DatabaseURL: get("DATABASE_URL"),
		BindAddress: DefaultBindAddress,
		LogLevel:    slog.LevelWarn,
		JWTIssuer:   get("JWT_ISSUER"),
		JWTAudience: get("JWT_AUDIENCE"),
		SecretsURL:  get("SECRETS_URL"),
	}
	var errs []error
	if cfg.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required"))
	}
	if v := get("BIND_ADDRESS"); v != "" {
		cfg.BindAddress = v
	}
	port, err := intSetting(get("PORT"), "PORT", int64(defaultPort), 1, 65535)
	errs = append(errs, err)
	cfg.Port = int(port)
	poolMax, err := intSetting(get("DB_POOL_MAX"), "DB_POOL_MAX", DefaultDBPoolMax, 1, 10000)
	errs = append(errs, err)
	cfg.DBPoolMax = int32(poolMax)
	cfg.MaxBodyBytes, err = intSetting(get("MAX_BODY_BYTES"), "MAX_BODY_BYTES", DefaultMaxBodyBytes, 1, 1<<31-1)
	errs = append(errs, err)
	if v := get("LOG_LEVEL"); v != "" {
		level, ok := logLevels[strings.ToLower(v)]
		if !ok {
			errs = append(errs, fmt.Errorf("LOG_LEVEL must be one of error, warn, info, debug, not %q", v))
		}
		cfg.LogLevel = level
	}
	acquireMs, err := intSetting(get("DB_ACQUIRE_TIMEOUT"), "DB_ACQUIRE_TIMEOUT", DefaultDBAcquireTimeout.Milliseconds(), 1, 1<<31-1)
	errs = append(errs, err)
	cfg.DBAcquireTimeout = time.Duration(acquireMs) * time.Millisecond
	refreshMs, err := intSetting(get("SECRETS_REFRESH_INTERVAL"), "SECRETS_REFRESH_INTERVAL",
		DefaultSecretsRefreshInterval.Milliseconds(), 1, 1<<31-1)
	errs = append(errs, err)
	cfg.SecretsRefreshInterval = time.Duration(refreshMs) * time.Millisecond
	cfg.AuthEnabled, err = ParseAuthEnabled(get("AUTH_ENABLED"))
	errs = append(errs, err)
	// The key is its exact bytes: not trimmed. It is checked only when auth is on, the only time it is used.
	key, _ := lookup("JWT_SECRET_KEY")
	if cfg.AuthEnabled {
		cfg.JWTSecretKey = Secret(key)
		switch {
		case key == "" && cfg.SecretsURL == "":
			errs = append(errs, errors.New("JWT_SECRET_KEY is required when AUTH_ENABLED is on and SECRETS_URL is not set"))
		case key != "" && len(key) < MinJWTKeyBytes:
			errs = append(errs, fmt.Errorf("JWT_SECRET_KEY must be at least %d bytes, not %d", MinJWTKeyBytes, len(key)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// ParseAuthEnabled reads AUTH_ENABLED: true or 1 (any case) is on; false, 0 or empty is off.
func ParseAuthEnabled(text string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "true", "1":
		return true, nil
	case "false", "0", "":
		return false, nil
	}
	return false, fmt.Errorf("AUTH_ENABLED must be true, 1, false or 0, not %q", text)
}

var logLevels = map[string]slog.Level{
	"error": slog.LevelError,
	"warn":  slog.LevelWarn,
	"info":  slog.LevelInfo,
	"debug": slog.LevelDebug,
}

func intSetting(text, name string, def, lowest, highest int64) (int64, error) {
	if text == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || v < lowest || v > highest {
		return def, fmt.Errorf("%s must be an integer from %d to %d, not %q", name, lowest, highest, text)
	}
	return v, nil
}

// ListenAddress is BIND_ADDRESS:PORT in the form net.Listen expects (IPv6 literals bracketed).
func (c Config) ListenAddress() string {
	return net.JoinHostPort(c.BindAddress, strconv.Itoa(c.Port))
}

// NewLogger returns a text logger on stderr at LOG_LEVEL.
func (c Config) NewLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}
