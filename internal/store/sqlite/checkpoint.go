package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// The writer's commits do not copy the WAL back into the database file
// themselves until the WAL holds writerCheckpointPages; before that a
// checkpointer of its own, on another connection (and so on another core),
// does it every checkpointEvery. SQLite's default (a checkpoint inside the
// commit that takes the WAL past 1000 pages) put that copy on the single
// writer's path: about a sixth of the writer's time in an on-sale backlog.
// The writer's own checkpoint stays as the backstop: while the checkpointer
// keeps up it finds nothing left to copy, and it is what lets the WAL start
// over from its beginning under a load that never pauses.
const (
	writerCheckpointPages = 8192 // 32 MiB of 4 KiB pages
	checkpointEvery       = 100 * time.Millisecond
)

// checkpointer runs passive checkpoints until stopped. A passive checkpoint
// never waits for the writer or blocks it.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
	once sync.Once
	err  error
}

func startCheckpointer(path string) (*checkpointer, error) {
	db, err := open(path, 1, false)
	if err != nil {
		return nil, err
	}
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			// A failure (the disk, a lock) leaves the copy to the writer's
			// backstop checkpoint; the next tick tries again.
			_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
		}
	}
}

// Close stops the checkpointer and closes its connection; a second call
// returns what the first did.
func (c *checkpointer) Close() error {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.err = c.db.Close()
	})
	return c.err
}
