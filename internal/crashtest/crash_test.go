package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/queue"
)

// TestKill9DuringBurst kills usher with SIGKILL at a random moment of each of
// several bursts, restarts it on the same data directory and resends what
// got no 2xx, as a provider would, plus some of what did. In the end every
// acknowledged webhook must be applied exactly once and no show oversold.
func TestKill9DuringBurst(t *testing.T) {
	t.Parallel()
	const (
		rounds        = 4
		perRound      = 150
		workers       = 16
		roomy         = "crash-roomy"
		tight         = "crash-tight"
		tightCapacity = 40
		partitions    = 4 // startChild's --partitions
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	dir := t.TempDir()
	client := newClient()
	c := startChild(t, dir)
	source, key := credentials(t, dir)
	putCapacity(t, client, c.url, roomy, 1_000_000)
	putCapacity(t, client, c.url, tight, tightCapacity)
	snd := newSender(client, source, key)

	events := map[string]event{}
	acked := map[string]bool{}
	next := 0
	newEvents := func(n int) []event {
		out := make([]event, n)
		for i := range out {
			show := roomy
			if rng.IntN(4) == 0 {
				show = tight
			}
			out[i] = newEvent(fmt.Sprintf("msg_crash_%05d", next), fmt.Sprintf("ord_crash_%05d", next), show, 1+rng.IntN(3))
			events[out[i].ID] = out[i]
			next++
		}
		return out
	}

	for round := range rounds {
		if round > 0 {
			start := time.Now()
			c = startChild(t, dir)
			t.Logf("round %d: restarted in %s", round, time.Since(start).Round(time.Millisecond))
		}
		batch := unacked(events, acked)
		batch = append(batch, newEvents(perRound)...)
		batch = append(batch, someAcked(rng, events, acked, 10)...) // a provider's spurious retries
		rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		killAt := rng.IntN(len(batch))
		got := burst(snd, c, batch, workers, killAt)
		n := 0
		for id := range got {
			acked[id] = true
			n++
		}
		t.Logf("round %d: %d webhooks, killed as the %dth went out, %d got a 2xx", round, len(batch), killAt+1, n)
	}

	// The last start: resend until everything is acknowledged, then wait for
	// one more order per partition, sent last: a partition applies in order,
	// so once these exist, everything accepted before them has been applied.
	start := time.Now()
	c = startChild(t, dir)
	t.Logf("last start took %s", time.Since(start).Round(time.Millisecond))
	resendUntilAccepted(t, snd, c.url, unacked(events, acked))
	t.Logf("resent the rest after %s", time.Since(start).Round(time.Millisecond))
	var sentinels []event
	for p := 0; len(sentinels) < partitions; p++ {
		ev := newEvent(fmt.Sprintf("msg_sentinel_%d", p), fmt.Sprintf("ord_sentinel_%d", p), roomy, 1)
		if queue.Partition(ev.OrderID, partitions) == len(sentinels) {
			sentinels = append(sentinels, ev)
			events[ev.ID] = ev
		}
	}
	resendUntilAccepted(t, snd, c.url, sentinels)
	for _, ev := range sentinels {
		waitOrder(t, client, c.url, ev.OrderID)
	}
	// After a SIGKILL the embedded consumer is recreated from the oldest
	// unapplied message, so a partition resumes at once and in order.
	t.Logf("every partition drained %s after the last start", time.Since(start).Round(time.Millisecond))
	c.stop()
	checkExactlyOnce(t, readStore(t, dir), events, map[string]bool{roomy: true})
}

// burst sends batch with workers concurrent senders and kills the child as
// batch[killAt] goes out, with requests in flight and batches being applied.
// It returns the ids that got a 2xx.
func burst(snd *sender, c *child, batch []event, workers int, killAt int) map[string]bool {
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		wg    sync.WaitGroup
	)
	todo := make(chan event)
	for range workers {
		wg.Go(func() {
			for ev := range todo {
				if snd.send(context.Background(), c.url, ev).accepted() {
					mu.Lock()
					acked[ev.ID] = true
					mu.Unlock()
				}
			}
		})
	}
	killed := make(chan struct{})
	for i, ev := range batch {
		if i == killAt {
			go func() {
				c.kill()
				close(killed)
			}()
		}
		todo <- ev
	}
	close(todo)
	wg.Wait()
	<-killed
	return acked
}

// resendUntilAccepted sends each event until it gets a 2xx.
func resendUntilAccepted(t *testing.T, snd *sender, baseURL string, evs []event) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a guard against a hang, not a timing assertion
	for _, ev := range evs {
		for {
			r := snd.send(context.Background(), baseURL, ev)
			if r.accepted() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("event %s never accepted; last reply %s", ev.ID, r)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// waitOrder waits until the admin API shows the order.
func waitOrder(t *testing.T, client *http.Client, baseURL, orderID string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, err := admin(context.Background(), client, baseURL, http.MethodGet, "/v1/orders/"+orderID, nil, nil)
		if err == nil && status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s not applied: last answer %d, %v", orderID, status, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func unacked(events map[string]event, acked map[string]bool) []event {
	var out []event
	for id, ev := range events {
		if !acked[id] {
			out = append(out, ev)
		}
	}
	return out
}

func someAcked(rng *rand.Rand, events map[string]event, acked map[string]bool, n int) []event {
	var out []event
	for id := range acked {
		if len(out) == n {
			break
		}
		if rng.IntN(2) == 0 {
			out = append(out, events[id])
		}
	}
	return out
}
