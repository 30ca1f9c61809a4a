package queue_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/usherhq/usher/internal/queue"
)

// natsServer starts a standalone JetStream server on a random loopback port
// with two users: usher in an ordinary account and sys in the system account.
func natsServer(t *testing.T, syncAlways bool) *server.Server {
	t.Helper()
	dir := t.TempDir()
	interval := "2m"
	if syncAlways {
		interval = "always"
	}
	conf := fmt.Sprintf(`listen: 127.0.0.1:-1
jetstream { store_dir: %q, sync_interval: %s }
accounts {
  APP { jetstream: enabled, users: [{user: usher, password: pw}] }
  SYS { users: [{user: sys, password: pw}] }
}
system_account: SYS
`, dir, interval)
	path := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	return ns
}

func userURL(ns *server.Server, user string) string {
	return fmt.Sprintf("nats://%s:pw@%s", user, strings.TrimPrefix(ns.ClientURL(), "nats://"))
}

// syncLog is a logger whose output the test reads.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func openExternal(t *testing.T, url string, cfg queue.Config, log *syncLog) (*queue.Queue, error) {
	t.Helper()
	cfg.URL, cfg.Namespace = url, "repl"
	q, err := queue.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(log, nil)), nil)
	if err == nil {
		t.Cleanup(q.Close)
	}
	return q, err
}

// TestReplicasDefaultOnASingleServerIsOneWithAWarning: a server outside any
// cluster gets an R1 stream, and the operator is told what that risks.
func TestReplicasDefaultOnASingleServerIsOneWithAWarning(t *testing.T) {
	t.Parallel()
	ns := natsServer(t, true)
	var log syncLog
	q, err := openExternal(t, userURL(ns, "usher"), queue.Config{Partitions: 2}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if q.Replicas() != 1 {
		t.Errorf("replicas %d, want 1", q.Replicas())
	}
	if !strings.Contains(log.String(), "not a cluster of at least three servers") {
		t.Errorf("no single-node warning in the log:\n%s", log.String())
	}
}

// TestReplicasAboveTheClusterSizeIsRefusedByNATS: an explicit R3 on one
// server fails at start instead of silently running R1.
func TestReplicasAboveTheClusterSizeIsRefusedByNATS(t *testing.T) {
	t.Parallel()
	ns := natsServer(t, true)
	var log syncLog
	_, err := openExternal(t, userURL(ns, "usher"), queue.Config{Partitions: 2, Replicas: 3}, &log)
	if err == nil || !strings.Contains(err.Error(), "replicas 3") {
		t.Fatalf("open with R3 on one server: %v, want a create error naming replicas 3", err)
	}
}

// TestStreamMismatchRefusesToStartUnlessReconciled: a second process with
// another size cap names the field, the expected and the found value, and
// --reconcile-stream updates the stream instead.
func TestStreamMismatchRefusesToStartUnlessReconciled(t *testing.T) {
	t.Parallel()
	ns := natsServer(t, true)
	url := userURL(ns, "usher")
	var log syncLog
	if _, err := openExternal(t, url, queue.Config{Partitions: 2, MaxBytes: 1 << 20}, &log); err != nil {
		t.Fatal(err)
	}
	_, err := openExternal(t, url, queue.Config{Partitions: 2, MaxBytes: 2 << 20}, &log)
	if !errors.Is(err, queue.ErrStreamMismatch) {
		t.Fatalf("open with another size cap: %v, want ErrStreamMismatch", err)
	}
	// The two partitions share the cap: each stream gets half.
	if want := "max_bytes: expected 1048576, found 524288"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if _, err := openExternal(t, url, queue.Config{Partitions: 2, MaxBytes: 2 << 20, Reconcile: true}, &log); err != nil {
		t.Fatalf("open with Reconcile: %v", err)
	}
	if _, err := openExternal(t, url, queue.Config{Partitions: 2, MaxBytes: 2 << 20}, &log); err != nil {
		t.Fatalf("open after reconciling: %v", err)
	}
}

// TestServerSyncTellsWhatItCanSee: the system account sees each server's
// fsync policy; an ordinary account cannot, and is told so.
func TestServerSyncTellsWhatItCanSee(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		syncAlways bool
		user, want string
	}{
		{"system account, sync always", true, "sys", queue.SyncAlways},
		{"system account, default interval", false, "sys", queue.SyncInterval},
		{"ordinary account", false, "usher", queue.SyncUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := natsServer(t, tc.syncAlways)
			nc, err := nats.Connect(userURL(ns, tc.user))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			got, lax := queue.ServerSync(context.Background(), nc, 2*time.Second)
			if got != tc.want {
				t.Errorf("policy %s (lax %v), want %s", got, lax, tc.want)
			}
		})
	}
}

// TestOrdinaryAccountIsWarnedThatFsyncCannotBeVerified: usher says at start
// that it could not check the server's fsync policy.
func TestOrdinaryAccountIsWarnedThatFsyncCannotBeVerified(t *testing.T) {
	t.Parallel()
	ns := natsServer(t, true)
	var log syncLog
	if _, err := openExternal(t, userURL(ns, "usher"), queue.Config{Partitions: 1}, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "cannot verify that NATS fsyncs") {
		t.Errorf("no fsync warning in the log:\n%s", log.String())
	}
}
