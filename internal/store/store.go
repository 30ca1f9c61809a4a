// Package store keeps usher's state in a SQL database. The SQL is portable:
// one implementation serves SQLite (the embedded default, package sqlite) and
// PostgreSQL (the scale-out engine, package postgres); each engine contributes
// its connection setup, its migrations and its error classification, and the
// storetest conformance suite runs against both.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/usherhq/usher"
)

// Dialect is what differs between engines.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Retryable reports whether err is a lock or serialization conflict that a
	// new attempt of the whole transaction may not meet.
	Retryable(err error) bool
	// UniqueViolation reports whether err is a unique-constraint violation.
	UniqueViolation(err error) bool
	// Rejected reports whether err is the engine refusing a value the same
	// way on every attempt: a constraint, an encoding, a value too long or
	// too big, a type mismatch. InTx marks such an error with ErrRejected.
	Rejected(err error) bool
	// CacheStatements reports whether the store should keep prepared
	// statements on its writer connection (SQLite re-parses every statement
	// otherwise; pgx caches statements itself).
	CacheStatements() bool
}

// DB is a usher state store. Writes go through InTx; reads that need no
// transaction are methods of DB.
type DB struct {
	write   *sql.DB
	read    *sql.DB
	dialect Dialect
	now     func() time.Time
	stmts   sync.Map // query → *sql.Stmt on the write pool, when the dialect caches
	sealer  Sealer   // seals source secrets at rest; nil stores them as given
	closers []func() error
}

// OnClose makes Close run f first: an engine stops there what it runs
// beside the pools (SQLite's checkpointer). Set it before use.
func (db *DB) OnClose(f func() error) { db.closers = append(db.closers, f) }

// Sealer encrypts secrets at rest (package secrets).
type Sealer interface {
	Seal(plaintext []byte, context string) ([]byte, error)
	Open(sealed []byte, context string) ([]byte, error)
}

// SetClock makes the store stamp rows with now instead of time.Now, so that
// a test clock reaches every timestamp. Set it before use.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// SetSealer makes the store seal source secrets with s. Set it before use.
func (db *DB) SetSealer(s Sealer) { db.sealer = s }

// Sealer returns the sealer set with SetSealer, or nil.
func (db *DB) Sealer() Sealer { return db.sealer }

// New returns a DB over the given pools. write and read may be the same pool;
// SQLite uses one writer connection and a separate pool of readers.
func New(write, read *sql.DB, dialect Dialect) *DB {
	return &DB{write: write, read: read, dialect: dialect, now: time.Now}
}

// Engine returns the dialect name.
func (db *DB) Engine() string { return db.dialect.Name() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: ping store: %w", usher.ErrTransient, err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	var err error
	for _, f := range db.closers {
		err = errors.Join(err, f())
	}
	db.stmts.Range(func(_, v any) bool {
		_ = v.(*sql.Stmt).Close()
		return true
	})
	err = errors.Join(err, db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// maxTxAttempts bounds the retries of a transaction that met a conflict.
const maxTxAttempts = 8

// InTx runs fn in one transaction and commits it when fn returns nil. A lock or
// serialization conflict, or ErrConflict from a compare-and-swap, retries the
// whole of fn with backoff; fn must therefore have no effects outside tx.
// Errors that remain after the retries are wrapped in usher.ErrTransient when
// they are conflicts or connection failures, and in ErrRejected when the
// engine refused a value (retrying would fail the same way).
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = db.inTxOnce(ctx, fn)
		if err == nil || !db.retryable(err) || attempt == maxTxAttempts {
			break
		}
		backoff := time.Duration(attempt*attempt) * time.Millisecond
		backoff += time.Duration(rand.Int64N(int64(backoff)))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", usher.ErrTransient, ctx.Err())
		case <-time.After(backoff):
		}
	}
	switch {
	case err == nil, errors.Is(err, usher.ErrTransient), errors.Is(err, usher.ErrRejected):
	case db.retryable(err):
		err = fmt.Errorf("%w: %w", usher.ErrTransient, err)
	case db.dialect.Rejected(err):
		err = fmt.Errorf("%w: %w", usher.ErrRejected, err)
	}
	return err
}

func (db *DB) retryable(err error) bool {
	return errors.Is(err, usher.ErrConflict) || db.dialect.Retryable(err)
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: begin: %w", usher.ErrTransient, err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback() // free the writer connection before re-panicking
			panic(p)
		}
	}()
	tx := &Tx{tx: sqlTx, db: db}
	err = fn(tx)
	if err == nil {
		err = tx.Flush(ctx)
	}
	if err != nil {
		_ = sqlTx.Rollback()
		db.prepareMissed(ctx, tx.missed)
		return err
	}
	err = sqlTx.Commit()
	db.prepareMissed(ctx, tx.missed)
	if err != nil {
		return fmt.Errorf("%w: commit: %w", usher.ErrTransient, err)
	}
	return nil
}

