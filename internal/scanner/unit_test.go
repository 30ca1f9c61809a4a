package scanner

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []cursor{
		{},
		{seq: 42},
		{snapshot: true, head: 7},
		{snapshot: true, head: 7, afterTicket: "tkt_a.b:c"},
	} {
		got, err := parseCursor(c.String())
		if err != nil || got != c {
			t.Errorf("parseCursor(%q) = %+v, %v; want %+v", c.String(), got, err, c)
		}
	}
	if c, err := parseCursor(""); err != nil || c != (cursor{}) {
		t.Errorf(`parseCursor("") = %+v, %v; want the start`, c, err)
	}
	for _, bad := range []string{"-1", "x", "snap.", "snap.1", "snap.x.AA", "snap.1.!!", "1.5"} {
		if _, err := parseCursor(bad); err == nil {
			t.Errorf("parseCursor(%q) accepted a cursor the feed never gives out", bad)
		}
	}
}

func TestValidCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want bool
	}{
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", true},
		{"eyJhbGciOiJFZERTQSJ9.eyJ0IjoxfQ.c2ln", true}, // a signed token passes as a string
		{"", false},
		{"with space", false},
		{"tab\there", false},
		{"nul\x00", false},
		{"é", false},
		{strings.Repeat("A", maxCodeLen), true},
		{strings.Repeat("A", maxCodeLen+1), false},
	}
	for _, tt := range tests {
		if got := ValidCode(tt.code); got != tt.want {
			t.Errorf("ValidCode(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestEventType(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]string{
		"valid": "ticket.issued", "revoked": "ticket.revoked", "admitted": "ticket.admitted", "blocked": "ticket.blocked",
	} {
		if got := eventType(status); got != want {
			t.Errorf("eventType(%s) = %s, want %s", status, got, want)
		}
	}
}

func TestConfigDefaultsValidate(t *testing.T) {
	t.Parallel()
	if err := (Config{}).WithDefaults().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	bad := Config{PollInterval: 1, Heartbeat: 1, DefaultLimit: 10, MaxLimit: 5, MaxBatch: -1}.WithDefaults()
	if err := bad.Validate(); err == nil || strings.Count(err.Error(), "\n") != 3 {
		t.Errorf("Validate() = %v, want four problems", err)
	}
}

func changes(seqs ...int64) []usher.TicketChange {
	out := make([]usher.TicketChange, len(seqs))
	for i, s := range seqs {
		out[i] = usher.TicketChange{Seq: s, TicketID: fmt.Sprintf("tkt_%d", s)}
	}
	return out
}

func seqsOf(cs []usher.TicketChange) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.Seq)
	}
	return out
}

func TestHubBuffer(t *testing.T) {
	t.Parallel()
	h := &hub{wake: make(chan struct{})}
	if _, covered, _ := h.since(0, 10); covered {
		t.Fatal("a hub that does not know the head yet covers a cursor")
	}
	h.start(5)
	_, covered, wake := h.since(5, 10)
	if !covered {
		t.Fatal("a cursor at the head is not covered")
	}
	if _, covered, _ := h.since(4, 10); covered {
		t.Fatal("a cursor before the buffer is covered")
	}
	h.publish(changes(6, 7, 8))
	select {
	case <-wake:
	default:
		t.Fatal("publishing did not wake the waiting streams")
	}
	for _, tt := range []struct {
		cursor int64
		limit  int
		want   string
	}{{5, 10, "[6 7 8]"}, {6, 10, "[7 8]"}, {5, 2, "[6 7]"}, {8, 10, "[]"}, {9, 10, "[]"}} {
		got, covered, _ := h.since(tt.cursor, tt.limit)
		if !covered || fmt.Sprint(seqsOf(got)) != tt.want {
			t.Errorf("since(%d, %d) = %v, %v; want %s", tt.cursor, tt.limit, seqsOf(got), covered, tt.want)
		}
	}
	many := make([]int64, hubBuffer+10)
	for i := range many {
		many[i] = int64(9 + i)
	}
	h.publish(changes(many...))
	if _, covered, _ := h.since(8, 10); covered {
		t.Error("a cursor older than the trimmed buffer is still covered")
	}
	if got, covered, _ := h.since(int64(18), 1); !covered || len(got) != 1 || got[0].Seq != 19 {
		t.Errorf("since(18) after trimming = %v, %v; want [19]", seqsOf(got), covered)
	}
}

func TestEarlier(t *testing.T) {
	t.Parallel()
	base := mustTime(t, "2026-11-28T20:00:00Z")
	if !earlier(base, "b", base.Add(1), "a") || earlier(base.Add(1), "a", base, "b") {
		t.Error("the earlier device time must win")
	}
	if !earlier(base, "a", base, "b") || earlier(base, "b", base, "a") || earlier(base, "a", base, "a") {
		t.Error("at the same time the smaller nonce must win, and a scan is not earlier than itself")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
