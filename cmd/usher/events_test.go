package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/events"
)

func TestEventsExportWritesEverySchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"events", "export", dir}, os.Getenv, &out, &out); err != nil {
		t.Fatalf("export: %v %s", err, out.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "outbound", "ticket.issued", "2026-12-01.json"))
	if err != nil || !bytes.Contains(b, []byte("2020-12")) {
		t.Fatalf("ticket.issued schema: %v %.80s", err, b)
	}
	n := 0
	_ = fs.WalkDir(events.Files(), ".", func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if want := fmt.Sprintf("wrote %d schemas", n); n < 50 || !strings.Contains(out.String(), want) {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "gate", "scan.answer", "2026-12-01.json")); err != nil {
		t.Errorf("the gate contracts are not exported: %v", err)
	}
}

// TestEventsValidateGateAnswers: a scanner team validates recorded answers
// of the gate API against the gate contracts.
func TestEventsValidateGateAnswers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	_ = os.WriteFile(good, []byte(`{"result":"admitted","ticket_id":"tkt_1","nonce":"n-1"}`), 0o644)
	_ = os.WriteFile(bad, []byte(`{"result":"let_in","ticket_id":"tkt_1","nonce":"n-1"}`), 0o644)
	var out bytes.Buffer
	err := run(context.Background(), []string{"events", "validate", "--direction", "gate", "--type", "scan.answer", good, bad}, os.Getenv, &out, &out)
	if err == nil || !strings.Contains(out.String(), "ok   "+good) || !strings.Contains(out.String(), `FAIL `+bad+`: at "/result"`) {
		t.Errorf("got %v\n%s", err, out.String())
	}
}

// TestEventsValidate is what a consumer's CI runs: exit status and a report
// naming each file, the pointer and the reason.
func TestEventsValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	data := `{"order_id":"ord_1","show_id":"s","venue_id":"v","status":"paid","previous_status":"pending"}`
	good := write("good.json", data)
	oldBody := write("old.json", `{"type":"order.confirmed","version":"2026-06-01","timestamp":"2026-12-01T00:00:00Z","data":{"order_id":"ord_1","show_id":"s","venue_id":"v","status":"paid"}}`)
	bad := write("bad.json", `{"order_id":"ord 1","show_id":"s","venue_id":"v","status":"paid","previous_status":"pending"}`)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"events", "validate", "--type", "order.confirmed", good, oldBody}, os.Getenv, &out, &out); err != nil {
		t.Fatalf("valid files: %v\n%s", err, out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"events", "validate", "--type", "order.confirmed", good, bad}, os.Getenv, &out, &out)
	if err == nil || !strings.Contains(out.String(), "ok   "+good) || !strings.Contains(out.String(), `FAIL `+bad+`: at "/order_id"`) {
		t.Errorf("got %v\n%s", err, out.String())
	}
	out.Reset()
	// The old body validated against the current version fails: previous_status is missing.
	if err := run(context.Background(), []string{"events", "validate", "--type", "order.confirmed", "--version", "2026-12-01", oldBody}, os.Getenv, &out, &out); err == nil {
		t.Errorf("an old-version body passed as 2026-12-01:\n%s", out.String())
	}
}
