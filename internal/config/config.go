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
)

// Defaults of the contract. The default port depends on the protocol.
const (
	DefaultRESTPort     = 8080
	DefaultGRPCPort     = 9090
	DefaultBindAddress  = "0.0.0.0"
	DefaultDBPoolMax    = 20
	DefaultMaxBodyBytes = 1048576
)

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
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
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
