// Package lazydb holds the one database pool of a Lambda execution environment. The pool is
// created on the first invocation that needs the database and then reused by every later
// invocation of the same environment; the SIGTERM that Lambda sends before shutting an
// environment down closes it.
package lazydb

import (
	"context"
	"sync"

	"github.com/perflab/apilab/internal/config"
	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/store"
)

// Store is a *store.Store opened on first use.
type Store struct {
	cfg     config.Config
	options []store.Option
	once    sync.Once
	st      *store.Store
	err     error
	open    func(context.Context, config.Config, ...store.Option) (*store.Store, error)
}

// New returns a store that opens its pool (DATABASE_URL, DB_POOL_MAX, DB_ACQUIRE_TIMEOUT, and the
// options: the password from the secrets store) on first use.
func New(cfg config.Config, options ...store.Option) *Store {
	return &Store{cfg: cfg, options: options, open: store.Open}
}

func (s *Store) get(ctx context.Context) (*store.Store, error) {
	s.once.Do(func() {
		// The pool outlives this invocation: detach it from the invocation's deadline.
		s.st, s.err = s.open(context.WithoutCancel(ctx), s.cfg, s.options...)
	})
	return s.st, s.err
}

// SaveEvent is store.Store.SaveEvent on the environment's pool.
func (s *Store) SaveEvent(ctx context.Context, ev *event.Event) (bool, error) {
	st, err := s.get(ctx)
	if err != nil {
		return false, err
	}
	return st.SaveEvent(ctx, ev)
}

// Ping is store.Store.Ping on the environment's pool.
func (s *Store) Ping(ctx context.Context) error {
	st, err := s.get(ctx)
	if err != nil {
		return err
	}
	return st.Ping(ctx)
}

// Close closes the pool if it was opened.
func (s *Store) Close() {
	s.once.Do(func() {}) // no pool may be opened after Close
	if s.st != nil {
		s.st.Close()
	}
}
