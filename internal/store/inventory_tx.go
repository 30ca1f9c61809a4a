package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/usherhq/usher"
)

// inventoryKey names an inventory row.
type inventoryKey struct{ show, ticketType string }

// txInventory is an inventory row as a transaction sees it: read once, then
// changed in memory by each swap, and written back once, by compare-and-swap
// on the version it was read at, when the transaction commits (or flushes).
type txInventory struct {
	inv    usher.Inventory
	stored int64 // the version of the row in the database
}

// Inventory returns one ticket type's inventory inside the transaction, as
// the transaction's own swaps left it.
func (tx *Tx) Inventory(ctx context.Context, showID, ticketType string) (usher.Inventory, bool, error) {
	e, err := tx.inventoryRow(ctx, showID, ticketType)
	if err != nil || e == nil {
		return usher.Inventory{}, false, err
	}
	return e.inv, true, nil
}

// inventoryRow returns what the transaction holds of a row, reading it
// first if need be; nil when there is no such row.
func (tx *Tx) inventoryRow(ctx context.Context, showID, ticketType string) (*txInventory, error) {
	k := inventoryKey{showID, ticketType}
	if e, ok := tx.inv[k]; ok {
		return e, nil
	}
	inv, err := scanInventory(tx.queryRow(ctx, `SELECT show_id, ticket_type, capacity, sold, held, version
		FROM inventory WHERE show_id = $1 AND ticket_type = $2`, showID, ticketType))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	if tx.inv == nil {
		tx.inv = map[inventoryKey]*txInventory{}
	}
	e := &txInventory{inv: inv, stored: inv.Version}
	tx.inv[k] = e
	return e, nil
}

// SwapSold adds delta (negative to return seats) to the sold count if the row
// is still at version, and fails with ErrConflict otherwise. The row's CHECK
// constraint is a second guard: sold never goes negative or past capacity.
func (tx *Tx) SwapSold(ctx context.Context, inv usher.Inventory, delta int) error {
	return tx.SwapInventory(ctx, inv, delta, 0)
}

// SwapInventory adds soldDelta and heldDelta (either may be negative) if the
// row is still at inv.Version and the result stays within 0..capacity, and
// fails with ErrConflict otherwise. A hold becomes a sale with (+q, -q). The
// swap takes effect in the transaction at once; the row is written when the
// transaction commits, and only if no other writer changed it since this
// transaction read it (ErrConflict otherwise: InTx runs it again).
func (tx *Tx) SwapInventory(ctx context.Context, inv usher.Inventory, soldDelta, heldDelta int) error {
	e, err := tx.inventoryRow(ctx, inv.ShowID, inv.TicketType)
	if err != nil {
		return err
	}
	if e == nil {
		return fmt.Errorf("swap inventory of missing %s/%s: %w", inv.ShowID, inv.TicketType, usher.ErrConflict)
	}
	c := &e.inv
	if c.Version != inv.Version || c.Sold+soldDelta < 0 || c.Held+heldDelta < 0 || c.Sold+c.Held+soldDelta+heldDelta > c.Capacity {
		return fmt.Errorf("swap inventory of %s/%s at version %d: %w", inv.ShowID, inv.TicketType, inv.Version, usher.ErrConflict)
	}
	c.Sold, c.Held, c.Version = c.Sold+soldDelta, c.Held+heldDelta, c.Version+1
	c.Available = c.Capacity - c.Sold - c.Held
	tx.writes++
	return nil
}

// flushInventory writes back every row the transaction swapped, in key
// order, each by compare-and-swap on the version it read.
func (tx *Tx) flushInventory(ctx context.Context) error {
	var keys []inventoryKey
	for k, e := range tx.inv {
		if e.inv.Version != e.stored {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b inventoryKey) int {
		return cmp.Or(cmp.Compare(a.show, b.show), cmp.Compare(a.ticketType, b.ticketType))
	})
	for _, k := range keys {
		e := tx.inv[k]
		res, err := tx.exec(ctx, `UPDATE inventory SET sold = $1, held = $2, version = $3, updated_at = $4
			WHERE show_id = $5 AND ticket_type = $6 AND version = $7`,
			e.inv.Sold, e.inv.Held, e.inv.Version, micros(tx.db.now()), k.show, k.ticketType, e.stored)
		if err != nil {
			return fmt.Errorf("swap inventory: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("swap inventory of %s/%s at version %d: %w", k.show, k.ticketType, e.stored, usher.ErrConflict)
		}
		e.stored = e.inv.Version
	}
	return nil
}
