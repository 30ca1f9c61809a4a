package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/ushertest"
)

var metricName = regexp.MustCompile(`\busher_[a-z0-9_]+`)

// usedMetricNames returns every usher_ metric name the rules and the
// dashboard query, histogram series reduced to their family.
func usedMetricNames(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	files, _ := filepath.Glob("prometheus/usher-*.yml")
	files = append(files, "grafana/usher.json")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.yml") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if strings.HasSuffix(f, ".json") {
			var d struct {
				Panels []struct{ Targets []struct{ Expr string } }
			}
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			text = ""
			for _, p := range d.Panels {
				for _, tg := range p.Targets {
					text += tg.Expr + "\n"
				}
			}
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, "runbook_url") || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			for _, n := range metricName.FindAllString(line, -1) {
				used[n] = append(used[n], f)
			}
		}
	}
	return used
}

// TestRulesAndDashboardQueryRealMetrics: every metric name in the rules and
// the dashboard is served by a running usher, with samples. The test drives
// what each family counts first (see driveEveryFamily): an order.paid,
// deliveries that fail into retries and a dead letter, a feed read and a
// feed stream, an online scan and an offline duplicate entry. A family that
// cannot be driven in a test must be named in declaredOnly with the reason,
// and declared under that name in usher's sources.
func TestRulesAndDashboardQueryRealMetrics(t *testing.T) {
	s := ushertest.Start(t)
	scrape := driveEveryFamily(t, s)
	registered := declaredNames(t)
	for name, where := range usedMetricNames(t) {
		family := name
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(registered, base) {
				family = base
			}
		}
		reason, declaredOnly := declaredOnly[family]
		switch {
		case strings.Contains(scrape, "\n"+name+"{") || strings.Contains(scrape, "\n"+name+" "):
		case declaredOnly && slices.Contains(registered, family):
			t.Logf("%s: no sample (%s); declared in the sources", name, reason)
		case slices.Contains(registered, family):
			t.Errorf("%s (used in %v) is declared but has no sample after the traffic of driveEveryFamily", name, slices.Compact(where))
		default:
			t.Errorf("%s (used in %v) is not exported by usher", name, slices.Compact(where))
		}
	}
}

// declaredOnly are the families the rules or the dashboard use that a test
// cannot give a sample, with the reason.
var declaredOnly = map[string]string{}

// declaredNames returns the quoted usher_ names declared in usher's Go
// sources outside tests: the families a running usher registers.
func declaredNames(t *testing.T) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir("../internal", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`"(usher_[a-z0-9_]+)"`).FindAllStringSubmatch(string(raw), -1) {
			names = append(names, m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
