package scanner

import (
	"context"
	"sync"
	"time"

	"github.com/usherhq/usher"
)

// hubBuffer is how many recent changes a venue's hub keeps for the streams
// that are caught up; a stream further behind reads pages from the store.
const hubBuffer = 4096

// hub is the one poller of a venue's feed in this process, shared by every
// stream open on the venue: streams that are caught up take new changes from
// its buffer instead of each querying the store.
type hub struct {
	venue string

	mu    sync.Mutex
	ready bool  // head is known
	floor int64 // buf holds every change in (floor, head]
	head  int64
	buf   []usher.TicketChange
	wake  chan struct{} // closed and replaced when buf grows
	subs  int

	poke   chan struct{}
	cancel context.CancelFunc
}

// subscribe returns the venue's hub, starting its poller for the first
// subscriber.
func (s *Service) subscribe(venue string) *hub {
	s.hubsMu.Lock()
	defer s.hubsMu.Unlock()
	h := s.hubs[venue]
	if h == nil {
		ctx, cancel := context.WithCancel(s.ctx)
		h = &hub{venue: venue, wake: make(chan struct{}), poke: make(chan struct{}, 1), cancel: cancel}
		s.hubs[venue] = h
		s.bg.Go(func() { s.poll(ctx, h) })
	}
	h.subs++
	return h
}

// unsubscribe stops the venue's poller when its last subscriber leaves.
func (s *Service) unsubscribe(h *hub) {
	s.hubsMu.Lock()
	defer s.hubsMu.Unlock()
	h.subs--
	if h.subs == 0 {
		h.cancel()
		delete(s.hubs, h.venue)
	}
}

// Notify tells the service that a venue's feed has new entries, so that the
// streams open on it in this process get them now rather than at the next
// poll. Scans call it; the processor could after each commit.
func (s *Service) Notify(venue string) {
	s.hubsMu.Lock()
	h := s.hubs[venue]
	s.hubsMu.Unlock()
	if h == nil {
		return
	}
	select {
	case h.poke <- struct{}{}:
	default:
	}
}

// since returns the buffered changes after cursor, at most limit of them.
// covered is false when the buffer cannot answer for cursor (it is older
// than the buffer, or the head is not known yet). wake is closed when more
// changes arrive.
func (h *hub) since(cursor int64, limit int) (changes []usher.TicketChange, covered bool, wake <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ready || cursor < h.floor {
		return nil, false, h.wake
	}
	i := len(h.buf)
	for i > 0 && h.buf[i-1].Seq > cursor {
		i--
	}
	n := min(len(h.buf)-i, limit)
	return append([]usher.TicketChange(nil), h.buf[i:i+n]...), true, h.wake
}

// publish appends changes fetched from the store and wakes the streams.
func (h *hub) publish(changes []usher.TicketChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf = append(h.buf, changes...)
	if n := len(h.buf) - hubBuffer; n > 0 {
		h.buf = append(h.buf[:0:0], h.buf[n:]...)
		h.floor = h.buf[0].Seq - 1
	}
	h.head = changes[len(changes)-1].Seq
	close(h.wake)
	h.wake = make(chan struct{})
}

func (h *hub) start(head int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ready, h.floor, h.head = true, head, head
	close(h.wake)
	h.wake = make(chan struct{})
}

// poll follows the venue's feed in the store until ctx ends.
func (s *Service) poll(ctx context.Context, h *hub) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.poke:
		case <-t.C:
		}
		full := s.pollOnce(ctx, h)
		if full {
			t.Reset(0)
		} else {
			t.Reset(s.cfg.PollInterval)
		}
	}
}

// pollOnce fetches what is new and reports whether a full page came back.
func (s *Service) pollOnce(ctx context.Context, h *hub) bool {
	h.mu.Lock()
	ready, head := h.ready, h.head
	h.mu.Unlock()
	if !ready {
		head, err := s.db.FeedHead(ctx, h.venue)
		if err != nil {
			s.pollFailed(ctx, h, err)
			return false
		}
		h.start(head)
		return false
	}
	const page = 1000
	changes, err := s.db.TicketChanges(ctx, h.venue, head, page)
	if err != nil {
		s.pollFailed(ctx, h, err)
		return false
	}
	if len(changes) > 0 {
		h.publish(changes)
	}
	return len(changes) == page
}

func (s *Service) pollFailed(ctx context.Context, h *hub, err error) {
	if ctx.Err() == nil {
		s.log.Warn("feed poll failed", "venue", h.venue, "err", err)
	}
}
