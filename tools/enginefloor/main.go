// Command enginefloor measures what SQLite itself spends writing the rows a
// drain of usher wrote, with two drivers of the same engine in one run: the
// pure-Go translation usher ships (modernc.org/sqlite) and the C library
// through cgo (github.com/mattn/go-sqlite3). It reads every row of the
// drained database, then, in alternating rounds, writes them again into a
// fresh database with the same schema and pragmas as usher's store, in the
// drain's batches and multi-row INSERTs, and prints the CPU time per event
// of each round.
//
// It is a separate module so that usher's own build stays free of cgo. Make
// the input with the drain benchmark:
//
//	USHER_DRAIN_KEEP=/tmp/drained.db go test -run='^$' -bench='Drain/batch=512/engine=sqlite' -benchtime=20x ./internal/processor/
//	cd tools/enginefloor && go run . -db /tmp/drained.db -batch 512
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers "sqlite3" (cgo)
	_ "modernc.org/sqlite"          // registers "sqlite" (pure Go)
)

// tables are those an order.paid writes rows to; updates are the
// single-row updates a batch makes beside them.
var tables = []string{"inbound_events", "orders", "tickets", "buyers", "ticket_changes", "outbox", "audit_log"}

// seedTables hold what the written rows refer to (sources) or what a batch
// updates.
var seedTables = []string{"sources", "venue_seq", "inventory", "audit_head"}

var updates = []string{
	`UPDATE venue_seq SET seq = seq + 1`,
	`UPDATE audit_head SET seq = seq + 1 WHERE id = 1`,
	`UPDATE inventory SET sold = sold + 1`,
}

// pragmas are the store's connection settings (internal/store/sqlite).
var pragmas = []string{
	"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
	"PRAGMA temp_store=MEMORY", "PRAGMA cache_size=-16384",
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "enginefloor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("enginefloor", flag.ContinueOnError)
	src := fs.String("db", "", "the drained database to read rows from")
	batch := fs.Int("batch", 512, "events per transaction")
	rounds := fs.Int("rounds", 3, "rounds per driver, alternating")
	extra := fs.String("pragmas", "", "semicolon-separated PRAGMA settings to compare against the store's (each round then runs both)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *src == "" {
		return errors.New("-db is required")
	}
	schema, seed, all, events, err := read(ctx, *src)
	if err != nil {
		return err
	}
	batches := max(1, events / *batch)
	fmt.Fprintf(stdout, "%d events, %d transactions of %d\n", events, batches, *batch)
	dir, err := os.MkdirTemp("", "enginefloor")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for r := range *rounds {
		for _, v := range variants(*extra) {
			path := filepath.Join(dir, fmt.Sprintf("%s-%d-%s.db", v.driver, r, v.name))
			cpu, wall, err := rewrite(ctx, v.driver, path, append(slices.Clone(v.pragmas), schema...), seed, all, batches)
			if err != nil {
				return fmt.Errorf("%s: %w", v.driver, err)
			}
			fmt.Fprintf(stdout, "round %d %-8s %-6s %6.1f cpu-µs/event %8.0f events/s\n", r+1, v.driver, v.name,
				float64(cpu.Microseconds())/float64(events), float64(events)/wall.Seconds())
		}
	}
	return nil
}

type variant struct {
	name, driver string
	pragmas      []string
}

// variants are the driver and settings of each round: both drivers with
// the store's pragmas, and, with extra settings, both drivers with those
// applied first.
func variants(extra string) []variant {
	vs := []variant{{"store", "sqlite", pragmas}, {"store", "sqlite3", pragmas}}
	if extra == "" {
		return vs
	}
	var more []string
	for p := range strings.SplitSeq(extra, ";") {
		if p = strings.TrimSpace(p); p != "" {
			more = append(more, "PRAGMA "+p)
		}
	}
	with := append(more, pragmas...)
	return append(vs, variant{"extra", "sqlite", with}, variant{"extra", "sqlite3", with})
}

type rows struct {
	table   string
	columns []string
	values  [][]any
}

// read returns the schema of src (its CREATE statements), the rows the
// written ones refer to or update (written before the clock starts), every
// row of the written tables and the number of events (rows of
// inbound_events).
func read(ctx context.Context, src string) (schema []string, seed, all []rows, events int, err error) {
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro")
	if err != nil {
		return nil, nil, nil, 0, err
	}
	defer db.Close()
	rs, err := db.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'bench_%' ORDER BY type = 'index', rowid`)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			return nil, nil, nil, 0, err
		}
		schema = append(schema, s)
	}
	if err := rs.Err(); err != nil {
		return nil, nil, nil, 0, err
	}
	for _, t := range seedTables {
		r, err := readTable(ctx, db, t)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		seed = append(seed, r)
	}
	for _, t := range tables {
		r, err := readTable(ctx, db, t)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		all = append(all, r)
	}
	return schema, seed, all, len(all[0].values), nil
}

func readTable(ctx context.Context, db *sql.DB, table string) (rows, error) {
	rs, err := db.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY rowid`)
	if err != nil {
		return rows{}, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return rows{}, err
	}
	out := rows{table: table, columns: cols}
	for rs.Next() {
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return rows{}, err
		}
		out.values = append(out.values, vals)
	}
	return out, rs.Err()
}

// rewrite writes all rows into a fresh database at path through driver and
// returns the CPU and wall time of the writing; schema starts with the
// connection's PRAGMA settings.
func rewrite(ctx context.Context, driver, path string, schema []string, seed, all []rows, batches int) (time.Duration, time.Duration, error) {
	db, err := sql.Open(driver, "file:"+path+"?_txlock=immediate")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	for _, s := range schema {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return 0, 0, fmt.Errorf("%.60s: %w", s, err)
		}
	}
	if err := writeBatch(ctx, db, seed, 0, 1); err != nil {
		return 0, 0, fmt.Errorf("seed: %w", err)
	}
	cpu0, wall0 := cpuTime(), time.Now()
	for k := range batches {
		if err := writeBatch(ctx, db, all, k, batches); err != nil {
			return 0, 0, err
		}
	}
	return cpuTime() - cpu0, time.Since(wall0), nil
}

func writeBatch(ctx context.Context, db *sql.DB, all []rows, k, batches int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	stmts := map[string]*sql.Stmt{} // closed with the transaction
	for _, t := range all {
		lo, hi := k*len(t.values)/batches, (k+1)*len(t.values)/batches
		for rest := t.values[lo:hi]; len(rest) > 0; {
			n := min(128, len(rest))
			row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(t.columns)), ",") + ")"
			q := fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", t.table, strings.Join(t.columns, ","),
				strings.TrimSuffix(strings.Repeat(row+",", n), ","))
			st, ok := stmts[q]
			if !ok {
				if st, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
				stmts[q] = st
			}
			args := make([]any, 0, n*len(t.columns))
			for _, r := range rest[:n] {
				args = append(args, r...)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("%s: %w", t.table, err)
			}
			rest = rest[n:]
		}
	}
	for _, u := range updates {
		if _, err := tx.ExecContext(ctx, u); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
