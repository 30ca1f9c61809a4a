package scanner

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/events/eventstest"
)

// onlineResults are the answers an online scan gives (judge and the
// rotating-code check).
var onlineResults = []string{
	ResultAdmitted, ResultAlreadyAdmitted, ResultRevoked, ResultUnknown, ResultWrongVenue,
	ResultWrongShow, ResultInvalid, ResultStaleCode, ResultReplayedCode,
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEveryAnswerShapeIsOnContract walks the scanner's own constants: each
// result an online scan can answer, each decision a device may upload and
// each reconciled result validates against its gate contract, as do a feed
// entry and a snapshot entry built as the feed builds them. A result added
// to the code and not to the schema fails here.
func TestEveryAnswerShapeIsOnContract(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 2, 11, 123456000, time.UTC)
	for _, r := range onlineResults {
		for _, ticket := range []string{"tkt_1", ""} {
			doc := mustJSON(t, ScanResult{Result: r, TicketID: ticket, FirstAdmittedAt: &at, Reason: "why", Nonce: "n-1"})
			if err := eventstest.CheckGate(events.GateScanAnswer, doc); err != nil {
				t.Errorf("online %s: %v", r, err)
			}
		}
	}
	results := append(slices.Clone(decisions), ResultDuplicateEntry, ResultAdmittedWhileRevoked, ResultRejected)
	for _, d := range decisions {
		for _, r := range results {
			doc := mustJSON(t, BatchResult{Nonce: "d1-a", Decision: d, Result: r, TicketID: "tkt_1", FirstAdmittedAt: &at})
			if err := eventstest.CheckGate(events.GateBatchResult, doc); err != nil {
				t.Errorf("batch %s → %s: %v", d, r, err)
			}
		}
	}
	for _, status := range []usher.TicketStatus{usher.TicketValid, usher.TicketRevoked, usher.TicketAdmitted} {
		c := toChange(usher.TicketChange{Seq: 7, TicketID: "tkt_1", ShowID: "show_1", Status: string(status),
			CodeHash: strings.Repeat("ab", 32), ChangedAt: at})
		snap := c
		snap.Seq = 0
		for _, entry := range []Change{c, snap} {
			if err := eventstest.CheckGate(events.GateFeedEntry, mustJSON(t, entry)); err != nil {
				t.Errorf("feed entry %s: %v", status, err)
			}
		}
	}
}

// TestOffContractAnswersFail: answers a scanner could not rely on are
// refused by the contracts, at the place that is wrong.
func TestOffContractAnswersFail(t *testing.T) {
	t.Parallel()
	answer := `{"result":"admitted","ticket_id":"tkt_1","first_admitted_at":"2026-12-05T19:02:11Z","nonce":"n-1"}`
	entry := `{"seq":3,"ticket_id":"tkt_1","show_id":"show_1","status":"valid","code_hash":"` + strings.Repeat("ab", 32) + `","changed_at":"2026-12-05T19:02:11Z"}`
	batch := `{"nonce":"d1-a","decision":"admitted","result":"duplicate_entry","ticket_id":"tkt_1"}`
	tests := []struct {
		typ, doc, old, new, pointer string
	}{
		{events.GateScanAnswer, answer, `"admitted"`, `"maybe"`, "/result"},
		{events.GateScanAnswer, answer, `,"nonce":"n-1"`, ``, "/nonce"},
		{events.GateScanAnswer, answer, `"tkt_1"`, `"tkt 1"`, "/ticket_id"},
		{events.GateScanAnswer, answer, `"2026-12-05T19:02:11Z"`, `"yesterday"`, "/first_admitted_at"},
		{events.GateScanAnswer, answer, `"nonce"`, `"admit":true,"nonce"`, "/admit"},
		{events.GateFeedEntry, entry, `"seq":3`, `"seq":-1`, "/seq"},
		{events.GateFeedEntry, entry, `"valid"`, `"blocked"`, "/status"},
		{events.GateFeedEntry, entry, strings.Repeat("ab", 32), "ABCD", "/code_hash"},
		{events.GateFeedEntry, entry, `"show_id":"show_1",`, ``, "/show_id"},
		{events.GateBatchResult, batch, `"decision":"admitted"`, `"decision":"duplicate_entry"`, "/decision"},
		{events.GateBatchResult, batch, `"ticket_id":"tkt_1"`, `"ticket_id":null`, "/ticket_id"},
	}
	v := loadCatalog(t).Validator(events.Gate)
	for _, tt := range tests {
		doc := strings.Replace(tt.doc, tt.old, tt.new, 1)
		if doc == tt.doc {
			t.Fatalf("%s: %q not in %s", tt.typ, tt.old, tt.doc)
		}
		if err := v.Validate(tt.typ, "", []byte(tt.doc)); err != nil {
			t.Fatalf("%s: the unchanged answer fails: %v", tt.typ, err)
		}
		err := v.Validate(tt.typ, "", []byte(doc))
		var viol *events.Violation
		if !errors.As(err, &viol) || usher.ErrorCode(err) != usher.CodeSchemaViolation || viol.JSONPointer() != tt.pointer {
			t.Errorf("%s %s: got %v, want a schema violation at %s", tt.typ, doc, err, tt.pointer)
		}
	}
}

func loadCatalog(t *testing.T) *events.Catalog {
	t.Helper()
	c, err := events.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
