package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/events/eventstest"
	"github.com/usherhq/usher/internal/scanner"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ticketing"
	"github.com/usherhq/usher/internal/ushertest"
)

// scannerToken issues a token with the scopes through the admin API.
func scannerToken(t *testing.T, s *ushertest.Server, scopes ...string) string {
	t.Helper()
	var created struct {
		Token string `json:"token"`
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": scopes}, &created); status != http.StatusCreated {
		t.Fatalf("create token %v: %d", scopes, status)
	}
	return created.Token
}

func feedPage(t *testing.T, s *ushertest.Server, token, venue, query string) scanner.FeedPage {
	t.Helper()
	var raw json.RawMessage
	if status := s.Admin(http.MethodGet, "/v1/venues/"+venue+"/feed?"+query, token, nil, &raw); status != http.StatusOK {
		t.Fatalf("feed of %s?%s: %d", venue, query, status)
	}
	checkGateItems(t, events.GateFeedEntry, raw, "changes")
	var p scanner.FeedPage
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("feed page %s: %v", raw, err)
	}
	return p
}

// checkGateItems checks each item of the array member of doc against the
// gate contract typ: every feed entry and scan answer a scanner test
// receives is on its published contract.
func checkGateItems(t *testing.T, typ string, doc []byte, member string) {
	t.Helper()
	var members map[string]json.RawMessage
	var items []json.RawMessage
	if err := json.Unmarshal(doc, &members); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	if err := json.Unmarshal(members[member], &items); err != nil {
		t.Fatalf("%s of %s: %v", member, doc, err)
	}
	for _, item := range items {
		checkGate(t, typ, item)
	}
}

func checkGate(t *testing.T, typ string, doc []byte) {
	t.Helper()
	if err := eventstest.CheckGate(typ, doc); err != nil {
		t.Errorf("off-contract answer: %v", err)
	}
}

// waitFeed polls the feed from the start until it holds n changes.
func waitFeed(t *testing.T, s *ushertest.Server, token, venue string, n int) []scanner.Change {
	t.Helper()
	var got []scanner.Change
	ushertest.Eventually(t, waitLong, fmt.Sprintf("%d changes in the feed of %s", n, venue), func() bool {
		got = feedPage(t, s, token, venue, "after=0&limit=1000").Changes
		return len(got) >= n
	})
	return got
}

func scan(t *testing.T, s *ushertest.Server, token string, req scanner.ScanRequest) scanner.ScanResult {
	t.Helper()
	var raw json.RawMessage
	if status := s.Admin(http.MethodPost, "/v1/scans", token, req, &raw); status != http.StatusOK {
		t.Fatalf("scan %+v: %d", req, status)
	}
	checkGate(t, events.GateScanAnswer, raw)
	var res scanner.ScanResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("scan answer %s: %v", raw, err)
	}
	return res
}

func uploadBatch(t *testing.T, s *ushertest.Server, token string, batch []scanner.BatchScan) []scanner.BatchResult {
	t.Helper()
	var raw json.RawMessage
	if status := s.Admin(http.MethodPost, "/v1/scans/batch", token, batch, &raw); status != http.StatusOK {
		t.Fatalf("upload batch: %d", status)
	}
	checkGateItems(t, events.GateBatchResult, raw, "results")
	var res scanner.BatchResponse
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("batch answer %s: %v", raw, err)
	}
	if len(res.Results) != len(batch) {
		t.Fatalf("batch of %d got %d results", len(batch), len(res.Results))
	}
	return res.Results
}

func metricsText(t *testing.T, s *ushertest.Server) string {
	t.Helper()
	return s.ScrapeMetrics()
}

