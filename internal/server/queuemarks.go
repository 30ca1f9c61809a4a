package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/usherhq/usher/internal/datadir"
	"github.com/usherhq/usher/internal/queue"
)

// queueMarksFile records, beside the embedded queue's store, what each
// partition's stream held when usher last looked: once a second while it
// runs, and exactly at a clean stop. The JetStream server restores a
// stream with a damaged message block by dropping what it cannot read,
// warning in its log but reporting no loss; these marks let usher refuse
// such a start instead of carrying on without events it acknowledged.
const queueMarksFile = "QUEUE_MARKS"

// queueMarks is the file's content. Clean is true when the run that wrote
// it stopped cleanly: nothing may have changed in the streams since.
type queueMarks struct {
	Clean      bool                `json:"clean"`
	Partitions []queue.StreamState `json:"partitions"`
}

// marks follows the embedded queue's streams for queueMarksFile.
type marks struct {
	path   string
	last   queueMarks // what the file holds
	warned []bool     // partitions whose hole was reported while running
}

// checkQueueMarks compares the streams with the file an earlier run left
// and refuses, with datadir.ErrDamaged, a start that lost events: a stream
// with a hole, one that ends before where it was seen to end, or, after a
// clean stop, one that changed at all. On success it marks the run as
// running and follows the streams from then on. The queues that keep no
// marks (an external server, relaxed sync, which gives up durability on
// purpose, the single stream of an earlier usher) are left alone.
func (a *App) checkQueueMarks(ctx context.Context) error {
	if a.cfg.NATSURL != "" || a.cfg.RelaxedSync {
		return nil
	}
	states, err := a.queue.StreamStates(ctx)
	if err != nil || states == nil {
		return err
	}
	path := filepath.Join(a.cfg.DataDir, queueMarksFile)
	prev, err := readQueueMarks(path)
	if err != nil {
		return err
	}
	for p, st := range states {
		var seen *queue.StreamState
		if p < len(prev.Partitions) {
			seen = &prev.Partitions[p]
		}
		if why := lostEvents(st, seen, prev.Clean); why != "" {
			return fmt.Errorf("%w: %s: the embedded queue's stream of partition %d %s: events acknowledged to their senders "+
				"were lost (the JetStream server drops what it cannot read from a damaged message block while restoring a "+
				"stream; its log names the block). usher will not start without them. To recover, restore %s from a backup; "+
				"to accept the loss and start, remove %s",
				datadir.ErrDamaged, a.cfg.DataDir, p, why, a.cfg.DataDir, path)
		}
	}
	if prev.Partitions != nil { // without marks the operator accepted a loss, or this is the first start
		if err := a.readQueue(ctx, states, path); err != nil {
			return err
		}
	}
	a.marks = &marks{path: path, warned: make([]bool, len(states))}
	return a.marks.write(queueMarks{Partitions: states})
}

// scrubLimit bounds how many queued messages a start reads back.
const scrubLimit = 200_000

// readQueue reads back every message the streams hold, up to scrubLimit a
// partition, and refuses the start with datadir.ErrDamaged when one does
// not load: the server restored a damaged block without noticing, so the
// stream's state still counts a message it no longer has.
func (a *App) readQueue(ctx context.Context, states []queue.StreamState, path string) error {
	for p, st := range states {
		lost, read, err := a.queue.Unreadable(ctx, p, st, scrubLimit)
		if err != nil {
			return err
		}
		if read == scrubLimit {
			a.log.Warn("queue read back in part at start", "partition", p, "read", read, "messages", st.Msgs)
		}
		if len(lost) > 0 {
			return fmt.Errorf("%w: %s: the embedded queue's stream of partition %d cannot load %d of its messages (sequences %v): "+
				"events acknowledged to their senders were lost to a damaged message block (the JetStream server's log names it). "+
				"usher will not start without them. To recover, restore %s from a backup; to accept the loss and start, remove %s",
				datadir.ErrDamaged, a.cfg.DataDir, p, len(lost), firstFew(lost, 10), a.cfg.DataDir, path)
		}
	}
	return nil
}

// firstFew returns at most n of seqs.
func firstFew(seqs []uint64, n int) []uint64 { return seqs[:min(n, len(seqs))] }

// lostEvents says how the stream st lost events against seen, what an
// earlier run recorded of it, or "" when it lost none. Without a record
// (nil: a first start, or an operator who removed the marks to accept a
// loss) nothing is judged.
func lostEvents(st queue.StreamState, seen *queue.StreamState, clean bool) string {
	switch {
	case seen == nil:
		return ""
	case !st.Contiguous():
		return fmt.Sprintf("holds %d messages between sequences %d and %d, with none removed from its middle", st.Msgs, st.First, st.Last)
	case st.Last < seen.Last:
		return fmt.Sprintf("now ends at sequence %d, but an earlier run saw it reach %d", st.Last, seen.Last)
	case clean && st != *seen:
		return fmt.Sprintf("holds sequences %d to %d (%d messages), but the last run stopped cleanly with %d to %d (%d messages)",
			st.First, st.Last, st.Msgs, seen.First, seen.Last, seen.Msgs)
	}
	return ""
}

// followQueueMarks writes the marks once a second while they move, until
// ctx ends.
func (a *App) followQueueMarks(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.updateQueueMarks(ctx, false)
		}
	}
}

// updateQueueMarks writes the streams' states when they moved; clean marks
// the last write of a clean stop. A stream with a hole is reported once as
// an error. A failed write is logged and tried again at the next tick: the
// marks only ever lag, which loses no event.
func (a *App) updateQueueMarks(ctx context.Context, clean bool) {
	states, err := a.queue.StreamStates(ctx)
	if err == nil {
		for p, st := range states {
			if p < len(a.marks.warned) && !st.Contiguous() && !a.marks.warned[p] {
				a.marks.warned[p] = true
				a.log.Error("events lost from the queue: a partition's stream has a hole (a damaged message block)",
					"partition", p, "first_seq", st.First, "last_seq", st.Last, "messages", st.Msgs)
			}
		}
		err = a.marks.write(queueMarks{Clean: clean, Partitions: states})
	}
	if err != nil && ctx.Err() == nil {
		a.log.Warn("queue marks not written", "path", a.marks.path, "err", err)
	}
}

func readQueueMarks(path string) (queueMarks, error) {
	var m queueMarks
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("queue marks: %w", err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("%w: %s does not parse (%v): remove it to start without the check it makes", datadir.ErrDamaged, path, err)
	}
	return m, nil
}

// write replaces the file with m, synced, when it differs from what the
// file holds.
func (mk *marks) write(m queueMarks) error {
	if m.Clean == mk.last.Clean && slices.Equal(m.Partitions, mk.last.Partitions) && mk.last.Partitions != nil {
		return nil
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := datadir.WriteFileSynced(mk.path, append(raw, '\n')); err != nil {
		return fmt.Errorf("queue marks: %w", err)
	}
	mk.last = queueMarks{Clean: m.Clean, Partitions: slices.Clone(m.Partitions)}
	return nil
}
