package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// syncBuffer is a log sink safe for the NATS client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestClientErrorsGoToTheLog makes the queue's NATS connection a slow
// consumer: the client's asynchronous error must reach usher's JSON log
// (nats.go otherwise prints it as plain text to stderr).
func TestClientErrorsGoToTheLog(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	q, err := Open(context.Background(), Config{Partitions: 1, Embedded: EmbeddedConfig{DataDir: t.TempDir()}}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	sub, err := q.nc.Subscribe("slow.test", func(*nats.Msg) { time.Sleep(time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(1, 1<<20); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := q.nc.Publish("slow.test", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second) // a guard against a hang
	for !strings.Contains(out.String(), "slow consumer") {
		if time.Now().After(deadline) {
			t.Fatalf("no slow consumer error in the log:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("a log line is not JSON: %s", line)
		}
	}
}
