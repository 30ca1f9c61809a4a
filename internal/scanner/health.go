package scanner

import (
	"net/http"
	"time"

	"github.com/usherhq/usher/internal/problem"
)

// Health is the answer of GET /v1/venues/{venue_id}/health.
type Health struct {
	VenueID string `json:"venue_id"`
	// Cursor is the feed's head: a scanner at it is up to date.
	Cursor string `json:"cursor"`
	// LastChangeAt is when the last feed entry committed, and LagSeconds
	// how long after the acceptance of its webhook (or scan) that was.
	LastChangeAt *time.Time `json:"last_change_at,omitempty"`
	LagSeconds   float64    `json:"lag_seconds"`
	// UndeliveredChanges have not been served to any scanner yet;
	// DeliveryLagSeconds is the age of the oldest of them (0 when none).
	UndeliveredChanges int64   `json:"undelivered_changes"`
	DeliveryLagSeconds float64 `json:"delivery_lag_seconds"`
	// ConnectedScanners hold a feed stream open on this process; the
	// usher_scanner_connected gauge sums them over processes.
	ConnectedScanners int        `json:"connected_scanners"`
	LastScanAt        *time.Time `json:"last_scan_at,omitempty"`
}

func (s *Service) handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		venue := r.PathValue("venue_id")
		st, err := s.db.FeedState(r.Context(), venue)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		now := s.now()
		h := Health{
			VenueID: venue, Cursor: cursor{seq: st.Head}.String(),
			UndeliveredChanges: max(st.Head-st.DeliveredSeq, 0),
			ConnectedScanners:  s.connected(venue),
			LastScanAt:         timeOrNil(st.LastScanAt),
		}
		if st.Last.Seq != 0 {
			h.LastChangeAt = timeOrNil(st.Last.ChangedAt)
			if !st.Last.AcceptedAt.IsZero() {
				h.LagSeconds = st.Last.ChangedAt.Sub(st.Last.AcceptedAt).Seconds()
			}
		}
		if !st.OldestUndelivered.IsZero() {
			h.DeliveryLagSeconds = max(now.Sub(st.OldestUndelivered).Seconds(), 0)
		}
		respond(w, http.StatusOK, h)
	})
}

// connected counts the streams open on the venue in this process.
func (s *Service) connected(venue string) int {
	s.hubsMu.Lock()
	defer s.hubsMu.Unlock()
	if h := s.hubs[venue]; h != nil {
		return h.subs
	}
	return 0
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
