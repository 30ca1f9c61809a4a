package drill_test

import (
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/drill"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestVenueOutageDrillSmall runs the game-day drill at a small size against
// the whole program in-process and requires every check to pass.
func TestVenueOutageDrillSmall(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	var progress strings.Builder
	rep, err := drill.Run(t.Context(), drill.Config{
		Venues: 1, Scanners: 2, Orders: 16, RefundRatio: 0.25, DuplicateRatio: 0.25,
		Doors: 30 * time.Minute, OutageStart: 5 * time.Minute, Outage: 12 * time.Minute, Tick: 30 * time.Second,
		Seed: 4, Progress: &progress, // a seed whose outage has both kinds of conflict
	}, drill.Target{URL: s.URL(), AdminToken: ushertest.AdminToken, Source: s.Source, Secret: s.Secret.Key, Store: s.Store()})
	if err != nil {
		t.Fatalf("drill: %v\n%s", err, progress.String())
	}
	var out strings.Builder
	rep.Print(&out)
	t.Log("\n" + out.String())
	if !rep.OK() {
		t.Fatalf("drill failed its checks:\n%s", out.String())
	}
	if rep.OfflineScans == 0 || rep.Uploaded != rep.OfflineScans || rep.Downloaded == 0 || rep.CatchUp <= 0 {
		t.Errorf("the outage did not happen as scripted: %+v", rep)
	}
	if rep.FreshnessIssued.N == 0 || rep.CommitLag.N == 0 || rep.ServerFreshness.N == 0 {
		t.Errorf("freshness not measured: %+v %+v %+v", rep.FreshnessIssued, rep.CommitLag, rep.ServerFreshness)
	}
	if rep.DuplicateEntries == 0 || rep.AdmittedWhileRevoked == 0 {
		t.Errorf("the drill's outage made %d duplicate entries and %d admissions while revoked, want some of each", rep.DuplicateEntries, rep.AdmittedWhileRevoked)
	}
}
