package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/loadgen"
	"github.com/usherhq/usher/internal/queue"
)

// onSaleBurst is how long each burst of TestKill9DuringOnSaleBurst may last
// before its kill: a few seconds in CI, more from USHER_CRASH_BURST (a Go
// duration, e.g. 60s for the full on-sale burst of `usher bench --on-sale`).
func onSaleBurst(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("USHER_CRASH_BURST")
	if v == "" {
		return 3 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("USHER_CRASH_BURST=%q: want a positive Go duration", v)
	}
	return d
}

// TestKill9DuringOnSaleBurst runs the on-sale burst of `usher bench
// --on-sale` (the load generator at the maximum rate, 10% duplicates)
// against usher as a child process, kills it with SIGKILL at a random
// moment of each burst while the processor drains its backlog, restarts it
// on the same data directory and resends what got no 2xx. One show has
// seats to spare, the other sells out during the first burst. In the end
// every acknowledged webhook is applied once, no show is oversold, and
// `usher check` passes on the data directory.
func TestKill9DuringOnSaleBurst(t *testing.T) {
	t.Parallel()
	const (
		rounds        = 2
		roomy         = "onsale-roomy"
		tight         = "onsale-tight"
		tightCapacity = 150
		partitions    = 4 // startChild's --partitions
	)
	burstFor := onSaleBurst(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, bursts of up to %s", seed, burstFor)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	dir := t.TempDir()
	client := newClient()
	c := startChild(t, dir)
	source, key := credentials(t, dir)
	putCapacity(t, client, c.url, roomy, 10_000_000)
	putCapacity(t, client, c.url, tight, tightCapacity)
	snd := newSender(client, source, key)
	seen := newSeenEvents()

	for round := range rounds {
		if round > 0 {
			start := time.Now()
			c = startChild(t, dir)
			t.Logf("round %d: restarted in %s", round, time.Since(start).Round(time.Millisecond))
		}
		// Resend what the last kill left unacknowledged, as providers do,
		// and some of what was acknowledged (spurious retries), while the
		// new burst comes in.
		retry := append(seen.unacked(), seen.someAcked(rng, 20)...)
		killAfter := time.Duration((0.3 + 0.6*rng.Float64()) * float64(burstFor))
		res := onSaleRound(t, c, key.Key, source, []string{roomy, tight}, killAfter, seen, func() {
			for _, ev := range retry {
				seen.note(ev, snd.send(context.Background(), c.url, ev).accepted())
			}
		})
		t.Logf("round %d: killed after %s: %d requests, %d acknowledged (%.0f/s), %d distinct events so far, %d unacknowledged",
			round, killAfter.Round(time.Millisecond), res.Requests, res.Accepted, float64(res.Accepted)/killAfter.Seconds(), seen.len(), len(seen.unacked()))
	}

	start := time.Now()
	c = startChild(t, dir)
	resendUntilAccepted(t, snd, c.url, seen.unacked())
	events := seen.all()
	var sentinels []event
	for p := 0; len(sentinels) < partitions; p++ {
		ev := newEvent(fmt.Sprintf("msg_onsale_sentinel_%d", p), fmt.Sprintf("ord_onsale_sentinel_%d", p), roomy, 1)
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
	s := readStore(t, dir)
	checkExactlyOnce(t, s, events, map[string]bool{roomy: true})
	if s.sold[tight] != tightCapacity {
		t.Logf("show %s: %d of %d seats sold (the bursts were too short to sell it out)", tight, s.sold[tight], tightCapacity)
	}
	check := exec.Command(usherBin, "check", "--data-dir", dir)
	check.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("usher check: %v\n%s", err, out)
	}
}

// onSaleRound runs one burst: a load generator per show at the maximum
// rate, alongside, the retries of earlier rounds; it kills the child after
// killAfter and stops the load.
func onSaleRound(t *testing.T, c *child, secret []byte, source string, shows []string, killAfter time.Duration, seen *seenEvents, retries func()) loadgen.Result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total loadgen.Result
	)
	for _, show := range shows {
		cfg := loadgen.Config{
			URL: c.url, Source: source, Secret: secret, Show: show, Venue: "crash-venue", TicketType: "GA",
			Peak: 10 * killAfter, Workers: 32, DuplicateRatio: 0.1,
			Observe: func(id string, body []byte, status int, err error) {
				seen.observe(t, id, body, err == nil && status >= 200 && status < 300)
			},
		}
		wg.Go(func() {
			res, _ := loadgen.Run(ctx, cfg) // ends with the context's error: the kill stops it
			mu.Lock()
			total.Requests += res.Requests
			total.Accepted += res.Accepted
			mu.Unlock()
		})
	}
	wg.Go(retries)
	time.Sleep(killAfter)
	c.kill()
	cancel()
	wg.Wait()
	return total
}

// seenEvents is every webhook sent so far and whether it was acknowledged.
type seenEvents struct {
	mu     sync.Mutex
	events map[string]event
	acked  map[string]bool
}

func newSeenEvents() *seenEvents {
	return &seenEvents{events: map[string]event{}, acked: map[string]bool{}}
}

// observe notes a request of the load generator, whose body is an
// order.paid of one seat.
func (s *seenEvents) observe(t *testing.T, id string, body []byte, acked bool) {
	var env struct {
		Type string `json:"type"`
		Data struct {
			OrderID string `json:"order_id"`
			ShowID  string `json:"show_id"`
			Items   []struct {
				Quantity int `json:"quantity"`
			} `json:"items"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Type != "order.paid" || len(env.Data.Items) != 1 {
		t.Errorf("load generator sent %s: %.200s (%v); want an order.paid of one item", id, body, err)
		return
	}
	s.note(event{ID: id, OrderID: env.Data.OrderID, Show: env.Data.ShowID, Quantity: env.Data.Items[0].Quantity, Body: body}, acked)
}

func (s *seenEvents) note(ev event, acked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events[ev.ID] = ev
	if acked {
		s.acked[ev.ID] = true
	}
}

func (s *seenEvents) unacked() []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return unacked(s.events, s.acked)
}

func (s *seenEvents) someAcked(rng *rand.Rand, n int) []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return someAcked(rng, s.events, s.acked, n)
}

func (s *seenEvents) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

func (s *seenEvents) all() map[string]event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]event, len(s.events))
	for id, ev := range s.events {
		out[id] = ev
	}
	return out
}