// Tx is one store transaction. Its methods run inside it.
type Tx struct {
	tx      *sql.Tx
	db      *DB
	missed  []string                      // queries run without a cached statement
	pend    pending                       // rows written at the commit
	inv     map[inventoryKey]*txInventory // inventory rows read and swapped
	inbound map[InboundKey]*txInbound     // dedupe records read or written
	orders  map[string]*txOrder           // orders (and their tickets) read or written
	buyers  map[string]string             // buyer tokens by order id, read or written
	writes  int                           // statements and appends that changed something
	heldErr error                         // the held rows failed to write; the transaction fails
	writing bool                          // the held rows are being written
}

// Writes counts the writes the transaction made so far: a caller compares
// two counts to learn whether a step of its work wrote anything.
func (tx *Tx) Writes() int { return tx.writes }

// stmt returns the transaction's handle of a cached prepared statement, or
// nil when the statement is not cached (yet). A statement cannot be prepared
// on the pool while the transaction holds its only writer connection, so a
// miss is noted and prepared after the transaction ends (see prepareMissed).
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if !tx.db.dialect.CacheStatements() {
		return nil
	}
	if v, ok := tx.db.stmts.Load(query); ok {
		return tx.tx.StmtContext(ctx, v.(*sql.Stmt))
	}
	tx.missed = append(tx.missed, query)
	return nil
}

// prepareMissed prepares the statements that a finished transaction ran
// uncached, so that the next transactions find them.
func (db *DB) prepareMissed(ctx context.Context, queries []string) {
	for _, q := range queries {
		if _, ok := db.stmts.Load(q); ok {
			continue
		}
		st, err := db.write.PrepareContext(ctx, q)
		if err != nil {
			continue // it runs unprepared; nothing is lost
		}
		if _, loaded := db.stmts.LoadOrStore(q, st); loaded {
			_ = st.Close()
		}
	}
}

// exec runs a statement in the transaction, after the rows it holds back.
func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := tx.writeHeld(ctx); err != nil {
		return nil, err
	}
	tx.writes++
	return tx.run(ctx, query, args...)
}

// run runs a statement in the transaction as it is.
func (tx *Tx) run(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, query, args...)
}

// writeHeld writes the new orders, tickets and buyers the transaction holds
// back, so that the statement about to run sees them. A failure sticks:
// every later statement and the commit return it.
func (tx *Tx) writeHeld(ctx context.Context) error {
	if tx.heldErr != nil || tx.writing || !tx.pend.holdsRows() {
		return tx.heldErr
	}
	tx.writing = true
	defer func() { tx.writing = false }()
	err := tx.flushBuyers(ctx)
	if err == nil {
		err = tx.flushOrders(ctx)
	}
	if err == nil {
		err = tx.flushTickets(ctx)
	}
	if err != nil {
		tx.heldErr = fmt.Errorf("%w: %w", ErrHeldRows, err)
	}
	return tx.heldErr
}

// ErrHeldRows marks the failure of rows a transaction held back for its
// commit, met when a later statement wrote them: the refusal belongs to
// whichever step added the rows since the last Flush, not necessarily to
// the statement that met it. A caller that must know the step flushes after
// each one.
var ErrHeldRows = errors.New("rows held for the commit")

// queryRow runs a one-row query in the transaction, after the rows it holds
// back; when those fail to write, Scan returns their error.
func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) scanner {
	if err := tx.writeHeld(ctx); err != nil {
		return errRow{err}
	}
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// errRow is a row whose query did not run.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// QueryContext runs a query in the transaction (with a cached statement when
// the dialect caches), after the rows it holds back; it lets Tx serve as a
// querier.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := tx.writeHeld(ctx); err != nil {
		return nil, err
	}
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, query, args...)
}

// Savepoint runs fn inside a savepoint: when fn fails, only its own writes are
// rolled back and the transaction goes on.
func (tx *Tx) Savepoint(ctx context.Context, fn func() error) error {
	if err := tx.Flush(ctx); err != nil {
		return err
	}
	venues := tx.pend.venueSet()
	if _, err := tx.tx.ExecContext(ctx, "SAVEPOINT usher_sp"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if ferr := fn(); ferr != nil {
		if _, err := tx.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT usher_sp"); err != nil {
			return errors.Join(ferr, fmt.Errorf("rollback to savepoint: %w", err))
		}
		tx.pend.forget(venues)
		tx.inv, tx.inbound, tx.orders, tx.buyers = nil, nil, nil, nil // rows as the flush wrote them: read again
		tx.heldErr = nil                                              // refused held rows are gone with the rest
		if _, err := tx.tx.ExecContext(ctx, "RELEASE SAVEPOINT usher_sp"); err != nil {
			return errors.Join(ferr, fmt.Errorf("release savepoint: %w", err))
		}
		return ferr
	}
	if _, err := tx.tx.ExecContext(ctx, "RELEASE SAVEPOINT usher_sp"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func notFound(what, id string) error {
	return usher.Errorf(usher.CodeNotFound, "%s %q not found", what, id)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
