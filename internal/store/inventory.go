package store

import (
	"context"
	"fmt"
	"time"

	"github.com/usherhq/usher"
)

// AdjustCapacity sets capacity from a provider event at time at, unless a
// later adjustment was already applied (stale is then true). A capacity below
// what is sold and held is a usher.CodeConflict error.
func (tx *Tx) AdjustCapacity(ctx context.Context, showID, ticketType string, capacity int, at time.Time) (stale bool, err error) {
	if err := tx.flushInventory(ctx); err != nil {
		return false, err
	}
	delete(tx.inv, inventoryKey{showID, ticketType}) // written below, outside what the transaction holds
	var cur usher.Inventory
	var adjustedAt int64
	err = tx.queryRow(ctx, `SELECT show_id, ticket_type, capacity, sold, held, version, adjusted_at FROM inventory
		WHERE show_id = $1 AND ticket_type = $2`, showID, ticketType).
		Scan(&cur.ShowID, &cur.TicketType, &cur.Capacity, &cur.Sold, &cur.Held, &cur.Version, &adjustedAt)
	if isNoRows(err) {
		_, err = tx.exec(ctx, `INSERT INTO inventory (show_id, ticket_type, capacity, sold, held, version, updated_at, adjusted_at)
			VALUES ($1, $2, $3, 0, 0, 1, $4, $5)`, showID, ticketType, capacity, micros(tx.db.now()), micros(at))
		if err != nil {
			return false, fmt.Errorf("insert inventory: %w", err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read inventory: %w", err)
	}
	if micros(at) < adjustedAt {
		return true, nil
	}
	if capacity < cur.Sold+cur.Held {
		return false, usher.Errorf(usher.CodeConflict, "capacity %d is below the %d seats sold or held", capacity, cur.Sold+cur.Held)
	}
	res, err := tx.exec(ctx, `UPDATE inventory SET capacity = $1, adjusted_at = $2, version = version + 1, updated_at = $3
		WHERE show_id = $4 AND ticket_type = $5 AND version = $6`, capacity, micros(at), micros(tx.db.now()), showID, ticketType, cur.Version)
	if err != nil {
		return false, fmt.Errorf("adjust capacity: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, usher.ErrConflict
	}
	return false, nil
}

// PutCapacity sets a ticket type's capacity, creating the row if needed. A
// capacity below what is already sold is refused with usher.CodeConflict.
func (db *DB) PutCapacity(ctx context.Context, showID, ticketType string, capacity int) (usher.Inventory, error) {
	var inv usher.Inventory
	err := db.InTx(ctx, func(tx *Tx) error {
		cur, found, err := tx.Inventory(ctx, showID, ticketType)
		if err != nil {
			return err
		}
		now := micros(db.now())
		if !found {
			_, err = tx.exec(ctx, `INSERT INTO inventory (show_id, ticket_type, capacity, sold, held, version, updated_at)
				VALUES ($1, $2, $3, 0, 0, 1, $4)`, showID, ticketType, capacity, now)
			if err != nil {
				if db.dialect.UniqueViolation(err) {
					return usher.ErrConflict
				}
				return fmt.Errorf("insert inventory: %w", err)
			}
			inv = usher.Inventory{ShowID: showID, TicketType: ticketType, Capacity: capacity, Available: capacity, Version: 1}
			return nil
		}
		if capacity < cur.Sold+cur.Held {
			return usher.Errorf(usher.CodeConflict, "capacity %d is below the %d tickets already sold or held", capacity, cur.Sold+cur.Held)
		}
		delete(tx.inv, inventoryKey{showID, ticketType}) // written below, outside what the transaction holds
		res, err := tx.exec(ctx, `UPDATE inventory SET capacity = $1, version = version + 1, updated_at = $2
			WHERE show_id = $3 AND ticket_type = $4 AND version = $5`, capacity, now, showID, ticketType, cur.Version)
		if err != nil {
			return fmt.Errorf("update capacity: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return usher.ErrConflict
		}
		inv = cur
		inv.Capacity, inv.Version = capacity, cur.Version+1
		inv.Available = capacity - cur.Sold - cur.Held
		return nil
	})
	return inv, err
}

// ShowInventory lists every ticket type of a show.
func (db *DB) ShowInventory(ctx context.Context, showID string) ([]usher.Inventory, error) {
	return db.queryInventory(ctx, `SELECT show_id, ticket_type, capacity, sold, held, version
		FROM inventory WHERE show_id = $1 ORDER BY ticket_type`, showID)
}

// AllInventory lists every inventory row, for invariant checks.
func (db *DB) AllInventory(ctx context.Context) ([]usher.Inventory, error) {
	return db.queryInventory(ctx, `SELECT show_id, ticket_type, capacity, sold, held, version FROM inventory ORDER BY show_id, ticket_type`)
}

func (db *DB) queryInventory(ctx context.Context, query string, args ...any) ([]usher.Inventory, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list inventory: %w", err)
	}
	defer rows.Close()
	var out []usher.Inventory
	for rows.Next() {
		inv, err := scanInventory(rows)
		if err != nil {
			return nil, fmt.Errorf("scan inventory: %w", err)
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanInventory(row scanner) (usher.Inventory, error) {
	var inv usher.Inventory
	var held int
	if err := row.Scan(&inv.ShowID, &inv.TicketType, &inv.Capacity, &inv.Sold, &held, &inv.Version); err != nil {
		return usher.Inventory{}, err
	}
	inv.Held = held
	inv.Available = inv.Capacity - inv.Sold - held
	return inv, nil
}
