// Package store writes events to PostgreSQL with the contract's two statements in one transaction,
// and tells "database unavailable" and "a value the database cannot store" apart from every other
// failure.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/event"
)

// The statements of the contract, byte for byte: pg_stat_statements groups them across APIs.
const (
	InsertEventSQL  = `INSERT INTO events (uuid, event_name, event_type, created_date, saved_date, payload) VALUES ($1::uuid, $2, $3, $4::timestamptz, $5::timestamptz, $6::jsonb) ON CONFLICT (uuid) DO NOTHING`
	UpsertEntitySQL = `INSERT INTO entities (entity_type, entity_id, data) VALUES ($1, $2, $3::jsonb) ON CONFLICT (entity_type, entity_id) DO UPDATE SET data = entities.data || EXCLUDED.data, updated_at = now()`
	healthSQL       = `SELECT 1`
)

// HealthTimeout bounds a health check, as the contract asks.
const HealthTimeout = 2 * time.Second

// TransactionTimeout bounds one event's transaction once it has its connection: the statements and the
// commit. It is the server's own bound, never the client's: SaveEvent ignores the caller's cancellation
// and deadline.
const TransactionTimeout = 30 * time.Second

// ErrUnavailable marks failures to reach the database: connect, pool, timeout, connection lost.
// Test with errors.Is; every other error is an internal error.
var ErrUnavailable = errors.New("database unavailable")

// ErrUnstorable marks a valid event the database rejected as data (SQLSTATE class 22 data exception,
// e.g. a number beyond numeric's range, or class 54 program limit exceeded); its transaction was rolled
// back. It is the client's input, not a failure of the service: 400 / INVALID_ARGUMENT. Test with
// errors.Is.
var ErrUnstorable = errors.New(event.MsgUnstorable)

// Store is the event repository over a pgx pool.
type Store struct {
	pool           *pgxpool.Pool
	acquireTimeout time.Duration
}

// Option changes how Open builds the pool.
type Option func(*pgxpool.Config)

// WithPassword makes every new connection use password() — read when the connection is opened, so a
// password refreshed from the secrets store is used by the connections opened after it — unless
// DATABASE_URL carries a password, which wins (as it wins over PGPASSWORD).
func WithPassword(password func() string) Option {
	return func(c *pgxpool.Config) {
		if urlHasPassword(c.ConnString()) {
			return
		}
		c.BeforeConnect = func(_ context.Context, conn *pgx.ConnConfig) error {
			conn.Password = password() // conn is this connection's own copy of the configuration
			return nil
		}
	}
}

var keywordPassword = regexp.MustCompile(`(^|\s)password\s*=`)

// urlHasPassword tells whether the connection string itself (not PGPASSWORD) sets a password: in the
// userinfo or the password query parameter of a URL, or the password keyword of the key=value form.
func urlHasPassword(connString string) bool {
	if u, err := url.Parse(connString); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		_, inUserinfo := u.User.Password()
		return inUserinfo || u.Query().Has("password")
	}
	return keywordPassword.MatchString(connString)
}

// Open creates the pool from the configuration (DATABASE_URL, DB_POOL_MAX, DB_ACQUIRE_TIMEOUT). No
// connection is opened yet, so an API starts even while the database is down. The error never contains
// the password.
func Open(ctx context.Context, cfg config.Config, options ...Option) (*Store, error) {
	poolConfig, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, errors.New("DATABASE_URL is not a valid PostgreSQL URL") // the parse error may quote it
	}
	poolConfig.MaxConns = cfg.DBPoolMax
	acquireTimeout := cfg.DBAcquireTimeout
	if acquireTimeout <= 0 {
		acquireTimeout = config.DefaultDBAcquireTimeout
	}
	// A request waits at most acquireTimeout for a connection, a new one opened for it included; a
	// connection still opening then goes on (pgxpool detaches it from the waiter) and joins the pool.
	// Without connect_timeout in DATABASE_URL, that opening is bounded the same way, so a database that
	// does not answer holds no pool slot for longer than a request would wait.
	if poolConfig.ConnConfig.ConnectTimeout == 0 {
		poolConfig.ConnConfig.ConnectTimeout = acquireTimeout
	}
	for _, option := range options {
		option(poolConfig)
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return nil, fmt.Errorf("creating the database pool: %w", err)
	}
	return &Store{pool: pool, acquireTimeout: acquireTimeout}, nil
}

