package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v82/webhook"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// Personal data that the scan looks for: each value is sent once, in clear,
// by a provider, and must not be found anywhere usher writes in clear.
var scanPII = []string{
	"ada.scan@example.com", "Ada Scanlace", "+44 20 7946 0101", // standard webhooks buyer
	"heir.scan@example.com", "Heir Scanholder", // standard webhooks new holder
	"grace.scan@example.com", "Grace Scanhopper", "+1 202 555 0199", "7 Secret Mews", // Stripe checkout
	"linus.scan@example.com", "Linus Scancustomer", // Stripe event with no canonical type
}

// TestPersonalDataOfEverySchemeNeverStoredInClear sends events of both
// schemes with personal data through every path that stores a payload: the
// stream, dedupe records (applied and ignored events), processing dead
// letters (id reuse, set aside), delivery dead letters, the outbox, the
// audit trail and the logs. No file under the data directory (SQLite and
// its WAL, the JetStream store), no log line and no answer of a dlq:read
// token holds any of it; a pii:read token sees a dead letter's personal
// data, and that read is audited. usher has no tracing yet.
func TestPersonalDataOfEverySchemeNeverStoredInClear(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	s := ushertest.StartLogging(t, logs)
	setupScan(t, s)
	sendStandardPII(t, s)
	sendStripePII(t, s)
	dls := waitDeadLetters(t, s, 4)
	for _, want := range []string{"ord_scan_std", "ord_scan_stripe"} {
		if _, err := s.Store().Buyer(context.Background(), want); err != nil {
			t.Errorf("vault lacks the buyer of %s: %v", want, err)
		}
	}

	scanFiles(t, s.Config.DataDir)
	scanText(t, "the logs", logs.String())
	reader := createToken(t, s, "dlq:read")
	for _, path := range []string{"/v1/dlq?limit=500", "/v1/audit?limit=1000"} {
		token := reader
		if strings.HasPrefix(path, "/v1/audit") {
			token = ""
		}
		scanText(t, "GET "+path, string(adminRaw(t, s, path, token, 200)))
	}
	sawStripe := false
	for _, dl := range dls {
		body := adminRaw(t, s, "/v1/dlq/"+dl.ID, reader, 200)
		scanText(t, "GET /v1/dlq/"+dl.ID+" with dlq:read", string(body))
		if dl.Source == "stripe" && dl.Reason == "id_reuse" {
			sawStripe = true
			if !strings.Contains(string(body), `"personal_data":"redacted"`) {
				t.Errorf("Stripe dead letter for dlq:read does not say its personal data is redacted: %s", body)
			}
			revealed := adminRaw(t, s, "/v1/dlq/"+dl.ID, createToken(t, s, "dlq:read", "pii:read"), 200)
			if !strings.Contains(string(revealed), "grace.scan@example.com") {
				t.Errorf("pii:read does not see the personal data of dead letter %s: %s", dl.ID, revealed)
			}
		}
	}
	if !sawStripe {
		t.Fatalf("no Stripe id-reuse dead letter among %+v", dls)
	}
	recs, err := s.Store().AuditLog(context.Background(), auditFilterAll())
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, r := range recs {
		audited = audited || r.Action == "pii.read" && r.EntityType == "dead_letter"
	}
	if !audited {
		t.Error("the pii:read of a dead letter is not on the audit trail")
	}
}

func setupScan(t *testing.T, s *ushertest.Server) {
	t.Helper()
	if status := s.Admin(http.MethodPost, "/v1/sources", "", map[string]any{"name": "stripe", "scheme": "stripe", "secret": scanStripeSecret}, nil); status != 201 {
		t.Fatalf("create stripe source: %d", status)
	}
	if status := s.Admin(http.MethodPut, "/v1/shows/demo-show/inventory/GA", "", map[string]int{"capacity": 50}, nil); status != 200 {
		t.Fatalf("capacity: %d", status)
	}
	// Every outbound event is refused: each becomes a delivery dead letter
	// of a subscription that is sent personal data.
	rc := newDLVReceiver(t, func(int, *http.Request) int { return http.StatusBadRequest })
	subscribe(t, s, map[string]any{"url": rc.URL, "pii": true, "event_types": []string{"*"}})
}

const scanStripeSecret = "whsec_scan_0123456789abcdef"

// sendStandardPII sends an applied order.paid, the same id with other
// bytes, an order.paid without an order id (refused at the edge) and a
// transfer of an unknown ticket, each carrying personal data.
func sendStandardPII(t *testing.T, s *ushertest.Server) {
	t.Helper()
	buyer := map[string]string{"email": "ada.scan@example.com", "name": "Ada Scanlace", "phone": "+44 20 7946 0101"}
	paid := ushertest.Paid("ord_scan_std", 1)
	paid["buyer"] = buyer
	id := ushertest.NewID()
	mustAccept(t, s, id, ushertest.Envelope("order.paid", paid))
	waitOrder(t, s, "ord_scan_std")
	paid["items"] = []map[string]any{{"ticket_type": server.DemoTicketType, "quantity": 2}}
	mustAccept(t, s, id, ushertest.Envelope("order.paid", paid))
	// An order.paid without an order id breaks its schema: the edge refuses
	// it, and neither the refusal nor the log repeats the buyer.
	noOrder := map[string]any{"show_id": server.DemoShow, "buyer": buyer}
	if status, body := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", noOrder)); status != http.StatusBadRequest {
		t.Fatalf("order.paid without order_id: got %d %s, want 400", status, body)
	} else {
		scanText(t, "the refusal of an order.paid without order_id", string(body))
	}
	transfer := map[string]any{"ticket_id": "tkt_unknown", "order_id": "ord_scan_std",
		"to": map[string]string{"email": "heir.scan@example.com", "name": "Heir Scanholder"}}
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("ticket.transferred", transfer))
}

