package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamState is what a partition's stream holds: sequences First to Last,
// Msgs messages.
type StreamState struct {
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
	Msgs  uint64 `json:"msgs"`
}

// Contiguous reports whether the stream holds every sequence from First to
// Last. A partition's stream loses messages only from its front (the
// consumers purge what they applied), so a hole is a loss: a damaged block
// that the server skipped while restoring the stream.
func (s StreamState) Contiguous() bool {
	return s.Msgs == 0 || s.Msgs == s.Last-s.First+1
}

// StreamStates returns each partition's stream state, by partition, or nil
// with the single stream of an earlier usher (a work queue, which removes
// messages anywhere as they are acknowledged).
func (q *Queue) StreamStates(ctx context.Context) ([]StreamState, error) {
	if q.legacy {
		return nil, nil
	}
	states := make([]StreamState, len(q.streams))
	for p, st := range q.streams {
		info, err := st.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("stream info of partition %d: %w", p, err)
		}
		states[p] = StreamState{First: info.State.FirstSeq, Last: info.State.LastSeq, Msgs: info.State.Msgs}
	}
	return states, nil
}

// Unreadable reads the messages of partition p's stream from st.First on,
// at most limit of them, and returns the sequences the server could not
// load (a damaged block it restored without noticing: its state still
// counts the message) and how many it read.
func (q *Queue) Unreadable(ctx context.Context, p int, st StreamState, limit int) (lost []uint64, read int, err error) {
	if q.legacy || p >= len(q.streams) || st.Msgs == 0 {
		return nil, 0, nil
	}
	for seq := st.First; seq <= st.Last && read < limit; seq++ {
		read++
		if _, err := q.streams[p].GetMsg(ctx, seq); err != nil {
			if !errors.Is(err, jetstream.ErrMsgNotFound) {
				return lost, read, fmt.Errorf("read sequence %d of partition %d: %w", seq, p, err)
			}
			lost = append(lost, seq)
		}
	}
	return lost, read, nil
}
