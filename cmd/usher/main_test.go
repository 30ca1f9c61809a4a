package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestCommandsAgainstARunningUsher(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	conn := []string{"--url", s.URL(), "--admin-token", ushertest.AdminToken}

	out, err := runCLI(t, append([]string{"token", "create", "--scope", "orders:read", "--description", "dashboard"}, conn...)...)
	if err != nil || !strings.Contains(out, `"token":"usher_`) {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"source", "create", "shop"}, conn...)...)
	if err != nil || !strings.Contains(out, `"secret":"whsec_`) {
		t.Fatalf("source create: %v\n%s", err, out)
	}
	var rotated struct {
		Secret struct{ Secret string } `json:"secret"`
	}
	out, err = runCLI(t, append([]string{"source", "rotate", "shop", "--grace", "1h"}, conn...)...)
	if err != nil || json.Unmarshal([]byte(out), &rotated) != nil || !strings.HasPrefix(rotated.Secret.Secret, "whsec_") {
		t.Fatalf("source rotate: %v\n%s", err, out)
	}
	// usher send signs with the new secret of the rotated source.
	out, err = runCLI(t, "send", "--url", s.URL(), "--source", "shop", "--secret", rotated.Secret.Secret, "--order", "ord_cli", "order.paid")
	if err != nil || !strings.HasPrefix(out, "202 Accepted") {
		t.Fatalf("send: %v\n%s", err, out)
	}
	out, err = runCLI(t, "send", "--url", s.URL(), "--source", "shop", "--secret", "whsec_"+strings.Repeat("QUFB", 8), "order.paid")
	if err == nil || !strings.HasPrefix(out, "401") {
		t.Fatalf("send with a wrong secret: %v\n%s", err, out)
	}
}

func TestSendReadsFirstStartCredentials(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	b, _ := json.Marshal(s.Bootstrapped)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, server.CredentialsFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "send", "--url", s.URL(), "--data-dir", dir, "order.chargeback")
	if err != nil || !strings.HasPrefix(out, "202 Accepted") || !strings.Contains(out, "order_id: ord_") {
		t.Fatalf("send: %v\n%s", err, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	if _, err := runCLI(t, "frobnicate"); err == nil {
		t.Error("an unknown command succeeded")
	}
}

func TestCheckFindsABrokenInvariant(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	status, _ := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_chk", 2)))
	if status != 202 {
		t.Fatalf("send: %d", status)
	}
	ushertest.Eventually(t, 20*time.Second, "order", func() bool {
		_, err := s.Store().OrderWithTickets(context.Background(), "ord_chk")
		return err == nil
	})
	s.Stop()
	out, err := runCLI(t, "check", "--data-dir", s.Config.DataDir)
	if err != nil || !strings.HasPrefix(out, "OK:") {
		t.Fatalf("check on a sound store: %v\n%s", err, out)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.Config.DataDir, "usher.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE inventory SET sold = sold + 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err = runCLI(t, "check", "--data-dir", s.Config.DataDir)
	if err == nil || !strings.Contains(out, "VIOLATION demo-show/GA: sold 3 but 2 valid or admitted tickets") {
		t.Fatalf("check on a tampered store: %v\n%s", err, out)
	}
}