// Close waits for connections in use to be released and closes them all.
func (s *Store) Close() { s.pool.Close() }

// Ping runs SELECT 1 on the pool within HealthTimeout.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	err := s.selectOne(ctx)
	if err != nil && s.resetIfConnectionLost(err) {
		err = s.selectOne(ctx) // on a fresh connection
	}
	return Classify(err)
}

func (s *Store) selectOne(ctx context.Context) error {
	var one int
	return s.pool.QueryRow(ctx, healthSQL).Scan(&one)
}

// resetIfConnectionLost closes every pooled connection when err says an established connection died:
// after a database restart all of them are dead, and pgx only pings connections idle for over a second,
// so without a reset the next requests would each draw a dead one. A write is never retried here; its
// client gets 503 and may retry, which the duplicate rule makes safe.
func (s *Store) resetIfConnectionLost(err error) bool {
	if !connectionLost(err) {
		return false
	}
	s.pool.Reset()
	return true
}

func connectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02"
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return false // never connected, or slow: the pooled connections may be fine
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, pgconn.ErrConnClosed)
}

// SaveEvent writes the event in one transaction: S1 once, then, unless the uuid is already stored, S2 for
// every entity in lock order. duplicate is true when the uuid was already stored; nothing is written then.
//
// It waits at most DB_ACQUIRE_TIMEOUT for a connection (ErrUnavailable after that, nothing written), then
// runs the transaction within TransactionTimeout. ctx only passes values: its cancellation and deadline
// are ignored, so a client that goes away (or a gRPC deadline that expires) never interrupts a
// transaction; the event is stored or not exactly as if the client had waited.
func (s *Store) SaveEvent(ctx context.Context, ev *event.Event) (duplicate bool, err error) {
	ctx = context.WithoutCancel(ctx)
	conn, err := s.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	ctx, cancel := context.WithTimeout(ctx, TransactionTimeout)
	defer cancel()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, InsertEventSQL, ev.UUID, ev.EventName, ev.EventType,
			timestampParam(ev.CreatedDate), timestampParam(ev.SavedDate), ev.Document())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			duplicate = true
			return errDuplicate // rolls back; nothing else to write
		}
		for _, entity := range ev.EntitiesInLockOrder() {
			if _, err := tx.Exec(ctx, UpsertEntitySQL, entity.Type, entity.ID, []byte(entity.Attributes)); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errDuplicate) {
		return true, nil
	}
	if err != nil {
		s.resetIfConnectionLost(err)
		return false, Classify(err)
	}
	return false, nil
}

var errDuplicate = errors.New("duplicate event")

// acquire takes a pooled connection, or one the pool opens for this request, within DB_ACQUIRE_TIMEOUT.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.acquireTimeout)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		s.resetIfConnectionLost(err)
		return nil, Classify(err)
	}
	return conn, nil
}

// timestampParam sends the instant the text names (validation keeps it within what timestamptz stores:
// year 0001 to 9999, offsets within ±15:59).
func timestampParam(ts *event.Timestamp) any {
	if ts == nil {
		return nil
	}
	return ts.Instant
}

// Classify wraps err with ErrUnavailable when it means the database could not be reached or the
// connection was lost, with ErrUnstorable when the database rejected a value as data; other errors are
// returned unchanged.
func Classify(err error) error {
	switch {
	case err == nil || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrUnstorable):
		return err
	case isUnstorable(err):
		return fmt.Errorf("%w: %w", ErrUnstorable, err)
	case isUnavailable(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func isUnstorable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "54")
	}
	return false
}

func isUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code := pgErr.Code
		return strings.HasPrefix(code, "08") || // connection exception
			strings.HasPrefix(code, "53") || // insufficient resources, e.g. too many connections
			strings.HasPrefix(code, "57P") // admin shutdown, crash shutdown, cannot connect now
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), pgconn.Timeout(err),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, puddle.ErrClosedPool):
		return true
	}
	return false
}
