package crashtest

import (
	cryptorand "crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver

	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestKill9DuringBurstOnPostgresAndExternalNATS is TestKill9DuringBurst
// with the state in PostgreSQL (a fresh schema) and the queue in the
// machine's NATS server (a fresh namespace), as usher runs at scale. Only
// usher is killed: PostgreSQL and NATS stay up, so every 2xx must survive
// in them and be applied exactly once after the restarts. Fewer rounds than
// on SQLite keep it short.
func TestKill9DuringBurstOnPostgresAndExternalNATS(t *testing.T) {
	t.Parallel()
	const (
		rounds        = 3
		perRound      = 100
		workers       = 16
		roomy         = "crash-pg-roomy"
		tight         = "crash-pg-tight"
		tightCapacity = 30
		partitions    = 4 // startChild's --partitions
	)
	pgURL := ushertest.PostgresURL(t)
	natsURL, namespace := ushertest.NATSURL(t)
	flags := []string{"--postgres-url", pgURL, "--nats-url", natsURL, "--nats-namespace", namespace,
		"--master-key-file", masterKeyFile(t)}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	dir := t.TempDir()
	client := newClient()
	c := startChild(t, dir, flags...)
	source, key := credentials(t, dir)
	putCapacity(t, client, c.url, roomy, 1_000_000)
	putCapacity(t, client, c.url, tight, tightCapacity)
	snd := newSender(client, source, key)

	events := map[string]event{}
	acked := map[string]bool{}
	for round := range rounds {
		if round > 0 {
			start := time.Now()
			c = startChild(t, dir, flags...)
			t.Logf("round %d: restarted in %s", round, time.Since(start).Round(time.Millisecond))
		}
		batch := unacked(events, acked)
		for i := range perRound {
			n := round*perRound + i
			show := roomy
			if rng.IntN(4) == 0 {
				show = tight
			}
			ev := newEvent(fmt.Sprintf("msg_crashpg_%05d", n), fmt.Sprintf("ord_crashpg_%05d", n), show, 1+rng.IntN(3))
			events[ev.ID] = ev
			batch = append(batch, ev)
		}
		batch = append(batch, someAcked(rng, events, acked, 10)...) // a provider's spurious retries
		rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		killAt := rng.IntN(len(batch))
		got := burst(snd, c, batch, workers, killAt)
		for id := range got {
			acked[id] = true
		}
		t.Logf("round %d: %d webhooks, killed as the %dth went out, %d got a 2xx", round, len(batch), killAt+1, len(got))
	}

	start := time.Now()
	c = startChild(t, dir, flags...)
	t.Logf("last start took %s", time.Since(start).Round(time.Millisecond))
	resendUntilAccepted(t, snd, c.url, unacked(events, acked))
	// One more order per partition, sent last: once they are applied,
	// everything accepted before them is.
	var sentinels []event
	for p := 0; len(sentinels) < partitions; p++ {
		ev := newEvent(fmt.Sprintf("msg_pg_sentinel_%d", p), fmt.Sprintf("ord_pg_sentinel_%d", p), roomy, 1)
		if queue.Partition(ev.OrderID, partitions) == len(sentinels) {
			sentinels = append(sentinels, ev)
			events[ev.ID] = ev
		}
	}
	resendUntilAccepted(t, snd, c.url, sentinels)
	for _, ev := range sentinels {
		waitOrder(t, client, c.url, ev.OrderID)
	}
	t.Logf("every partition drained %s after the last start", time.Since(start).Round(time.Millisecond))
	c.stop()
	s := readPostgres(t, pgURL)
	t.Logf("%d events, %d acknowledged before the last start; the store holds %d dedupe records, %d orders, %d tickets",
		len(events), len(acked), len(s.outcomes), len(s.orders), s.feedEntries)
	checkExactlyOnce(t, s, events, map[string]bool{roomy: true})
}

// masterKeyFile writes a fresh master key, which usher requires with
// PostgreSQL, and returns its path.
func masterKeyFile(t *testing.T) string {
	t.Helper()
	var key [32]byte
	_, _ = cryptorand.Read(key[:])
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key[:])), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readPostgres reads what a stopped usher left in its PostgreSQL schema.
func readPostgres(t *testing.T, pgURL string) storeState {
	t.Helper()
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer db.Close()
	s := readState(t, db)
	s.integrity = integrityUnchecked
	return s
}
