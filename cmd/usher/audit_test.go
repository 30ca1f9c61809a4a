package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/postgres"
	"github.com/usherhq/usher/internal/ushertest"
)

func appendAudit(t *testing.T, db *store.DB, n int) {
	t.Helper()
	for range n {
		if err := db.AppendAudit(context.Background(), usher.AuditEntry{Actor: "cli_test", Action: "inventory.set", EntityID: "show_1/GA", Detail: map[string]int{"capacity": 100}}); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
}

// seqOf returns the seq of the i-th record of the test actor.
func seqOf(t *testing.T, db *store.DB, i int) int64 {
	t.Helper()
	recs, err := db.AuditLog(context.Background(), usher.AuditFilter{Actor: "cli_test", Limit: usher.MaxAuditLimit})
	if err != nil || len(recs) <= i {
		t.Fatalf("AuditLog: %d records, %v", len(recs), err)
	}
	return recs[i].Seq
}

func TestAuditVerifyCatchesATamperedRecord(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	appendAudit(t, s.Store(), 5)
	out, err := runCLI(t, "audit", "verify", "--data-dir", s.Config.DataDir)
	if err != nil || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("audit verify of a sound log: %v\n%s", err, out)
	}

	// Someone with the database file edits a record through a connection of
	// their own, while usher runs.
	bad := seqOf(t, s.Store(), 2)
	raw, err := sql.Open("sqlite", filepath.Join(s.Config.DataDir, "usher.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE audit_log SET detail = '{"capacity":100000}' WHERE seq = $1`, bad); err != nil {
		t.Fatalf("tamper: %v", err)
	}
	out, err = runCLI(t, "audit", "verify", "--data-dir", s.Config.DataDir)
	if err == nil || !strings.Contains(out, "BROKEN at record "+itoa(bad)+":") || !strings.Contains(err.Error(), "record "+itoa(bad)) {
		t.Fatalf("audit verify after tampering with record %d: err %v\n%s", bad, err, out)
	}

	// A stopped usher is checked the same way, and the check writes nothing.
	s.Stop()
	wantReadOnly(t, s.Config.DataDir, "")
	if out, err := runCLI(t, "audit", "verify", "--data-dir", s.Config.DataDir); err == nil || !strings.Contains(out, "BROKEN at record "+itoa(bad)) {
		t.Fatalf("audit verify of a stopped usher: err %v\n%s", err, out)
	}
}

func TestAuditVerifyOnPostgres(t *testing.T) {
	t.Parallel()
	url := ushertest.PostgresURL(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	defer db.Close()
	appendAudit(t, db, 4)
	if out, err := runCLI(t, "audit", "verify", "--postgres-url", url); err != nil || !strings.HasPrefix(out, "OK: 4 audit records") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	wantReadOnly(t, "", url)
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM audit_log WHERE seq = 2`); err != nil {
		t.Fatalf("tamper: %v", err)
	}
	out, err := runCLI(t, "audit", "verify", "--postgres-url", url)
	if err == nil || !strings.Contains(out, "BROKEN at record 2: missing") {
		t.Fatalf("audit verify after a deletion: err %v\n%s", err, out)
	}
}

// wantReadOnly fails unless the store that audit verify opens refuses writes.
func wantReadOnly(t *testing.T, dataDir, pgURL string) {
	t.Helper()
	db, err := openReadOnly(context.Background(), dataDir, pgURL)
	if err != nil {
		t.Fatalf("openReadOnly: %v", err)
	}
	defer db.Close()
	if err := db.AppendAudit(context.Background(), usher.AuditEntry{Actor: "verify", Action: "write"}); err == nil {
		t.Fatal("a write through the store that audit verify opens succeeded")
	}
}

func TestAuditVerifyNeedsAUsherDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := runCLI(t, "audit", "verify", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "no usher database") {
		t.Fatalf("audit verify of an empty directory: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("audit verify created %v in the directory it checked", entries)
	}
	if _, err := runCLI(t, "audit", "frobnicate"); err == nil {
		t.Fatal("an unknown audit subcommand succeeded")
	}
}

// TestAuditLogAndPIIEraseAgainstARunningUsher needs the audit component's
// routes; it skips until they are wired.
func TestAuditLogAndPIIEraseAgainstARunningUsher(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	conn := []string{"--url", s.URL(), "--admin-token", ushertest.AdminToken}
	ctx := context.Background()
	err := s.Store().InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.PutBuyer(ctx, "ord_cli_pii", usher.Buyer{Email: "ada@example.com", Name: "Ada"})
		return err
	})
	if err != nil {
		t.Fatalf("PutBuyer: %v", err)
	}
	out, err := runCLI(t, append([]string{"pii", "erase", "--order", "ord_cli_pii"}, conn...)...)
	if err != nil || !strings.Contains(out, `"erased_at"`) || strings.Contains(out, "@") {
		t.Fatalf("pii erase: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"audit", "log", "--output", "json", "--order", "ord_cli_pii"}, conn...)...)
	if err != nil || !strings.Contains(out, `"action": "pii.erased"`) || !strings.Contains(out, `"actor": "`+s.AdminTokenID()+`"`) {
		t.Fatalf("audit log --order: %v\n%s", err, out)
	}
	if _, err := runCLI(t, append([]string{"pii", "erase", "--order", "ord_unknown"}, conn...)...); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("pii erase of an unknown order: %v, want a 404", err)
	}
	if _, err := runCLI(t, "pii", "erase"); err == nil {
		t.Fatal("pii erase without --order succeeded")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
