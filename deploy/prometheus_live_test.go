package deploy

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/server"
)

// prometheusBinary finds Debian's prometheus: required in CI, a skip
// elsewhere.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("prometheus is required in CI (apt-get install prometheus): %v", err)
		}
		t.Skip("prometheus not installed (apt-get install prometheus)")
	}
	return bin
}

// startPrometheus runs prometheus on a free 127.0.0.1 port with config and
// returns its base URL once it is ready.
func startPrometheus(t *testing.T, config string) string {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", logs)
		}
	})
	base := "http://" + addr
	waitFor(t, time.Minute, "prometheus ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// promSample is one series of an instant query's answer.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// promQuery runs an instant query against Prometheus' HTTP API.
func promQuery(t *testing.T, base, query string) []promSample {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatalf("query %s: %v", query, err)
	}
	defer resp.Body.Close()
	var answer struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.Status != "success" {
		t.Fatalf("query %s: %v %s %s", query, err, answer.Status, answer.Error)
	}
	var out []promSample
	for _, r := range answer.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v", query, r.Value[1])
		}
		out = append(out, promSample{Metric: r.Metric, Value: v})
	}
	return out
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// prometheusConfig scrapes target's /metrics every second with the bearer
// token in tokenFile and evaluates usher's rule files every second.
func prometheusConfig(t *testing.T, target, tokenFile string) string {
	t.Helper()
	var rules []string
	for _, f := range []string{"usher-slo.yml", "usher-ops.yml", "usher-alerts.yml"} {
		abs, err := filepath.Abs(filepath.Join("prometheus", f))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, strconv.Quote(abs))
	}
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: usher
    authorization: {type: Bearer, credentials_file: %q}
    static_configs:
      - targets: [%q]
`, strings.Join(rules, ", "), tokenFile, target)
}

// TestPrometheusRecordsTheSLOsOfALiveUsher runs Debian's prometheus with
// usher's rule files, scraping a running `usher serve` with a metrics:read
// token, drives order.paid webhooks through usher and reads back over
// Prometheus' HTTP API the SLO recording rules and the freshness histogram.
func TestPrometheusRecordsTheSLOsOfALiveUsher(t *testing.T) {
	t.Parallel()
	prometheusBinary(t)
	u := startUsher(t)
	var tok struct{ Token string }
	if status := u.Admin(http.MethodPost, "/v1/tokens", map[string]any{"scopes": []string{"metrics:read"}, "description": "prometheus"}, &tok); status != http.StatusCreated || tok.Token == "" {
		t.Fatalf("POST /v1/tokens: %d", status)
	}
	tokenFile := filepath.Join(t.TempDir(), "usher.token")
	if err := os.WriteFile(tokenFile, []byte(tok.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	target, _ := strings.CutPrefix(u.URL, "http://")
	prom := startPrometheus(t, prometheusConfig(t, target, tokenFile))
	waitFor(t, time.Minute, "the first scrape of usher", func() bool {
		up := promQuery(t, prom, `up{job="usher"}`)
		return len(up) == 1 && up[0].Value == 1
	})
	const n = 30
	for i := range n {
		body, _ := json.Marshal(map[string]any{"type": "order.paid", "timestamp": time.Now().UTC().Format(time.RFC3339), "data": map[string]any{
			"order_id": fmt.Sprintf("ord_prom_%d", i), "show_id": server.DemoShow, "venue_id": server.DemoVenue,
			"items": []map[string]any{{"ticket_type": server.DemoTicketType, "quantity": 1}},
		}})
		if status := u.Send(usher.NewID("msg_"), body, nil); status != http.StatusAccepted {
			t.Fatalf("send %d: %d", i, status)
		}
		time.Sleep(50 * time.Millisecond) // spread over several scrapes
	}
	count := fmt.Sprintf(`usher_paid_to_feed_seconds_count{venue=%q}`, server.DemoVenue)
	waitFor(t, time.Minute, "every order.paid in the freshness histogram", func() bool {
		s := promQuery(t, prom, count)
		return len(s) == 1 && s[0].Value == n
	})
	want := map[string]func(float64) bool{
		// Every event was in the feed well within 30 s, every answer a 202.
		`usher:paid_to_feed_slo_errors:ratio_rate5m`:                                         func(v float64) bool { return v == 0 },
		`usher:paid_to_feed_slo_errors:ratio_rate1h`:                                         func(v float64) bool { return v == 0 },
		`usher:ingest_errors:ratio_rate5m`:                                                   func(v float64) bool { return v == 0 },
		`usher:ingest_errors:ratio_rate3d`:                                                   func(v float64) bool { return v == 0 },
		fmt.Sprintf(`usher:paid_to_feed_seconds:p99_5m{venue=%q}`, server.DemoVenue):         func(v float64) bool { return v > 0 && v < 30 },
		`usher:ingest_ack_seconds:p99_5m`:                                                    func(v float64) bool { return v > 0 && v < 30 },
		`usher:processing_lag_seconds:p99_5m`:                                                func(v float64) bool { return v > 0 && v < 30 },
		fmt.Sprintf(`usher_paid_to_feed_seconds_bucket{venue=%q,le="30"}`, server.DemoVenue): func(v float64) bool { return v == n },
	}
	for query, sane := range want {
		var got []promSample
		waitFor(t, time.Minute, query+" recorded", func() bool {
			got = promQuery(t, prom, query)
			return len(got) == 1 && !math.IsNaN(got[0].Value)
		})
		if !sane(got[0].Value) {
			t.Errorf("%s = %v: not a sane value after %d fast order.paid events", query, got[0].Value, n)
		}
		t.Logf("%s = %v", query, got[0].Value)
	}
	checkRulesHealthy(t, prom)
}

// checkRulesHealthy fails on any rule Prometheus could not evaluate.
func checkRulesHealthy(t *testing.T, prom string) {
	t.Helper()
	resp, err := http.Get(prom + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Data struct {
			Groups []struct {
				Name  string
				Rules []struct{ Name, Health, LastError string }
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	rules := 0
	for _, g := range answer.Data.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Health != "ok" {
				t.Errorf("rule %s/%s: health %q %s", g.Name, r.Name, r.Health, r.LastError)
			}
		}
	}
	if rules == 0 {
		t.Error("prometheus loaded no rule")
	}
}
