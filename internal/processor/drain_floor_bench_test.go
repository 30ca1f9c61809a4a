package processor_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store/sqlite"
)

// floorTables are the tables an order.paid writes rows to, with the
// single-row updates a batch makes beside them.
var floorTables = []string{"inbound_events", "orders", "tickets", "buyers", "ticket_changes", "outbox", "audit_log"}

var floorUpdates = []string{
	`UPDATE venue_seq SET seq = seq + 1`,
	`UPDATE audit_head SET seq = seq + 1 WHERE id = 1`,
	`UPDATE inventory SET sold = sold + 1`,
}

// storedRows is every row of one table, in the order it was written.
type storedRows struct {
	table   string
	columns []string
	rows    [][]any
}

// engineFloor measures what the engine alone spends on the rows a drain
// wrote: it reads back every row of the drained database at path, and
// writes them again into a fresh store (same schema, indexes and pragmas),
// in as many transactions as the drain committed batches, each with the
// same share of every table in multi-row INSERTs (the drain's statement
// shape) and the batch's single-row updates. No usher code runs in the
// timed part: no JSON, no sealing, no signatures, no handler. It returns
// the CPU time of the rewrite per event, the part of cpu-µs/event that
// belongs to SQLite on this machine.
func engineFloor(b *testing.B, path string, events, batches int) float64 {
	ctx := context.Background()
	src, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var all []storedRows
	for _, t := range floorTables {
		all = append(all, readRows(b, src, t))
	}
	fresh := filepath.Join(b.TempDir(), "floor.db")
	st, err := sqlite.Open(ctx, fresh) // the schema, as usher creates it
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	// The store's own connection settings (a checkpoint runs on the
	// writer's connection here, as wal_autocheckpoint would).
	dst, err := sql.Open("sqlite", sqliteDSN(fresh)+"&_pragma=cache_size(-16384)&_pragma=temp_store(MEMORY)&_pragma=foreign_keys(ON)")
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	dst.SetMaxOpenConns(1)
	if _, err := dst.ExecContext(ctx, `INSERT INTO venue_seq (venue_id, seq) VALUES ('bench-venue', 0)`); err != nil {
		b.Fatal(err)
	}
	if _, err := dst.ExecContext(ctx, `INSERT INTO inventory (show_id, ticket_type, capacity, sold, updated_at) VALUES ('bench-show', 'GA', 100000000, 0, 0)`); err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	for k := range batches {
		tx, err := dst.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		stmts := map[string]*sql.Stmt{} // closed with the transaction
		for _, t := range all {
			lo, hi := k*len(t.rows)/batches, (k+1)*len(t.rows)/batches
			insertChunked(b, tx, stmts, t, t.rows[lo:hi])
		}
		for _, u := range floorUpdates {
			if _, err := tx.ExecContext(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return float64((cpuTime() - cpu0).Microseconds()) / float64(events)
}

func readRows(b *testing.B, db *sql.DB, table string) storedRows {
	rs, err := db.Query(`SELECT * FROM ` + table + ` ORDER BY rowid`)
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		b.Fatal(err)
	}
	out := storedRows{table: table, columns: cols}
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		out.rows = append(out.rows, vals)
	}
	if err := rs.Err(); err != nil {
		b.Fatal(err)
	}
	if len(out.rows) == 0 {
		b.Fatalf("the drain wrote no row to %s", table)
	}
	return out
}

// insertChunked inserts rows with multi-row INSERTs of up to 128 rows, as
// the store's held rows are written, each statement prepared once per
// transaction.
func insertChunked(b *testing.B, tx *sql.Tx, stmts map[string]*sql.Stmt, t storedRows, rows [][]any) {
	for len(rows) > 0 {
		n := min(128, len(rows))
		row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(t.columns)), ",") + ")"
		q := fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", t.table, strings.Join(t.columns, ","),
			strings.TrimSuffix(strings.Repeat(row+",", n), ","))
		args := make([]any, 0, n*len(t.columns))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		st, ok := stmts[q]
		if !ok {
			var err error
			if st, err = tx.Prepare(q); err != nil {
				b.Fatal(err)
			}
			stmts[q] = st
		}
		if _, err := st.Exec(args...); err != nil {
			b.Fatalf("rewrite %s: %v", t.table, err)
		}
		rows = rows[n:]
	}
}

// signingCost returns the CPU time per event of signing an order.paid's
// two ticket codes with the production signer, the one cost of an event
// that is neither the engine's nor avoidable.
func signingCost(b *testing.B, codes signedCodes, events int) float64 {
	n := min(events, 4000)
	cpu0 := cpuTime()
	for i := range 2 * n {
		if _, err := codes.IssueCode(usher.Ticket{TicketID: fmt.Sprintf("tkt_%024x", i), ShowID: "bench-show", VenueID: "bench-venue", Generation: 1}); err != nil {
			b.Fatal(err)
		}
	}
	return float64((cpuTime() - cpu0).Microseconds()) / float64(n)
}
