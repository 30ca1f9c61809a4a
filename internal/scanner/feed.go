package scanner

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/ticketing"
)

// Change is one entry of a venue feed as scanners receive it: the ticket's
// state after the change. Snapshot entries have Seq 0.
type Change struct {
	Seq       int64     `json:"seq"`
	TicketID  string    `json:"ticket_id"`
	ShowID    string    `json:"show_id"`
	Status    string    `json:"status"`
	CodeHash  string    `json:"code_hash"`
	ChangedAt time.Time `json:"changed_at"`
}

// FeedPage is one answer of GET /v1/venues/{venue_id}/feed.
type FeedPage struct {
	Changes []Change `json:"changes"`
	// Next is the cursor to ask with next; opaque.
	Next string `json:"next"`
	// More says another page is ready now.
	More bool `json:"more"`
	// Snapshot marks pages that list the current state of every ticket
	// instead of changes; Reset, on the first of them, tells the scanner to
	// drop its copy and rebuild it from the snapshot.
	Snapshot bool `json:"snapshot,omitempty"`
	Reset    bool `json:"reset,omitempty"`
}

// cursor is a position in a venue feed: after seq, or inside a snapshot
// taken at head, after the ticket afterTicket.
type cursor struct {
	seq         int64
	snapshot    bool
	head        int64
	afterTicket string
}

const snapPrefix = "snap."

// String encodes the cursor. A feed cursor is the sequence number; it doubles
// as the SSE event id.
func (c cursor) String() string {
	if !c.snapshot {
		return strconv.FormatInt(c.seq, 10)
	}
	return snapPrefix + strconv.FormatInt(c.head, 10) + "." + base64.RawURLEncoding.EncodeToString([]byte(c.afterTicket))
}

func parseCursor(s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	bad := usher.Errorf(usher.CodeInvalid, "cursor %q is not one this feed gave out", s)
	if rest, ok := strings.CutPrefix(s, snapPrefix); ok {
		head, ticket, ok := strings.Cut(rest, ".")
		h, err := strconv.ParseInt(head, 10, 64)
		t, err2 := base64.RawURLEncoding.DecodeString(ticket)
		if !ok || err != nil || err2 != nil || h < 0 {
			return cursor{}, bad
		}
		return cursor{snapshot: true, head: h, afterTicket: string(t)}, nil
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil || seq < 0 {
		return cursor{}, bad
	}
	return cursor{seq: seq}, nil
}

func toChange(c usher.TicketChange) Change {
	return Change{Seq: c.Seq, TicketID: c.TicketID, ShowID: c.ShowID, Status: c.Status, CodeHash: c.CodeHash, ChangedAt: c.ChangedAt}
}

func toChanges(cs []usher.TicketChange) []Change {
	out := make([]Change, len(cs))
	for i, c := range cs {
		out[i] = toChange(c)
	}
	return out
}

// page reads one page of a venue feed after cur. It answers with a snapshot
// when asked to, when cur lies before the retained history, or when cur is
// ahead of the feed (a cursor from another database). The raw changes it
// returns are those served, for the freshness bookkeeping.
func (s *Service) page(ctx context.Context, venue string, cur cursor, limit int, wantSnapshot bool) (FeedPage, []usher.TicketChange, error) {
	if cur.snapshot {
		p, err := s.snapshotPage(ctx, venue, cur.head, cur.afterTicket, limit, false)
		return p, nil, err
	}
	if wantSnapshot {
		return s.startSnapshot(ctx, venue, limit)
	}
	changes, err := s.db.TicketChanges(ctx, venue, cur.seq, limit)
	if err != nil {
		return FeedPage{}, nil, err
	}
	// Read the floor after the changes: a prune that committed before the
	// read above raised it already, so no pruned gap goes unnoticed.
	floor, err := s.db.FeedFloor(ctx, venue)
	if err != nil {
		return FeedPage{}, nil, err
	}
	if cur.seq < floor {
		return s.startSnapshot(ctx, venue, limit)
	}
	if len(changes) == 0 && cur.seq > 0 {
		head, err := s.db.FeedHead(ctx, venue)
		if err != nil {
			return FeedPage{}, nil, err
		}
		if cur.seq > head {
			return s.startSnapshot(ctx, venue, limit)
		}
	}
	next := cur
	if len(changes) > 0 {
		next.seq = changes[len(changes)-1].Seq
	}
	return FeedPage{Changes: toChanges(changes), Next: next.String(), More: len(changes) == limit}, changes, nil
}

func (s *Service) startSnapshot(ctx context.Context, venue string, limit int) (FeedPage, []usher.TicketChange, error) {
	// The head is read before the tickets: every change up to it is in the
	// ticket states read next, and changes after it are served again from
	// the cursor. Replaying a change a scanner already reflects is harmless,
	// since each entry carries the ticket's whole state.
	head, err := s.db.FeedHead(ctx, venue)
	if err != nil {
		return FeedPage{}, nil, err
	}
	p, err := s.snapshotPage(ctx, venue, head, "", limit, true)
	return p, nil, err
}

func (s *Service) snapshotPage(ctx context.Context, venue string, head int64, after string, limit int, reset bool) (FeedPage, error) {
	tickets, err := s.db.VenueTickets(ctx, venue, after, limit)
	if err != nil {
		return FeedPage{}, err
	}
	p := FeedPage{Changes: make([]Change, len(tickets)), Snapshot: true, Reset: reset}
	for i, t := range tickets {
		p.Changes[i] = Change{TicketID: t.TicketID, ShowID: t.ShowID, Status: string(t.Status), CodeHash: ticketing.CodeHash(t.Code), ChangedAt: t.UpdatedAt}
	}
	if len(tickets) == limit {
		p.Next, p.More = cursor{snapshot: true, head: head, afterTicket: tickets[len(tickets)-1].TicketID}.String(), true
	} else {
		p.Next = cursor{seq: head}.String()
	}
	return p, nil
}

// feedRequest is what a feed read asks for.
type feedRequest struct {
	cursor   cursor
	limit    int
	snapshot bool
}

func (s *Service) parseFeedRequest(r *http.Request) (feedRequest, error) {
	q := r.URL.Query()
	req := feedRequest{limit: s.cfg.DefaultLimit, snapshot: q.Get("snapshot") == "true"}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.cfg.MaxLimit {
			return req, usher.Errorf(usher.CodeInvalid, "limit must be a number from 1 to %d", s.cfg.MaxLimit)
		}
		req.limit = n
	}
	after := q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after = id // a reconnecting stream resumes where it was
	}
	var err error
	req.cursor, err = parseCursor(after)
	return req, err
}

func (s *Service) handleFeed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		venue := r.PathValue("venue_id")
		req, err := s.parseFeedRequest(r)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		if wantsStream(r) {
			s.stream(w, r, venue, req)
			return
		}
		p, served, err := s.page(r.Context(), venue, req.cursor, req.limit, req.snapshot)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusOK, p)
		s.served(r.Context(), venue, served)
	})
}

func wantsStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}
