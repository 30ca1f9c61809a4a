package clustertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestThroughput measures accepted/s and processed/s of the scaled-out
// deployment with one and with two processors, and of the embedded default
// (one process, embedded NATS, SQLite) under the same load, in one run.
// Opt-in: USHER_CLUSTER_BENCH=1 (size: USHER_CLUSTER_SIZE orders).
func TestThroughput(t *testing.T) {
	if os.Getenv("USHER_CLUSTER_BENCH") == "" {
		t.Skip("set USHER_CLUSTER_BENCH=1 to measure throughput (docs/benchmarks.md)")
	}
	n := clusterSize(t)
	t.Logf("| deployment | webhooks | accepted/s | processed/s |")
	t.Logf("|---|---|---|---|")
	for _, processors := range []int{1, 2} {
		d := deploy(t)
		if processors == 1 {
			d.process[1].Kill()
		}
		d.measure(fmt.Sprintf("R3 NATS ×3 + PostgreSQL, 2 ingest, %d process", processors), n)
	}
	d := embedded(t)
	d.measure("embedded default (1 process, SQLite)", n)
}

// embedded runs one default usher (embedded NATS, SQLite) as the only
// receiver; its store is read with the same checks through `usher check`.
func embedded(t *testing.T) *deployment {
	t.Helper()
	ports, err := FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	u := NewUsher(built.usher, "embedded", "127.0.0.1:"+strconv.Itoa(ports[0]), filepath.Join(t.TempDir(), "embedded"),
		"--admin-token", adminToken, "--log-format", "text")
	d := &deployment{t: t, ingest: []*Usher{u}, client: deployClient()}
	d.start(u)
	t.Cleanup(u.Kill)
	d.source, d.key = credentials(t, u.DataDir)
	d.putCapacity("demo-show", 1_000_000)
	return d
}

// measure sends n orders and reports the rates: accepted/s over the send
// time, processed/s from the first send to the last webhook applied.
func (d *deployment) measure(name string, n int) {
	d.t.Helper()
	start := time.Now()
	r := d.burst(fmt.Sprintf("tp%d", start.UnixNano()), n, nil)
	sent := time.Since(start)
	d.waitProcessed(2*n, d.ingest[0])
	done := time.Since(start)
	d.t.Logf("| %s | %d | %.0f | %.0f |", name, 2*n, float64(2*len(r.orders))/sent.Seconds(), float64(2*n)/done.Seconds())
}
