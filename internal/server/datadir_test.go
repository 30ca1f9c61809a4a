package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/datadir"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/store/sqlite"
	"github.com/usherhq/usher/internal/ushertest"
)

// startAgain starts usher with s's configuration on a new port and returns
// the start's error; a usher that starts is stopped at once.
func startAgain(t *testing.T, s *ushertest.Server) error {
	t.Helper()
	cfg := s.Config
	cfg.Addr = "127.0.0.1:0"
	app, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		_ = app.Shutdown(context.Background())
	}
	return err
}

// stoppedWithOrders runs usher on a fresh directory, applies n orders and
// stops it, returning the server (for its config) and the directory.
func stoppedWithOrders(t *testing.T, n int) (*ushertest.Server, string) {
	t.Helper()
	s := ushertest.Start(t)
	for i := range n {
		mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(fmt.Sprintf("ord_dir_%d", i), 1)))
	}
	waitProcessed(t, s, n)
	s.Stop()
	return s, s.Config.DataDir
}

// TestMissingStoreIsRefused: a data directory whose usher.db was deleted
// while usher was stopped is not a first start. usher must refuse to start,
// say where and how to recover, create no new database and leave the
// credentials file as it was.
func TestMissingStoreIsRefused(t *testing.T) {
	t.Parallel()
	s, dir := stoppedWithOrders(t, 3)
	creds, err := os.ReadFile(filepath.Join(dir, server.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"usher.db", "usher.db-wal", "usher.db-shm"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	err = startAgain(t, s)
	if !errors.Is(err, datadir.ErrDamaged) {
		t.Fatalf("start without usher.db: got %v, want a refusal (%v)", err, datadir.ErrDamaged)
	}
	for _, want := range []string{dir, "usher.db", "backup", "mv "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not mention %q: %v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "usher.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start created usher.db (%v)", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, server.CredentialsFile)); !bytes.Equal(after, creds) {
		t.Errorf("the credentials file changed:\n%s\nwas\n%s", after, creds)
	}
}

// TestReplacedStoreIsRefused: another store's usher.db copied into a data
// directory is refused: the directory's IDENTITY names a different store.
func TestReplacedStoreIsRefused(t *testing.T) {
	t.Parallel()
	s, dir := stoppedWithOrders(t, 1)
	_, other := stoppedWithOrders(t, 1)
	raw, err := os.ReadFile(filepath.Join(other, "usher.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "usher.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	err = startAgain(t, s)
	if !errors.Is(err, datadir.ErrDamaged) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("start on another store's usher.db: got %v, want a refusal naming %s", err, dir)
	}
}

// TestMissingQueueStoreIsRefused: the embedded queue's store deleted while
// usher was stopped would be recreated empty, losing every acknowledged
// event it held. usher must refuse to start, say how to recover, and
// create no queue store.
func TestMissingQueueStoreIsRefused(t *testing.T) {
	t.Parallel()
	s, dir := stoppedWithOrders(t, 1)
	if s.Config.NATSURL != "" {
		t.Fatalf("the test usher runs on NATS at %s, want the embedded queue", s.Config.NATSURL)
	}
	store := filepath.Join(dir, "jetstream")
	if err := os.RemoveAll(store); err != nil {
		t.Fatal(err)
	}
	err := startAgain(t, s)
	if !errors.Is(err, datadir.ErrDamaged) {
		t.Fatalf("start without its JetStream store: got %v, want a refusal (%v)", err, datadir.ErrDamaged)
	}
	for _, want := range []string{store, "backup", "mv "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not mention %q: %v", want, err)
		}
	}
	if _, err := os.Stat(store); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start created %s (%v)", store, err)
	}
}