// sendStripePII sends a paid checkout (then its id again with other bytes)
// and a customer.created, which maps onto no canonical type.
func sendStripePII(t *testing.T, s *ushertest.Server) {
	t.Helper()
	checkout := stripeFixture(t, "checkout_session_completed.json")
	obj := checkout["data"].(map[string]any)["object"].(map[string]any)
	obj["metadata"] = map[string]any{"order_id": "ord_scan_stripe", "show_id": server.DemoShow, "venue_id": server.DemoVenue, "ticket_type": server.DemoTicketType}
	obj["customer_details"] = map[string]any{"email": "grace.scan@example.com", "name": "Grace Scanhopper", "phone": "+1 202 555 0199",
		"address": map[string]any{"line1": "7 Secret Mews", "city": "London"}}
	obj["shipping_details"] = map[string]any{"name": "Grace Scanhopper", "address": map[string]any{"line1": "7 Secret Mews"}}
	sendStripeEvent(t, s, checkout)
	waitOrder(t, s, "ord_scan_stripe")
	obj["amount_total"] = 1
	sendStripeEvent(t, s, checkout)
	customer := stripeFixture(t, "customer_created.json")
	cobj := customer["data"].(map[string]any)["object"].(map[string]any)
	cobj["email"], cobj["name"], cobj["phone"] = "linus.scan@example.com", "Linus Scancustomer", "+1 202 555 0199"
	sendStripeEvent(t, s, customer)
}

func stripeFixture(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "webhook", "testdata", "stripe", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func sendStripeEvent(t *testing.T, s *ushertest.Server, ev map[string]any) {
	t.Helper()
	if status, body := sendStripe(t, s, ev); status != 202 {
		t.Fatalf("stripe %v: %d %s", ev["type"], status, body)
	}
}

// waitDeadLetters waits for the processing dead letters (two id reuses and
// the unknown ticket) and at least one of delivery.
func waitDeadLetters(t *testing.T, s *ushertest.Server, atLeast int) []usher.DeadLetterRecord {
	t.Helper()
	var dls []usher.DeadLetterRecord
	ushertest.Eventually(t, dlvWait, "dead letters of both stages", func() bool {
		var err error
		dls, _, err = s.Store().SearchDeadLetters(context.Background(), usher.DeadLetterFilter{Limit: 500})
		stages := map[string]int{}
		for _, dl := range dls {
			stages[dl.Stage]++
		}
		return err == nil && len(dls) >= atLeast && stages["processing"] >= 3 && stages["delivery"] >= 1
	})
	return dls
}

// scanFiles reads every file under dir, the database and its WAL and the
// JetStream store among them.
func scanFiles(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a temporary file the live server renamed meanwhile (JetStream's *.tmp)
		}
		if err != nil {
			return err
		}
		n++
		scanText(t, path, string(raw))
		return nil
	})
	if err != nil || n < 3 {
		t.Fatalf("scan of %s: %d files, %v", dir, n, err)
	}
}

func scanText(t *testing.T, where, text string) {
	t.Helper()
	for _, v := range scanPII {
		if strings.Contains(text, v) {
			t.Errorf("%s holds personal data %q", where, v)
		}
	}
}

func createToken(t *testing.T, s *ushertest.Server, scopes ...string) string {
	t.Helper()
	var tok struct {
		Token string `json:"token"`
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": scopes}, &tok); status != 201 {
		t.Fatalf("create token %v: %d", scopes, status)
	}
	return tok.Token
}

func adminRaw(t *testing.T, s *ushertest.Server, path, token string, want int) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	if token == "" {
		token = ushertest.AdminToken
	}
	req.Header.Set("Authorization", "Bearer "+token)
	status, body := s.Do(req)
	if status != want {
		t.Fatalf("GET %s: %d %s, want %d", path, status, body, want)
	}
	return body
}

// sendStripe signs ev with scanStripeSecret as Stripe does and posts it to
// the source "stripe".
func sendStripe(t *testing.T, s *ushertest.Server, ev map[string]any) (int, []byte) {
	t.Helper()
	payload, _ := json.Marshal(ev)
	signed := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: payload, Secret: scanStripeSecret, Timestamp: time.Now()})
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/webhooks/stripe", bytes.NewReader(signed.Payload))
	req.Header.Set("Stripe-Signature", signed.Header)
	req.Header.Set("Content-Type", "application/json")
	return s.Do(req)
}
