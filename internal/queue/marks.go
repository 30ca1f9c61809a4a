package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
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

// Unreadable reads partition p's stream back from st.First, at most limit
// messages (headers only: loading a message is what checks it), and
// returns the sequences the server could not load and how many it read. A
// damaged block the server restored without noticing leaves the stream's
// state counting a message it no longer delivers: an ordered consumer skips
// it, so it shows as a sequence missing from what comes.
func (q *Queue) Unreadable(ctx context.Context, p int, st StreamState, limit int) (lost []uint64, read int, err error) {
	if q.legacy || p >= len(q.streams) || st.Msgs == 0 {
		return nil, 0, nil
	}
	// The server removes the reader's ephemeral consumer once it has been
	// idle this long (the client's default keeps it five minutes).
	cons, err := q.streams[p].OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: st.First, HeadersOnly: true,
		InactiveThreshold: 5 * time.Second,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read back partition %d: %w", p, err)
	}
	next := st.First
	for next <= st.Last && read < limit {
		// Ask for no more than the stream still holds, so the last fetch
		// ends when they come rather than at its wait.
		want := min(1024, limit-read, int(min(st.Last-next+1, 1024)))
		batch, err := cons.Fetch(want, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return lost, read, fmt.Errorf("read back partition %d: %w", p, err)
		}
		got := 0
		for msg := range batch.Messages() {
			md, err := msg.Metadata()
			if err != nil {
				return lost, read, fmt.Errorf("read back partition %d: %w", p, err)
			}
			for ; next < md.Sequence.Stream && next <= st.Last; next++ {
				lost = append(lost, next)
			}
			next = md.Sequence.Stream + 1
			got++
			read++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return lost, read, fmt.Errorf("read back partition %d: %w", p, err)
		}
		if got == 0 { // nothing more comes: the rest of the stream is gone
			for ; next <= st.Last; next++ {
				lost = append(lost, next)
			}
		}
	}
	return lost, read, nil
}