// TestDamagedQueueIsRefused: the JetStream server restores a stream with
// a damaged message block without reporting a loss. Damage to a record's
// header makes it cut the stream there; damage inside a message's body
// leaves the stream's state counting a message it can no longer load.
// Either way, events accepted (202) and not yet processed are gone, and a
// start must refuse, naming the partition and how to go on; removing
// QUEUE_MARKS accepts the loss.
func TestDamagedQueueIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		at   func(size int) int // where in a block of three events to damage it
		want string
	}{
		// Where the first record ends moves with its size by a few bytes, so
		// the server may cut the stream before the first message or the
		// second: either way it ends before where it was seen to end.
		{"the second record's header", func(size int) int { return size / 3 }, "now ends at sequence"},
		{"the second message's body", func(size int) int { return size/2 - 100 }, "cannot load 1 of its messages (sequences [2])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := ushertest.Start(t, ushertest.WithRoles(server.RoleIngest), ushertest.WithConfig(func(c *server.Config) { c.Partitions = 1 }))
			for i := range 3 {
				mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(fmt.Sprintf("ord_lost_%d", i), 1)))
			}
			s.Stop()
			dir := s.Config.DataDir
			blocks, err := filepath.Glob(filepath.Join(dir, "jetstream", "jetstream", "*", "streams", "*_INBOUND_0", "msgs", "1.blk"))
			if err != nil || len(blocks) != 1 {
				t.Fatalf("message blocks %v (%v), want one", blocks, err)
			}
			raw, err := os.ReadFile(blocks[0])
			if err != nil {
				t.Fatal(err)
			}
			for i := tc.at(len(raw)); i < tc.at(len(raw))+50; i++ {
				raw[i] ^= 0x5a
			}
			if err := os.WriteFile(blocks[0], raw, 0o600); err != nil {
				t.Fatal(err)
			}
			err = startAgain(t, s)
			if !errors.Is(err, datadir.ErrDamaged) {
				t.Fatalf("start with a damaged stream: got %v, want a refusal (%v)", err, datadir.ErrDamaged)
			}
			for _, want := range []string{"partition 0", tc.want, "lost", "backup", "QUEUE_MARKS"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the refusal does not mention %q: %v", want, err)
				}
			}
			if err := os.Remove(filepath.Join(dir, "QUEUE_MARKS")); err != nil {
				t.Fatal(err)
			}
			if err := startAgain(t, s); err != nil {
				t.Errorf("start after the marks were removed: %v", err)
			}
		})
	}
}

// TestMissingMasterKeyIsRefused: the data directory's master key deleted
// while usher was stopped must not be replaced by a new one, which would
// open none of the secrets sealed with the old.
func TestMissingMasterKeyIsRefused(t *testing.T) {
	t.Parallel()
	s, dir := stoppedWithOrders(t, 1)
	if s.Config.MasterKey != "" || s.Config.MasterKeyFile != "" {
		t.Fatal("the test usher is given its master key, want the data directory's own")
	}
	path := filepath.Join(dir, "master.key")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	err := startAgain(t, s)
	if !errors.Is(err, datadir.ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "USHER_MASTER_KEY") {
		t.Fatalf("start without master.key: got %v, want a refusal (%v) naming %s and USHER_MASTER_KEY", err, datadir.ErrDamaged, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start wrote a new %s (%v)", path, err)
	}
}

// TestCorruptStoreIsRefused writes 16 KiB of junk into the middle of a
// usher.db that holds 200 orders (the middle is then table data, which a
// start does not read): usher must refuse to start, naming the file.
func TestCorruptStoreIsRefused(t *testing.T) {
	t.Parallel()
	s, dir := stoppedWithOrders(t, 200)
	path := filepath.Join(dir, "usher.db")
	corrupt(t, path)
	err := startAgain(t, s)
	if !errors.Is(err, sqlite.ErrDamaged) || !strings.Contains(err.Error(), path) {
		t.Fatalf("start on a corrupted usher.db: got %v, want %v naming %s", err, sqlite.ErrDamaged, path)
	}
}

// corrupt overwrites 16 KiB in the middle of the file with junk.
func corrupt(t *testing.T, path string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() < 64<<10 {
		t.Fatalf("%s has %d bytes, too few to corrupt its middle", path, info.Size())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := bytes.Repeat([]byte("usher-junk-"), (16<<10)/11+1)[:16<<10]
	if _, err := f.WriteAt(junk, info.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
}

// TestSecondStartOnTheSameDataDirIsRefused: while one usher runs, another
// on its data directory fails at once, naming the directory and the
// holder's pid, and the first one keeps working.
func TestSecondStartOnTheSameDataDirIsRefused(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	err := startAgain(t, s)
	if !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("second start on %s: got %v, want %v", s.Config.DataDir, err, datadir.ErrLocked)
	}
	for _, want := range []string{s.Config.DataDir, "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not mention %q: %v", want, err)
		}
	}
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_after_second", 1)))
	waitOrder(t, s, "ord_after_second")
}
