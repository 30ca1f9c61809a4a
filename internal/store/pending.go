package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/usherhq/usher"
)

// pending holds the rows a transaction appends to tables that nothing reads
// back inside a transaction (the audit trail, the venue feeds, the outbox).
// They are written when the transaction commits (or before a savepoint, or
// on Flush), in multi-row statements: a batch of events pays a few
// statements for them instead of a few per event.
type pending struct {
	audit   []usher.AuditRecord
	outbox  [][]any
	changes [][]any
	inbound [][]any
	// orders, tickets and buyers are new rows of tables that statements of
	// the transaction may read: they are written before any such statement
	// runs (Tx.writeHeld), or at the commit.
	orders  []string
	tickets [][]any
	buyers  [][]any
	// venues holds the feed sequence of every venue this transaction
	// appended to: the first append takes the venue's row (and its lock)
	// with one UPDATE, later ones count on in memory, and the flush writes
	// the last number back.
	venues map[string]*venueSeq
}

type venueSeq struct {
	stored int64 // the row's seq as this transaction last wrote it
	last   int64 // the last seq handed out
}

// Flush writes the rows the transaction holds back. The transaction's
// commit flushes by itself; a caller flushes earlier to learn which of its
// steps a refused value belongs to.
func (tx *Tx) Flush(ctx context.Context) error {
	if err := tx.writeHeld(ctx); err != nil {
		return err
	}
	if err := tx.flushInventory(ctx); err != nil {
		return err
	}
	if err := tx.flushInbound(ctx); err != nil {
		return err
	}
	p := &tx.pend
	if len(p.changes) > 0 {
		if err := tx.insertRows(ctx, changeTable, p.changes); err != nil {
			return fmt.Errorf("append ticket changes: %w", err)
		}
		p.changes = p.changes[:0]
	}
	if err := tx.storeVenueSeqs(ctx); err != nil {
		return err
	}
	if len(p.outbox) > 0 {
		if err := tx.insertRows(ctx, outboxTable, p.outbox); err != nil {
			return fmt.Errorf("append outbox: %w", err)
		}
		p.outbox = p.outbox[:0]
	}
	if len(p.audit) > 0 {
		if err := tx.flushAudit(ctx, p.audit); err != nil {
			return err
		}
		p.audit = p.audit[:0]
	}
	return nil
}

// storeVenueSeqs writes back the last feed number of each venue, in venue
// order.
func (tx *Tx) storeVenueSeqs(ctx context.Context) error {
	venues := make([]string, 0, len(tx.pend.venues))
	for v, s := range tx.pend.venues {
		if s.last != s.stored {
			venues = append(venues, v)
		}
	}
	slices.Sort(venues)
	for _, v := range venues {
		s := tx.pend.venues[v]
		if _, err := tx.exec(ctx, `UPDATE venue_seq SET seq = $1 WHERE venue_id = $2`, s.last, v); err != nil {
			return fmt.Errorf("store venue seq: %w", err)
		}
		s.stored = s.last
	}
	return nil
}

// forget drops what the transaction holds back, after a rollback to a
// savepoint taken right after a flush: the rows appended since are gone, a
// venue first taken since has its row as before, and every other venue's
// row is as the flush wrote it.
func (p *pending) forget(venuesBefore map[string]bool) {
	p.audit, p.outbox, p.changes, p.inbound = p.audit[:0], p.outbox[:0], p.changes[:0], p.inbound[:0]
	p.orders, p.tickets, p.buyers = p.orders[:0], p.tickets[:0], p.buyers[:0]
	for v, s := range p.venues {
		if !venuesBefore[v] {
			delete(p.venues, v)
			continue
		}
		s.last = s.stored
	}
}

// holdsRows reports whether new orders, tickets or buyers wait to be written.
func (p *pending) holdsRows() bool {
	return len(p.orders) > 0 || len(p.tickets) > 0 || len(p.buyers) > 0
}

// venueSet lists the venues whose numbers the transaction holds.
func (p *pending) venueSet() map[string]bool {
	m := make(map[string]bool, len(p.venues))
	for v := range p.venues {
		m[v] = true
	}
	return m
}

// rowTable is a table written in multi-row inserts.
type rowTable struct {
	name    string
	columns []string
	suffix  string   // after the values: an ON CONFLICT clause
	queries sync.Map // rows per statement → query text
}

var (
	changeTable = &rowTable{name: "ticket_changes",
		columns: []string{"venue_id", "seq", "ticket_id", "show_id", "status", "code_hash", "accepted_at", "changed_at"}}
	outboxTable = &rowTable{name: "outbox",
		columns: []string{"id", "type", "order_id", "venue_id", "data", "created_at", "traceparent"}}
	ticketTable = &rowTable{name: "tickets",
		columns: []string{"ticket_id", "order_id", "show_id", "venue_id", "ticket_type", "status", "code", "generation", "revoked_by", "created_at", "updated_at"}}
	auditTable = &rowTable{name: "audit_log",
		columns: []string{"seq", "at", "actor", "action", "entity_type", "entity_id", "order_id", "detail", "prev_hash", "hash"}}
)

// maxRowsPerInsert bounds the rows of one statement (128 rows of 10 columns
// stay far below either engine's limit on parameters).
const maxRowsPerInsert = 128

// query returns the INSERT of n rows, with anonymous parameters (?) when
// anon is set. SQLite looks up the name of every numbered parameter ($1)
// in a list as long as the statement's parameters, so binding the
// parameters of a multi-row insert by number costs their square.
func (t *rowTable) query(n int, anon bool) string {
	key := n
	if anon {
		key = -n
	}
	if q, ok := t.queries.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.name + " (" + strings.Join(t.columns, ", ") + ") VALUES ")
	arg := 0
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range t.columns {
			if c > 0 {
				b.WriteString(", ")
			}
			arg++
			if anon {
				b.WriteByte('?')
			} else {
				b.WriteString("$" + strconv.Itoa(arg))
			}
		}
		b.WriteByte(')')
	}
	b.WriteString(t.suffix)
	q, _ := t.queries.LoadOrStore(key, b.String())
	return q.(string)
}

// insertRows inserts rows in order, in statements of a power of two rows
// each, so that a few statements serve every batch size and stay prepared.
func (tx *Tx) insertRows(ctx context.Context, t *rowTable, rows [][]any) error {
	_, err := tx.insertRowsCounted(ctx, t, rows)
	return err
}

// insertRowsCounted is insertRows that returns how many rows the engine
// inserted (fewer than given when the table's ON CONFLICT skipped some).
func (tx *Tx) insertRowsCounted(ctx context.Context, t *rowTable, rows [][]any) (int64, error) {
	var inserted int64
	for len(rows) > 0 {
		n := maxRowsPerInsert
		for n > len(rows) {
			n /= 2
		}
		args := make([]any, 0, n*len(t.columns))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		res, err := tx.run(ctx, t.query(n, tx.db.dialect.Name() == "sqlite"), args...)
		if err != nil {
			return inserted, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return inserted, err
		}
		inserted += k
		rows = rows[n:]
	}
	return inserted, nil
}
