package scanner

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/usherhq/usher"
)

// stream serves the feed as Server-Sent Events: one "change" event per entry
// with the cursor as its id, so that a reconnecting EventSource resumes with
// Last-Event-ID; "snapshot" events (each a page of ticket states, the first
// with reset true) closed by a "snapshot_end" that carries the cursor to
// continue from; and comment lines as heartbeats.
func (s *Service) stream(w http.ResponseWriter, r *http.Request, venue string, req feedRequest) {
	s.drain.Watch(r)
	rc := http.NewResponseController(w)
	// The server's read timeout would otherwise end the stream: it bounds
	// the whole request, and the request of a stream never ends.
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: rc, timeout: max(2*s.cfg.Heartbeat, 10*time.Second)}
	if err := sw.raw("retry: 2000\n\n"); err != nil {
		return
	}
	h := s.subscribe(venue)
	defer s.unsubscribe(h)
	s.metrics.connected.WithLabelValues(venue).Inc()
	defer s.metrics.connected.WithLabelValues(venue).Dec()
	heartbeat := time.NewTicker(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	st := &streamState{venue: venue, cur: req.cursor, snapshot: req.snapshot, limit: req.limit}
	ctx := r.Context()
	for {
		wrote, wake, err := s.streamStep(ctx, sw, h, st)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Info("feed stream ended", "venue", venue, "err", err)
			}
			return
		}
		if wrote {
			continue
		}
		select {
		case <-wake:
		case <-heartbeat.C:
			if sw.raw(": ping\n\n") != nil {
				return
			}
		case <-ctx.Done():
			return
		case <-s.drain.Done():
			return
		}
	}
}

type streamState struct {
	venue    string
	cur      cursor
	snapshot bool // a snapshot was asked for and not yet begun
	limit    int
}

// streamStep writes what is available after the stream's cursor: from the
// venue hub's buffer when it covers the cursor, else a page from the store.
// It reports whether it wrote anything; if not, wake says when to look again.
func (s *Service) streamStep(ctx context.Context, sw *sseWriter, h *hub, st *streamState) (wrote bool, wake <-chan struct{}, err error) {
	changes, covered, wake := h.since(st.cur.seq, st.limit)
	if covered && !st.cur.snapshot && !st.snapshot {
		return len(changes) > 0, wake, s.sendChanges(ctx, sw, st, changes)
	}
	p, served, err := s.page(ctx, st.venue, st.cur, st.limit, st.snapshot)
	if err != nil {
		return false, wake, err
	}
	st.snapshot = false
	next, err := parseCursor(p.Next)
	if err != nil {
		return false, wake, err
	}
	if !p.Snapshot {
		return len(served) > 0, wake, s.sendChanges(ctx, sw, st, served)
	}
	if err := sw.event("", "snapshot", map[string]any{"reset": p.Reset, "changes": p.Changes}); err != nil {
		return false, wake, err
	}
	if !p.More {
		if err := sw.event(p.Next, "snapshot_end", map[string]string{"next": p.Next}); err != nil {
			return false, wake, err
		}
	}
	st.cur = next
	return true, wake, sw.flush()
}

func (s *Service) sendChanges(ctx context.Context, sw *sseWriter, st *streamState, changes []usher.TicketChange) error {
	if len(changes) == 0 {
		return nil
	}
	for _, c := range changes {
		if err := sw.event(cursor{seq: c.Seq}.String(), "change", toChange(c)); err != nil {
			return err
		}
	}
	if err := sw.flush(); err != nil {
		return err
	}
	st.cur = cursor{seq: changes[len(changes)-1].Seq}
	s.served(ctx, st.venue, changes)
	return nil
}

// sseWriter writes events with a write deadline, so a scanner that stopped
// reading is dropped instead of holding the stream.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (sw *sseWriter) event(id, name string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout))
	if id != "" {
		if _, err := fmt.Fprintf(sw.w, "id: %s\n", id); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(sw.w, "event: %s\ndata: %s\n\n", name, b)
	return err
}

func (sw *sseWriter) raw(s string) error {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout))
	if _, err := fmt.Fprint(sw.w, s); err != nil {
		return err
	}
	return sw.flush()
}

func (sw *sseWriter) flush() error { return sw.rc.Flush() }
