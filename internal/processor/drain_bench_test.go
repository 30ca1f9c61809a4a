package processor_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the bare baseline opens the same file

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/personal"
	"github.com/usherhq/usher/internal/processor"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/postgres"
	"github.com/usherhq/usher/internal/store/sqlite"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ticketcode"
	"github.com/usherhq/usher/internal/ushertest"
)

// drainBatches are the sizes of the batches handed over: a partition's
// consumer takes up to 128 messages of a backlog at once, and each message
// is one group-commit write of the receiver. 128 events is one event per
// write (a trickle of senders); 512 is four per write, what 64 concurrent
// senders give (BenchmarkEndToEnd's events/write).
var drainBatches = []int{128, 512}

// drainPartitions is the number of partitions handing over batches, the
// default of `usher serve`.
const drainPartitions = 2

// BenchmarkDrain drains a pre-filled backlog of order.paid events (two
// tickets each, with feed entries, outbound events, audit records and the
// buyer vaulted) through Processor.HandleBatch, two partitions each handing
// over its next batch (of 128 or 512 events) once the last is applied, on
// each engine. It is set up as `usher serve`
// runs: the events come sealed as the receiver queues them, the store seals
// the vault with a master key, and ticket codes are Ed25519-signed. Beside it, in the same run and on
// the same database, a bare loop of single-row transactions measures what
// the engine commits per second on this machine:
//
//   - events/s: events applied per second of wall time
//   - cpu-µs/event: CPU time of this process (user + system) per event; on
//     PostgreSQL the server's own CPU is not in it
//   - bare-tx/s: single-row transactions per second of the bare loop
//   - x-bare-tx: events/s ÷ bare-tx/s
//   - bare-rows/s: rows per second of a bare loop of 256-row transactions
//     (one prepared single-row INSERT each), the engine's batched ceiling
//   - x-bare-rows: events/s ÷ bare-rows/s, the figure to compare across runs
//     of a noisy machine (both are mostly CPU; bare-tx/s is mostly fsync)
func BenchmarkDrain(b *testing.B) {
	for _, n := range drainBatches {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) { benchDrain(b, n) })
	}
}

func benchDrain(b *testing.B, batch int) {
	b.Run("engine=sqlite", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "usher.db")
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		bare, err := sql.Open("sqlite", sqliteDSN(path))
		if err != nil {
			b.Fatal(err)
		}
		bare.SetMaxOpenConns(1)
		drain(b, db, bare, batch, path)
	})
	b.Run("engine=postgres", func(b *testing.B) {
		u := ushertest.PostgresURL(b)
		db, err := postgres.Open(context.Background(), u)
		if err != nil {
			b.Fatal(err)
		}
		bare, err := sql.Open("pgx", u)
		if err != nil {
			b.Fatal(err)
		}
		bare.SetMaxOpenConns(1)
		drain(b, db, bare, batch, "")
	})
}

// sqliteDSN opens path as the store does: WAL, full sync.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}).String()
}

func drain(b *testing.B, db *store.DB, bare *sql.DB, batch int, path string) {
	ctx := context.Background()
	b.Cleanup(func() { _ = bare.Close(); _ = db.Close() })
	if _, err := db.PutCapacity(ctx, "bench-show", "GA", 100_000_000); err != nil {
		b.Fatal(err)
	}
	sealer, codes := productionKeys(b)
	db.SetSealer(sealer)
	p := processor.New(db, codes, telemetry.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	b.Cleanup(p.Close)
	// The backlog: b.N batches per partition, made before the clock starts.
	backlog := make([][]queue.Batch, drainPartitions)
	seq := 0
	for k := range backlog {
		for range b.N {
			evs := make([]usher.InboundEvent, batch)
			for j := range evs {
				seq++
				evs[j] = paidEvent(seq)
				if err := personal.Seal(sealer, &evs[j]); err != nil {
					b.Fatal(err)
				}
			}
			backlog[k] = append(backlog[k], queue.Batch{Partition: k, Events: evs, Delivered: 1})
		}
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	// Each partition hands over its next batch once the last one is
	// applied, as a partition's consumer does.
	errs := make(chan error, drainPartitions)
	for k := range backlog {
		go func() {
			for _, batch := range backlog[k] {
				if err := p.HandleBatch(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range backlog {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	events := float64(seq)
	perSec := events / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/events, "cpu-µs/event")
	tx := bareTxPerSecond(b, bare)
	b.ReportMetric(tx, "bare-tx/s")
	b.ReportMetric(perSec/tx, "x-bare-tx")
	rows := bareRowsPerSecond(b, bare)
	b.ReportMetric(rows, "bare-rows/s")
	b.ReportMetric(perSec/rows, "x-bare-rows")
	if path != "" {
		if keep := os.Getenv("USHER_DRAIN_KEEP"); keep != "" {
			// For tools/enginefloor, which compares SQLite drivers.
			_ = os.Remove(keep)
			if _, err := bare.ExecContext(ctx, `VACUUM INTO ?`, keep); err != nil {
				b.Fatal(err)
			}
		}
		engine := engineFloor(b, path, seq, drainPartitions*b.N)
		sign := signingCost(b, codes, seq)
		b.ReportMetric(engine, "engine-µs/event")
		b.ReportMetric(sign, "sign-µs/event")
		b.ReportMetric(float64(cpu.Microseconds())/events-engine-sign, "usher-µs/event")
	}
}

// productionKeys returns a master-key sealer and a ticket-code signer, as
// `usher serve` has them.
func productionKeys(b testing.TB) (*secrets.Keyring, signedCodes) {
	key, err := secrets.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := secrets.NewKeyring(key)
	if err != nil {
		b.Fatal(err)
	}
	tk, err := ticketcode.GenerateKey("bench")
	if err != nil {
		b.Fatal(err)
	}
	codes, err := ticketcode.NewKeyring(tk)
	if err != nil {
		b.Fatal(err)
	}
	return sealer, signedCodes{codes}
}

// signedCodes issues Ed25519-signed ticket codes, as the server does.
type signedCodes struct{ k *ticketcode.Keyring }

func (s signedCodes) IssueCode(t usher.Ticket) (string, error) {
	return s.k.Issue(ticketcode.Claims{TicketID: t.TicketID, ShowID: t.ShowID, VenueID: t.VenueID, Generation: t.Generation})
}

// bareTxPerSecond runs single-row INSERT transactions for about half a
// second on the same database and returns their rate.
func bareTxPerSecond(b *testing.B, bare *sql.DB) float64 {
	ctx := context.Background()
	if _, err := bare.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_bare (id BIGINT PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	v := strings.Repeat("x", 200)
	start, n := time.Now(), 0
	for time.Since(start) < 500*time.Millisecond {
		tx, err := bare.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		n++
		if _, err := tx.ExecContext(ctx, `INSERT INTO bench_bare (id, v) VALUES ($1, $2)`, n, v); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// bareRowsPerSecond inserts rows in transactions of 256 for about half a
// second on the same database and returns the rate of rows.
func bareRowsPerSecond(b *testing.B, bare *sql.DB) float64 {
	ctx := context.Background()
	if _, err := bare.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_rows (id BIGINT PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	v := strings.Repeat("x", 200)
	start, n := time.Now(), 0
	for time.Since(start) < 500*time.Millisecond {
		tx, err := bare.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO bench_rows (id, v) VALUES ($1, $2)`)
		if err != nil {
			b.Fatal(err)
		}
		for range 256 {
			n++
			if _, err := st.ExecContext(ctx, n, v); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
