package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestRotateMasterOnline seals under key A, rotates to B while usher runs
// (interrupted after two values, then resumed), keeps verifying webhooks and
// reading the vault throughout, checks that every sealed value ends under B,
// drops A and restarts: everything still opens.
func TestRotateMasterOnline(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	dir := s.Config.DataDir
	if status := s.Admin(http.MethodPut, "/v1/shows/demo-show/inventory/GA", "", map[string]int{"capacity": 50}, nil); status != 200 {
		t.Fatalf("capacity: %d", status)
	}
	id := ushertest.NewID()
	payAndRead(t, s, id, "ord_rot_1", 1)
	if status, _ := s.Send(id, ushertest.Envelope("order.paid", ushertest.Paid("ord_rot_1", 2))); status != 202 {
		t.Fatalf("id reuse: %d", status)
	}
	ushertest.Eventually(t, 20*time.Second, "a dead letter with sealed data", func() bool { return sealedKeys(t, dir)["dead_letters"] != nil })
	before := sealedKeys(t, dir)
	keyA := onlyKey(t, before)

	if out, err := runCLI(t, "keys", "rotate-master", "--data-dir", dir, "--limit", "2", "--batch", "1"); err != nil || !strings.Contains(out, "not done") {
		t.Fatalf("interrupted rotation: %v\n%s", err, out)
	}
	mid := sealedKeys(t, dir)
	if n := countUnder(mid, keyA); n == 0 || n == countAll(mid) {
		t.Fatalf("after an interrupted rotation %d of %d values are under the old key, want some: %v", n, countAll(mid), mid)
	}
	payAndRead(t, s, ushertest.NewID(), "ord_rot_2", 1) // both keys in use
	readBuyer(t, s, "ord_rot_1")

	if out, err := runCLI(t, "keys", "rotate-master", "--data-dir", dir); err != nil || !strings.Contains(out, "every sealed value is under key") {
		t.Fatalf("resumed rotation: %v\n%s", err, out)
	}
	after := sealedKeys(t, dir)
	keyB := onlyKey(t, after)
	if keyB == keyA || countAll(after) < countAll(before) {
		t.Fatalf("after the rotation: key %s (was %s), %d values (were %d): %v", keyB, keyA, countAll(after), countAll(before), after)
	}
	payAndRead(t, s, ushertest.NewID(), "ord_rot_3", 1)

	if out, err := runCLI(t, "keys", "rotate-master", "--data-dir", dir, "--finish"); err != nil || !strings.Contains(out, "retired") {
		t.Fatalf("finish: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	if keys, err := secrets.ParseKeys(string(raw)); err != nil || len(keys) != 1 {
		t.Fatalf("key file after finish: %d keys, %v", len(keys), err)
	}
	s.Restart()
	for _, o := range []string{"ord_rot_1", "ord_rot_2", "ord_rot_3"} {
		readBuyer(t, s, o)
	}
	payAndRead(t, s, ushertest.NewID(), "ord_rot_4", 1)
}

// TestRotateMasterKeyOnlyReSealsNothing: --key-only writes the new key and
// stops, so that processes reading a copy of the key file (the systemd
// unit's credential) can be restarted before any value is sealed under a
// key they do not have; the next run re-seals.
func TestRotateMasterKeyOnlyReSealsNothing(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	dir := s.Config.DataDir
	if status := s.Admin(http.MethodPut, "/v1/shows/demo-show/inventory/GA", "", map[string]int{"capacity": 50}, nil); status != 200 {
		t.Fatalf("capacity: %d", status)
	}
	payAndRead(t, s, ushertest.NewID(), "ord_ko_1", 1)
	keyA := onlyKey(t, sealedKeys(t, dir))
	out, err := runCLI(t, "keys", "rotate-master", "--data-dir", dir, "--key-only")
	if err != nil || !strings.Contains(out, "nothing re-sealed") {
		t.Fatalf("rotate-master --key-only: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	if keys, err := secrets.ParseKeys(string(raw)); err != nil || len(keys) != 2 {
		t.Fatalf("key file after --key-only: %d keys, %v; want the new and the old", len(keys), err)
	}
	if got := onlyKey(t, sealedKeys(t, dir)); got != keyA {
		t.Fatalf("after --key-only values are under %s, want all still under %s", got, keyA)
	}
	s.Restart()
	readBuyer(t, s, "ord_ko_1")
	if out, err := runCLI(t, "keys", "rotate-master", "--data-dir", dir); err != nil || !strings.Contains(out, "every sealed value is under key") {
		t.Fatalf("the run after --key-only: %v\n%s", err, out)
	}
	if got := onlyKey(t, sealedKeys(t, dir)); got == keyA {
		t.Fatalf("after the second run values are still under the old key %s", keyA)
	}
	readBuyer(t, s, "ord_ko_1")
}

func payAndRead(t *testing.T, s *ushertest.Server, id, orderID string, qty int) {
	t.Helper()
	if status, body := s.Send(id, ushertest.Envelope("order.paid", ushertest.Paid(orderID, qty))); status != 202 {
		t.Fatalf("send %s: %d %s", orderID, status, body)
	}
	ushertest.Eventually(t, 20*time.Second, "order "+orderID, func() bool {
		_, err := s.Store().OrderWithTickets(context.Background(), orderID)
		return err == nil
	})
	readBuyer(t, s, orderID)
}

func readBuyer(t *testing.T, s *ushertest.Server, orderID string) {
	t.Helper()
	var b struct {
		Email string `json:"email"`
	}
	if status := s.Admin(http.MethodGet, "/v1/orders/"+orderID+"/buyer", "", nil, &b); status != 200 || b.Email != "ada@example.com" {
		t.Fatalf("buyer of %s: %d %+v", orderID, status, b)
	}
}

// sealedKeys returns, per table, the key id of every sealed value in it.
func sealedKeys(t *testing.T, dir string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "usher.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][]string{}
	for table, q := range map[string]string{
		"source_secrets":      `SELECT secret FROM source_secrets`,
		"subscription_keys":   `SELECT secret FROM subscription_keys`,
		"ticket_signing_keys": `SELECT private_key FROM ticket_signing_keys`,
		"code_secrets":        `SELECT secret FROM code_secrets`,
		"buyers":              `SELECT email_sealed FROM buyers UNION ALL SELECT name_sealed FROM buyers`,
		"dead_letters":        `SELECT CAST(payload AS BLOB) FROM dead_letters`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var v []byte
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			if table == "dead_letters" {
				var p struct {
					Sealed []byte `json:"sealed"`
				}
				if json.Unmarshal(v, &p) != nil || p.Sealed == nil {
					continue
				}
				v = p.Sealed
			}
			out[table] = append(out[table], secrets.KeyID(v))
		}
		rows.Close()
	}
	return out
}

func onlyKey(t *testing.T, ids map[string][]string) string {
	t.Helper()
	seen := map[string]bool{}
	for _, list := range ids {
		for _, id := range list {
			seen[id] = true
		}
	}
	if len(seen) != 1 || seen[""] || len(ids["buyers"]) == 0 || len(ids["source_secrets"]) == 0 || len(ids["ticket_signing_keys"]) == 0 {
		t.Fatalf("want every sealed value of every table under one key: %v", ids)
	}
	for id := range seen {
		return id
	}
	return ""
}

func countUnder(ids map[string][]string, key string) int {
	n := 0
	for _, list := range ids {
		for _, id := range list {
			if id == key {
				n++
			}
		}
	}
	return n
}

func countAll(ids map[string][]string) int { return len(allIDs(ids)) }

func allIDs(ids map[string][]string) []string {
	var all []string
	for _, list := range ids {
		all = append(all, list...)
	}
	return all
}