func outboxOf(t *testing.T, s *ushertest.Server, typ string) []usher.OutboundEvent {
	t.Helper()
	all, err := s.Store().OutboxAfter(context.Background(), 0, 10000)
	if err != nil {
		t.Fatalf("outbox: %v", err)
	}
	var out []usher.OutboundEvent
	for _, ev := range all {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

type sseEvent struct{ id, name, data string }

// openStream opens the venue's feed as Server-Sent Events; the stream is
// closed when the test ends. The channel closes when the stream does.
func openStream(t *testing.T, s *ushertest.Server, token, venue, query, lastEventID string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/v1/venues/"+venue+"/feed?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req) // no client timeout: a stream lasts
	if err != nil {
		cancel()
		t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("open stream: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	ch := make(chan sseEvent, 1024)
	go func() {
		defer close(ch)
		var ev sseEvent
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// nextEvent returns the stream's next event named name, skipping others.
func nextEvent(t *testing.T, ch <-chan sseEvent, name string) sseEvent {
	t.Helper()
	timeout := time.After(waitLong)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended while waiting for a %s event", name)
			}
			switch ev.name {
			case "change":
				checkGate(t, events.GateFeedEntry, []byte(ev.data))
			case "snapshot":
				checkGateItems(t, events.GateFeedEntry, []byte(ev.data), "changes")
			}
			if ev.name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within %s", name, waitLong)
		}
	}
}

func streamChange(t *testing.T, ch <-chan sseEvent) (string, scanner.Change) {
	t.Helper()
	ev := nextEvent(t, ch, "change")
	var c scanner.Change
	if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
		t.Fatalf("change event %q: %v", ev.data, err)
	}
	return ev.id, c
}

func TestGatesPaidTicketInFeedAndStream(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	token := scannerToken(t, s, "scanner:"+server.DemoVenue)
	stream := openStream(t, s, token, server.DemoVenue, "", "")
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_feed", 2)))
	o := waitOrder(t, s, "ord_feed")
	codes := map[string]string{}
	for _, tk := range o.Tickets {
		codes[tk.TicketID] = ticketing.CodeHash(tk.Code)
	}

	changes := waitFeed(t, s, token, server.DemoVenue, 2)
	for i, c := range changes {
		if c.Seq != int64(i+1) || c.Status != "valid" || c.ShowID != server.DemoShow || codes[c.TicketID] != c.CodeHash || c.ChangedAt.IsZero() {
			t.Errorf("feed entry %d = %+v, want seq %d, valid, with the hash of its ticket's code", i, c, i+1)
		}
	}
	for i := range 2 {
		id, c := streamChange(t, stream)
		if id != fmt.Sprint(i+1) || c != changes[i] {
			t.Errorf("stream event %d = id %q %+v, want id %d %+v", i, id, c, i+1, changes[i])
		}
	}
	// A reconnecting stream resumes after Last-Event-ID.
	resumed := openStream(t, s, token, server.DemoVenue, "", "1")
	if id, c := streamChange(t, resumed); id != "2" || c != changes[1] {
		t.Errorf("stream resumed after 1 starts with id %q %+v, want the second change", id, c)
	}
	if next := feedPage(t, s, token, server.DemoVenue, "after=1").Next; next != "2" {
		t.Errorf("next cursor after 1 = %q, want 2", next)
	}

	var h scanner.Health
	if status := s.Admin(http.MethodGet, "/v1/venues/"+server.DemoVenue+"/health", token, nil, &h); status != http.StatusOK {
		t.Fatalf("health: %d", status)
	}
	if h.Cursor != "2" || h.LastChangeAt == nil || h.LagSeconds < 0 || h.LagSeconds > 10 || h.ConnectedScanners != 2 || h.UndeliveredChanges != 0 {
		t.Errorf("health = %+v, want cursor 2, a last change, a lag, 2 connected scanners, nothing undelivered", h)
	}
	m := metricsText(t, s)
	for _, want := range []string{
		`usher_scanner_freshness_seconds_count{event_type="ticket.issued",venue="demo-venue"} 2`,
		`usher_scanner_commit_lag_seconds_count{event_type="ticket.issued",venue="demo-venue"} 2`,
		`usher_scanner_connected{venue="demo-venue"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// Shutting down ends the open streams instead of waiting for them.
	start := time.Now()
	s.Stop()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("shutdown with open streams took %s", took)
	}
	for range stream {
	}
}

func TestGatesRefundRevokesAndOnlineScanRefuses(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	token := scannerToken(t, s, "scanner:"+server.DemoVenue)
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_r", 3)))
	tk := waitOrder(t, s, "ord_r").Tickets
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.refunded", map[string]any{"order_id": "ord_r", "ticket_ids": []string{tk[0].TicketID}}))
	changes := waitFeed(t, s, token, server.DemoVenue, 4)
	if c := changes[3]; c.TicketID != tk[0].TicketID || c.Status != "revoked" {
		t.Fatalf("fourth feed entry = %+v, want %s revoked", c, tk[0].TicketID)
	}

	// Another venue's ticket, for wrong_venue.
	if status := s.Admin(http.MethodPut, "/v1/shows/other-show/inventory/GA", "", map[string]int{"capacity": 5}, nil); status != 200 {
		t.Fatalf("put capacity: %d", status)
	}
	other := ushertest.Paid("ord_other", 1)
	other["show_id"], other["venue_id"] = "other-show", "other-venue"
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", other))
	otherCode := waitOrder(t, s, "ord_other").Tickets[0].Code

	at := time.Now().UTC().Truncate(time.Microsecond)
	req := func(code, nonce string) scanner.ScanRequest {
		return scanner.ScanRequest{Code: code, VenueID: server.DemoVenue, DeviceID: "gate-1", ScannedAt: at, Nonce: nonce}
	}
	first := scan(t, s, token, req(tk[1].Code, "n-1"))
	if first.Result != "admitted" || first.TicketID != tk[1].TicketID || first.FirstAdmittedAt == nil || !first.FirstAdmittedAt.Equal(at) {
		t.Fatalf("first scan = %+v, want admitted at %v", first, at)
	}
	tests := []struct {
		name   string
		req    scanner.ScanRequest
		result string
		ticket string
	}{
		{"refunded", req(tk[0].Code, "n-2"), "revoked", tk[0].TicketID},
		{"second scan", req(tk[1].Code, "n-3"), "already_admitted", tk[1].TicketID},
		{"same nonce again", req(tk[1].Code, "n-1"), "admitted", tk[1].TicketID},
		{"unknown code", req("NOSUCHCODE2345", "n-4"), "unknown", ""},
		{"malformed code", req("bad code\n", "n-5"), "invalid", ""},
		{"other venue's ticket", req(otherCode, "n-6"), "wrong_venue", ""},
		{"other show", func() scanner.ScanRequest { r := req(tk[2].Code, "n-7"); r.ShowID = "other-show"; return r }(), "wrong_show", tk[2].TicketID},
	}
	for _, tt := range tests {
		got := scan(t, s, token, tt.req)
		if got.Result != tt.result || got.TicketID != tt.ticket {
			t.Errorf("%s: got %s %q, want %s %q", tt.name, got.Result, got.TicketID, tt.result, tt.ticket)
		}
		if (tt.result == "already_admitted" || tt.result == "admitted") && (got.FirstAdmittedAt == nil || !got.FirstAdmittedAt.Equal(at)) {
			t.Errorf("%s: first_admitted_at %v, want %v", tt.name, got.FirstAdmittedAt, at)
		}
	}
	// The same nonce for another code is refused.
	if status := s.Admin(http.MethodPost, "/v1/scans", token, req(tk[2].Code, "n-1"), nil); status != http.StatusConflict {
		t.Errorf("reused nonce: %d, want 409", status)
	}

	scans, err := s.Store().Scans(context.Background(), server.DemoVenue, 0, 100)
	if err != nil || len(scans) != 7 {
		t.Fatalf("recorded scans: %d (%v), want 7 (a repeated nonce is one scan)", len(scans), err)
	}
	admitted := outboxOf(t, s, scanner.EventTicketAdmitted)
	if len(admitted) != 1 || admitted[0].ID != ticketing.StableID("evt_", "scan", server.DemoVenue, "n-1", "ticket.admitted") || admitted[0].OrderID != "ord_r" {
		t.Errorf("ticket.admitted events = %+v, want one with the scan's stable id", admitted)
	}
	if c := waitFeed(t, s, token, server.DemoVenue, 5)[4]; c.TicketID != tk[1].TicketID || c.Status != "admitted" {
		t.Errorf("feed entry after the admission = %+v, want %s admitted", c, tk[1].TicketID)
	}
	if got, _ := s.Store().Ticket(context.Background(), tk[2].TicketID); got.Status != usher.TicketValid {
		t.Errorf("ticket refused for wrong_show is %s, want still valid", got.Status)
	}
	m := metricsText(t, s)
	for _, r := range []string{"admitted", "already_admitted", "revoked", "unknown", "invalid", "wrong_venue", "wrong_show"} {
		want := fmt.Sprintf(`usher_scans_total{mode="online",result="%s",venue="demo-venue"} 1`, r)
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestGatesConcurrentScansAdmitOnce(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	token := scannerToken(t, s, "scanner:"+server.DemoVenue)
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_race", 5)))
	tickets := waitOrder(t, s, "ord_race").Tickets
	const devices = 8
	for _, tk := range tickets {
		results := make([]string, devices)
		var wg sync.WaitGroup
		for d := range devices {
			wg.Go(func() {
				results[d] = scan(t, s, token, scanner.ScanRequest{
					Code: tk.Code, VenueID: server.DemoVenue, DeviceID: fmt.Sprintf("gate-%d", d),
					ScannedAt: time.Now(), Nonce: fmt.Sprintf("%s-%d", tk.TicketID, d),
				}).Result
			})
		}
		wg.Wait()
		slices.Sort(results)
		if results[0] != "admitted" || results[1] != "already_admitted" || results[devices-1] != "already_admitted" {
			t.Errorf("ticket %s scanned at %d devices at once: %v, want one admitted", tk.TicketID, devices, results)
		}
	}
	adm, err := s.Store().Admissions(context.Background(), server.DemoVenue)
	if err != nil || len(adm) != len(tickets) {
		t.Errorf("admissions: %d (%v), want %d", len(adm), err, len(tickets))
	}
	if n := len(outboxOf(t, s, scanner.EventTicketAdmitted)); n != len(tickets) {
		t.Errorf("%d ticket.admitted events, want %d", n, len(tickets))
	}
}

func TestGatesOfflineBatchReconciliation(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	ctx := context.Background()
	token := scannerToken(t, s, "scanner:"+server.DemoVenue)
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_in", 3)))
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_d", 1)))
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_e", 1)))
	in := waitOrder(t, s, "ord_in").Tickets
	a, b, c := in[0], in[1], in[2]
	d, e := waitOrder(t, s, "ord_d").Tickets[0], waitOrder(t, s, "ord_e").Tickets[0]
	beforeRefund := time.Now().UTC()
	for _, id := range []string{"ord_d", "ord_e"} {
		mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.refunded", map[string]any{"order_id": id}))
	}
	waitFeed(t, s, token, server.DemoVenue, 7)
	afterRefund := time.Now().UTC()

	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	item := func(device, nonce string, tk usher.Ticket, at time.Time, decision string) scanner.BatchScan {
		return scanner.BatchScan{Code: tk.Code, VenueID: server.DemoVenue, DeviceID: device, ScannedAt: at, Nonce: nonce, Decision: decision}
	}
	batch1 := []scanner.BatchScan{
		item("d1", "d1-a", a, base.Add(10*time.Second), "admitted"),
		item("d1", "d1-b", b, base.Add(20*time.Second), "admitted"),
		item("d1", "d1-c", c, base.Add(25*time.Second), "revoked"), // the device refused; recorded as it decided
		item("d1", "d1-d", d, beforeRefund, "admitted"),            // went in before the refund
		item("d1", "d1-e", e, afterRefund, "admitted"),             // went in on a refunded ticket
		item("d1", "d1-x", usher.Ticket{Code: "NOSUCHCODE2345"}, base, "admitted"),
	}
	batch2 := []scanner.BatchScan{
		item("d2", "d2-a", a, base.Add(5*time.Second), "admitted"), // earlier than d1's: it holds the admission
		item("d2", "d2-b", b, base.Add(30*time.Second), "admitted"),
	}
	type want struct{ result, ticket string }
	check := func(name string, got []scanner.BatchResult, wants []want) {
		t.Helper()
		for i, w := range wants {
			if got[i].Result != w.result || got[i].TicketID != w.ticket {
				t.Errorf("%s scan %d (%s): got %s %q (%s), want %s %q", name, i, got[i].Nonce, got[i].Result, got[i].TicketID, got[i].Reason, w.result, w.ticket)
			}
		}
	}
	check("batch 1", uploadBatch(t, s, token, batch1), []want{
		{"admitted", a.TicketID}, {"admitted", b.TicketID}, {"revoked", c.TicketID},
		{"admitted", d.TicketID}, {"admitted_while_revoked", e.TicketID}, {"unknown", ""},
	})
	r2 := uploadBatch(t, s, token, batch2)
	check("batch 2", r2, []want{{"admitted", a.TicketID}, {"duplicate_entry", b.TicketID}})
	if r2[1].FirstAdmittedAt == nil || !r2[1].FirstAdmittedAt.Equal(base.Add(20*time.Second)) {
		t.Errorf("duplicate entry's first_admitted_at = %v, want d1's scan time", r2[1].FirstAdmittedAt)
	}

	head, _ := s.Store().FeedHead(ctx, server.DemoVenue)
	scans, _ := s.Store().Scans(ctx, server.DemoVenue, 0, 1000)
	outbox, _ := s.Store().OutboxAfter(ctx, 0, 10000)
	// Uploading both batches again changes nothing; d1's scan of a now
	// reads as the duplicate entry it became.
	for range 2 {
		check("batch 1 again", uploadBatch(t, s, token, batch1), []want{
			{"duplicate_entry", a.TicketID}, {"admitted", b.TicketID}, {"revoked", c.TicketID},
			{"admitted", d.TicketID}, {"admitted_while_revoked", e.TicketID}, {"unknown", ""},
		})
		check("batch 2 again", uploadBatch(t, s, token, batch2), []want{{"admitted", a.TicketID}, {"duplicate_entry", b.TicketID}})
	}
	head2, _ := s.Store().FeedHead(ctx, server.DemoVenue)
	scans2, _ := s.Store().Scans(ctx, server.DemoVenue, 0, 1000)
	outbox2, _ := s.Store().OutboxAfter(ctx, 0, 10000)
	if head2 != head || len(scans2) != len(scans) || len(outbox2) != len(outbox) || len(scans) != len(batch1)+len(batch2) {
		t.Errorf("re-upload changed the state: feed %d→%d, scans %d→%d, outbox %d→%d", head, head2, len(scans), len(scans2), len(outbox), len(outbox2))
	}

	if n := len(outboxOf(t, s, scanner.EventDuplicateEntry)); n != 2 {
		t.Errorf("%d scan.duplicate_entry alerts, want 2 (d1's a, d2's b)", n)
	}
	if evs := outboxOf(t, s, scanner.EventAdmittedWhileRevoked); len(evs) != 1 || !strings.Contains(string(evs[0].Data), e.TicketID) {
		t.Errorf("scan.admitted_while_revoked alerts = %+v, want one for %s", evs, e.TicketID)
	}
	adm, _ := s.Store().Admissions(ctx, server.DemoVenue)
	holders := map[string]string{}
	for _, x := range adm {
		holders[x.TicketID] = x.Nonce
	}
	if holders[a.TicketID] != "d2-a" || holders[b.TicketID] != "d1-b" || holders[d.TicketID] != "d1-d" || len(holders) != 3 {
		t.Errorf("admissions = %v, want a by d2-a, b by d1-b, d by d1-d", holders)
	}
	for _, tc := range []struct {
		tk     usher.Ticket
		status usher.TicketStatus
	}{{a, usher.TicketAdmitted}, {b, usher.TicketAdmitted}, {c, usher.TicketValid}, {d, usher.TicketRevoked}, {e, usher.TicketRevoked}} {
		if got, _ := s.Store().Ticket(ctx, tc.tk.TicketID); got.Status != tc.status {
			t.Errorf("ticket %s is %s, want %s", tc.tk.TicketID, got.Status, tc.status)
		}
	}
	if got, _ := s.Store().Ticket(ctx, d.TicketID); !got.UsedBeforeRevocation {
		t.Errorf("ticket %s entered before its refund lacks the used_before_revocation mark", d.TicketID)
	}
	if got, _ := s.Store().Ticket(ctx, e.TicketID); got.UsedBeforeRevocation {
		t.Errorf("ticket %s entered after its refund has the used_before_revocation mark", e.TicketID)
	}
	online := scan(t, s, token, scanner.ScanRequest{Code: a.Code, VenueID: server.DemoVenue, DeviceID: "d3", ScannedAt: time.Now(), Nonce: "d3-a"})
	if online.Result != "already_admitted" || online.FirstAdmittedAt == nil || !online.FirstAdmittedAt.Equal(base.Add(5*time.Second)) {
		t.Errorf("online scan after reconciliation = %+v, want already_admitted at d2's time", online)
	}
	m := metricsText(t, s)
	for _, want := range []string{
		`usher_scans_total{mode="offline",result="admitted_while_revoked",venue="demo-venue"} 1`,
		`usher_scan_alerts_total{alert="duplicate_entry",venue="demo-venue"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestGatesScannerTokenReachesOnlyItsVenue(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	token := scannerToken(t, s, "scanner:v1")
	at := time.Now()
	batchItem := func(venue, nonce string) scanner.BatchScan {
		return scanner.BatchScan{Code: "NOSUCHCODE2345", VenueID: venue, DeviceID: "d", ScannedAt: at, Nonce: nonce, Decision: "unknown"}
	}
	tests := []struct {
		method, path string
		body         any
		want         int
	}{
		{http.MethodGet, "/v1/venues/v1/feed", nil, http.StatusOK},
		{http.MethodGet, "/v1/venues/v2/feed", nil, http.StatusForbidden},
		{http.MethodGet, "/v1/venues/v1/health", nil, http.StatusOK},
		{http.MethodGet, "/v1/venues/v2/health", nil, http.StatusForbidden},
		{http.MethodPost, "/v1/scans", scanner.ScanRequest{Code: "NOSUCHCODE2345", VenueID: "v1", DeviceID: "d", ScannedAt: at, Nonce: "n1"}, http.StatusOK},
		{http.MethodPost, "/v1/scans", scanner.ScanRequest{Code: "NOSUCHCODE2345", VenueID: "v2", DeviceID: "d", ScannedAt: at, Nonce: "n2"}, http.StatusForbidden},
		{http.MethodPost, "/v1/scans/batch", []scanner.BatchScan{batchItem("v1", "b1"), batchItem("v2", "b2")}, http.StatusForbidden},
		{http.MethodPost, "/v1/scans/batch", []scanner.BatchScan{batchItem("v1", "b3")}, http.StatusOK},
		{http.MethodGet, "/v1/orders/x", nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		if got := s.Admin(tt.method, tt.path, token, tt.body, nil); got != tt.want {
			t.Errorf("%s %s: got %d, want %d", tt.method, tt.path, got, tt.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/v1/venues/v2/feed", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if status, _ := s.Do(req); status != http.StatusForbidden {
		t.Errorf("stream of v2: got %d, want 403", status)
	}
	for venue, want := range map[string]int{"v1": 2, "v2": 0} {
		if scans, err := s.Store().Scans(context.Background(), venue, 0, 10); err != nil || len(scans) != want {
			t.Errorf("scans recorded at %s: %d (%v), want %d (a refused batch records nothing)", venue, len(scans), err, want)
		}
	}
}

func TestGatesSnapshot(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	token := scannerToken(t, s, "scanner:"+server.DemoVenue)
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_s", 3)))
	tk := waitOrder(t, s, "ord_s").Tickets
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.refunded", map[string]any{"order_id": "ord_s", "ticket_ids": []string{tk[0].TicketID}}))
	waitFeed(t, s, token, server.DemoVenue, 4)
	want := map[string]string{tk[0].TicketID: "revoked", tk[1].TicketID: "valid", tk[2].TicketID: "valid"}
	states := func(cs []scanner.Change) map[string]string {
		out := map[string]string{}
		for _, c := range cs {
			out[c.TicketID] = c.Status
		}
		return out
	}

	p := feedPage(t, s, token, server.DemoVenue, "snapshot=true")
	if !p.Snapshot || !p.Reset || p.More || p.Next != "4" || fmt.Sprint(states(p.Changes)) != fmt.Sprint(want) {
		t.Fatalf("snapshot = %+v, want every ticket's state and cursor 4", p)
	}
	// Paged, the snapshot continues through its own cursors, then hands
	// over to the feed cursor it was taken at.
	p1 := feedPage(t, s, token, server.DemoVenue, "snapshot=true&limit=2")
	p2 := feedPage(t, s, token, server.DemoVenue, "after="+p1.Next+"&limit=2")
	if !p1.More || !p1.Reset || len(p1.Changes) != 2 || p2.More || p2.Reset || !p2.Snapshot || len(p2.Changes) != 1 || p2.Next != "4" {
		t.Fatalf("paged snapshot = %+v then %+v", p1, p2)
	}

	// History before the floor is gone: an older cursor gets a snapshot.
	if _, err := s.Store().PruneTicketChanges(context.Background(), time.Now().Add(time.Hour), 2); err != nil {
		t.Fatal(err)
	}
	if p := feedPage(t, s, token, server.DemoVenue, "after=1"); !p.Snapshot || !p.Reset || p.Next != "4" || len(p.Changes) != 3 {
		t.Errorf("feed after a pruned cursor = %+v, want a snapshot", p)
	}
	if p := feedPage(t, s, token, server.DemoVenue, "after=2"); p.Snapshot || len(p.Changes) != 2 || p.Next != "4" {
		t.Errorf("feed after the floor = %+v, want changes 3 and 4", p)
	}
	if p := feedPage(t, s, token, server.DemoVenue, "after=99"); !p.Snapshot || !p.Reset {
		t.Errorf("feed after a cursor ahead of the feed = %+v, want a snapshot", p)
	}
	if status := s.Admin(http.MethodGet, "/v1/venues/"+server.DemoVenue+"/feed?after=nonsense", token, nil, nil); status != http.StatusBadRequest {
		t.Errorf("bad cursor: %d, want 400", status)
	}

	// The stream serves the snapshot too, then the changes after it.
	stream := openStream(t, s, token, server.DemoVenue, "after=0", "")
	var snap struct {
		Reset   bool             `json:"reset"`
		Changes []scanner.Change `json:"changes"`
	}
	if err := json.Unmarshal([]byte(nextEvent(t, stream, "snapshot").data), &snap); err != nil || !snap.Reset || fmt.Sprint(states(snap.Changes)) != fmt.Sprint(want) {
		t.Fatalf("stream snapshot = %+v, %v", snap, err)
	}
	if end := nextEvent(t, stream, "snapshot_end"); end.id != "4" {
		t.Fatalf("snapshot_end id %q, want 4", end.id)
	}
	scan(t, s, token, scanner.ScanRequest{Code: tk[1].Code, VenueID: server.DemoVenue, DeviceID: "g", ScannedAt: time.Now(), Nonce: "s1"})
	if id, c := streamChange(t, stream); id != "5" || c.TicketID != tk[1].TicketID || c.Status != "admitted" {
		t.Errorf("stream after the snapshot: id %q %+v, want 5, the admission", id, c)
	}
}

// TestGatesAcrossProcessesOnPostgres runs two usher processes on one
// PostgreSQL and NATS: a stream held open on one process receives a ticket
// paid through the other, and scans of one ticket racing through both
// processes admit it once.
func TestGatesAcrossProcessesOnPostgres(t *testing.T) {
	t.Parallel()
	pgURL := ushertest.PostgresURL(t)
	natsURL, ns := ushertest.NATSURL(t)
	external := ushertest.WithConfig(func(c *server.Config) {
		c.PostgresURL, c.NATSURL, c.NATSNamespace = pgURL, natsURL, ns
		c.MasterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // processes share the key
	})
	a := ushertest.Start(t, external)
	b := ushertest.Start(t, external)
	token := scannerToken(t, a, "scanner:"+server.DemoVenue)
	stream := openStream(t, b, token, server.DemoVenue, "", "")
	mustAccept(t, a, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_pg", 4)))
	tickets := waitOrder(t, a, "ord_pg").Tickets
	seen := map[string]bool{}
	for range tickets {
		_, c := streamChange(t, stream)
		seen[c.TicketID] = true
	}
	for _, tk := range tickets {
		if !seen[tk.TicketID] {
			t.Errorf("ticket %s paid through one process never reached the stream on the other", tk.TicketID)
		}
	}
	for _, tk := range tickets {
		results := make([]string, 6)
		var wg sync.WaitGroup
		for d := range results {
			s := a
			if d%2 == 1 {
				s = b
			}
			wg.Go(func() {
				results[d] = scan(t, s, token, scanner.ScanRequest{
					Code: tk.Code, VenueID: server.DemoVenue, DeviceID: fmt.Sprintf("gate-%d", d), ScannedAt: time.Now(), Nonce: fmt.Sprintf("%s-%d", tk.TicketID, d),
				}).Result
			})
		}
		wg.Wait()
		slices.Sort(results)
		if results[0] != "admitted" || results[1] != "already_admitted" {
			t.Errorf("ticket %s raced through two processes: %v, want one admitted", tk.TicketID, results)
		}
	}
	if adm, err := a.Store().Admissions(context.Background(), server.DemoVenue); err != nil || len(adm) != len(tickets) {
		t.Errorf("admissions: %d (%v), want %d", len(adm), err, len(tickets))
	}
}
