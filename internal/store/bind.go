package store

import "context"

// Bound is a DB whose InTx hands its function the transaction as T: the
// unit-of-work interface of a package that must not depend on the store
// (delivery.Tx, scanner.Tx, pii.Tx…), which *Tx implements. Every other
// method is the DB's.
type Bound[T any] struct {
	*DB
	as func(*Tx) T
}

// Bind returns db with its transactions seen as T. as converts a *Tx to T;
// it is nearly always func(tx *store.Tx) T { return tx }, which the compiler
// checks: *Tx must implement T.
func Bind[T any](db *DB, as func(*Tx) T) Bound[T] {
	return Bound[T]{DB: db, as: as}
}

// InTx runs fn in one transaction of the DB (see DB.InTx: conflicts retry
// the whole of fn).
func (b Bound[T]) InTx(ctx context.Context, fn func(tx T) error) error {
	return b.DB.InTx(ctx, func(tx *Tx) error { return fn(b.as(tx)) })
}
