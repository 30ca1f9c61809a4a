package server

import (
	"testing"

	"github.com/usherhq/usher/internal/queue"
)

func TestLostEvents(t *testing.T) {
	t.Parallel()
	st := func(first, last, msgs uint64) queue.StreamState {
		return queue.StreamState{First: first, Last: last, Msgs: msgs}
	}
	seen := st(3, 9, 7)
	tests := []struct {
		name  string
		now   queue.StreamState
		seen  *queue.StreamState
		clean bool
		lost  bool
	}{
		{"first start", st(1, 4, 4), nil, false, false},
		{"a hole, no marks (a loss accepted)", st(1, 4, 3), nil, false, false},
		{"unchanged after a clean stop", seen, &seen, true, false},
		{"empty and unchanged", st(10, 9, 0), &queue.StreamState{First: 10, Last: 9}, true, false},
		{"grew and purged after a crash", st(8, 12, 5), &seen, false, false},
		{"ends before the mark", st(3, 6, 4), &seen, false, true},
		{"emptied below the mark", st(5, 4, 0), &seen, false, true},
		{"purged after a clean stop", st(5, 9, 5), &seen, true, true},
		{"a hole after a crash", st(3, 12, 9), &seen, false, true},
	}
	for _, tt := range tests {
		if got := lostEvents(tt.now, tt.seen, tt.clean); (got != "") != tt.lost {
			t.Errorf("%s: lostEvents(%+v, %+v, clean %v) = %q, want lost %v", tt.name, tt.now, tt.seen, tt.clean, got, tt.lost)
		}
	}
}
