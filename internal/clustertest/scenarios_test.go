package clustertest

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// applyTimeout bounds the wait for a burst's backlog after the senders end.
const applyTimeout = 3 * time.Minute

// processedBy sums usher_processed_events_total on one process's /metrics.
func (d *deployment) processedBy(u *Usher) float64 {
	d.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u.URL+"/metrics", nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken) // /metrics needs metrics:read
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatalf("metrics of %s: %v", u.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("metrics of %s: %s", u.Name, resp.Status)
	}
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "usher_processed_events_total"); ok {
			f := strings.Fields(rest)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// TestSteadyBurstAcrossBothReceivers: both receivers acknowledge, both
// processors share the work, everything is applied exactly once in order.
func TestSteadyBurstAcrossBothReceivers(t *testing.T) {
	d := deploy(t)
	r := d.burst("steady", clusterSize(t), nil)
	evs := d.waitApplied(r, applyTimeout)
	d.verify(r, evs)
	a, b := d.processedBy(d.process[0]), d.processedBy(d.process[1])
	if a == 0 || b == 0 {
		t.Errorf("processed %v by %s and %v by %s: want both to share the partitions", a, d.process[0].Name, b, d.process[1].Name)
	}
	lat, gap, pgap := stall(evs)
	t.Logf("steady: %d webhooks; processed %v + %v; max ack→applied %s, longest pause %s, longest partition pause %s", 2*len(r.orders), a, b, lat, gap, pgap)
}

// TestProcessorKilledMidBurst: kill -9 of one processor; its partitions
// move to the other within seconds (the consumers' AckWait, 5s).
func TestProcessorKilledMidBurst(t *testing.T) {
	d := deploy(t)
	var killedAt time.Time
	r := d.burst("kill-proc", clusterSize(t), func() {
		killedAt = time.Now()
		d.process[0].Kill()
	})
	evs := d.waitApplied(r, applyTimeout)
	d.verify(r, evs)
	lat, gap, pgap := stall(evs)
	t.Logf("processor kill -9 at %s: max ack→applied %s, longest pause %s, longest partition pause %s", killedAt.Format(time.StampMilli), lat, gap, pgap)
	if after := d.processedBy(d.process[1]); after == 0 {
		t.Error("the surviving processor applied nothing")
	}
}

// TestNATSNodeKilledMidBurst: kill -9 of one of three NATS nodes; the R3
// stream keeps every acknowledged webhook and the work goes on.
func TestNATSNodeKilledMidBurst(t *testing.T) {
	d := deploy(t)
	r := d.burst("kill-nats", clusterSize(t), func() {
		d.nats.Nodes[0].Kill()
	})
	evs := d.waitApplied(r, applyTimeout)
	d.verify(r, evs)
	lat, gap, pgap := stall(evs)
	t.Logf("NATS node kill -9: max ack→applied %s, longest pause %s, longest partition pause %s", lat, gap, pgap)
}

// TestPostgresRestartedMidBurst: PostgreSQL goes away for a few seconds;
// receivers keep acknowledging into the stream, processing pauses and
// resumes.
func TestPostgresRestartedMidBurst(t *testing.T) {
	d := deploy(t)
	var down, up time.Time
	r := d.burst("pg-restart", clusterSize(t), func() {
		down = time.Now()
		if err := d.pg.Stop(); err != nil {
			t.Errorf("stop postgres: %v", err)
		}
		time.Sleep(3 * time.Second)
		up = time.Now()
		if err := d.pg.Start(); err != nil {
			t.Errorf("start postgres: %v", err)
		}
	})
	evs := d.waitApplied(r, applyTimeout)
	d.verify(r, evs)
	lat, gap, pgap := stall(evs)
	t.Logf("PostgreSQL restart: max ack→applied %s, longest pause %s, longest partition pause %s", lat, gap, pgap)
	if n := r.acksBetween(down.Add(500*time.Millisecond), up); n == 0 {
		t.Errorf("no webhook acknowledged while PostgreSQL was down (%s): the receivers should keep filling the stream", up.Sub(down))
	} else {
		t.Logf("PostgreSQL down %s: %d webhooks acknowledged meanwhile", up.Sub(down).Round(time.Millisecond), n)
	}
}

// TestRollingRestartUnderLoad: every usher process is stopped (SIGTERM)
// and started again, one after the other, while webhooks keep coming.
func TestRollingRestartUnderLoad(t *testing.T) {
	d := deploy(t)
	r := d.burst("rolling", clusterSize(t), func() {
		for _, u := range d.all() {
			if err := u.Stop(); err != nil {
				t.Errorf("stop %s: %v", u.Name, err)
			}
			if err := u.Start(); err != nil {
				t.Errorf("restart %s: %v", u.Name, err)
				return
			}
		}
	})
	evs := d.waitApplied(r, applyTimeout)
	d.verify(r, evs)
	lat, gap, pgap := stall(evs)
	t.Logf("rolling restart: max ack→applied %s, longest pause %s, longest partition pause %s", lat, gap, pgap)
}

// waitProcessed waits until the processors report n applied events in
// total (u's /metrics when it processes too, as the embedded default does).
func (d *deployment) waitProcessed(n int, u *Usher) {
	d.t.Helper()
	who := d.process
	if len(who) == 0 {
		who = []*Usher{u}
	}
	deadline := time.Now().Add(applyTimeout)
	for time.Now().Before(deadline) {
		var sum float64
		for _, p := range who {
			select {
			case <-p.proc.Exited():
				continue
			default:
			}
			sum += d.processedBy(p)
		}
		if sum >= float64(n) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("fewer than %d events processed after %s", n, applyTimeout)
}
