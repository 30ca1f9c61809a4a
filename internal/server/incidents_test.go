package server_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/admin"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestIncidentTagReplayClose: an incident tags the dead letters of a
// failing lane by filter and one delivery by ref; once the endpoint is
// fixed, replaying the incident delivers them all; closing it records a
// summary; the timeline is the audit trail of each step, by whom.
func TestIncidentTagReplayClose(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	var accept atomic.Bool
	rc := newDLVReceiver(t, func(int, *http.Request) int {
		if accept.Load() {
			return 0
		}
		return http.StatusBadRequest
	})
	sub := subscribe(t, s, map[string]any{"url": rc.URL, "event_types": []string{"ticket.issued"}})
	ids := emitEvents(t, s, "ticket.issued", "ord_inc_1", "ord_inc_2", "ord_inc_3")
	ushertest.Eventually(t, dlvWait, "3 dead letters", func() bool {
		dls, _, err := s.Store().SearchDeadLetters(context.Background(), usher.DeadLetterFilter{SubscriptionID: sub.ID, Limit: 10})
		return err == nil && len(dls) == 3
	})

	var in struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if st := s.Admin(http.MethodPost, "/v1/incidents", "", map[string]any{"title": "endpoint rejects", "description": "400s"}, &in); st != http.StatusCreated || in.Status != "open" {
		t.Fatalf("POST /v1/incidents: %d %+v", st, in)
	}
	var tag struct{ Matched, Added int }
	body := map[string]any{"kind": "dead_letter", "filter": map[string]any{"subscription_id": sub.ID, "order_id": "ord_inc_1"}}
	if st := s.Admin(http.MethodPost, "/v1/incidents/"+in.ID+"/tags", "", body, &tag); st != 200 || tag.Matched != 1 || tag.Added != 1 {
		t.Fatalf("tag by filter: %d %+v", st, tag)
	}
	body = map[string]any{"kind": "delivery", "ids": []string{sub.ID + "/" + ids[1]}}
	if st := s.Admin(http.MethodPost, "/v1/incidents/"+in.ID+"/tags", "", body, &tag); st != 200 || tag.Added != 1 {
		t.Fatalf("tag by id: %d %+v", st, tag)
	}

	accept.Store(true)
	var res struct{ Matched, Replayed, Skipped int }
	if st := s.Admin(http.MethodPost, "/v1/incidents/"+in.ID+"/replay", "", nil, &res); st != 200 || res.Matched != 2 || res.Replayed != 2 {
		t.Fatalf("replay: %d %+v, want the 2 tagged", st, res)
	}
	for _, id := range ids[:2] {
		ushertest.Eventually(t, dlvWait, "tagged event delivered", func() bool { return rc.byID()[id] == 2 })
	}
	if n := rc.byID()[ids[2]]; n != 1 {
		t.Errorf("the untagged event was sent %d times, want only its first attempt", n)
	}
	if st := s.Admin(http.MethodPost, "/v1/incidents/"+in.ID+"/close", "", map[string]any{"summary": "endpoint fixed, replayed"}, &in); st != 200 || in.Status != "closed" {
		t.Fatalf("close: %d %+v", st, in)
	}
	if st := s.Admin(http.MethodPost, "/v1/incidents/"+in.ID+"/tags", "", body, nil); st != http.StatusConflict {
		t.Errorf("tagging a closed incident: %d, want 409", st)
	}
	var detail struct {
		Items    []usher.IncidentTag `json:"items"`
		Timeline []usher.AuditRecord `json:"timeline"`
	}
	if st := s.Admin(http.MethodGet, "/v1/incidents/"+in.ID, "", nil, &detail); st != 200 || len(detail.Items) != 2 {
		t.Fatalf("GET incident: %d %+v", st, detail)
	}
	checkTimeline(t, detail.Timeline, s.AdminTokenID())
}

// checkTimeline: the audit records of the incident, in order, by whom.
func checkTimeline(t *testing.T, timeline []usher.AuditRecord, tokenID string) {
	t.Helper()
	var actions []string
	for _, r := range timeline {
		actions = append(actions, r.Action+" by "+r.Actor)
	}
	by := " by token:" + tokenID // the bootstrap token is a stored token like any other
	want := []string{"incident.created" + by, "incident.tagged" + by, "incident.tagged" + by, "incident.replayed" + by, "incident.closed" + by}
	if len(actions) != len(want) {
		t.Fatalf("timeline %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("timeline %v, want %v", actions, want)
		}
	}
}

// TestIncidentScopes: dlq:read lists incidents but cannot open one.
func TestIncidentScopes(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	_, secret, err := admin.IssueToken(context.Background(), s.Store(), usher.Token{Scopes: []string{auth.ScopeDLQRead}, Description: "ro", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Admin(http.MethodGet, "/v1/incidents", secret, nil, nil); st != 200 {
		t.Errorf("GET /v1/incidents with dlq:read: %d", st)
	}
	if st := s.Admin(http.MethodPost, "/v1/incidents", secret, map[string]any{"title": "x"}, nil); st != http.StatusForbidden {
		t.Errorf("POST /v1/incidents with dlq:read: %d, want 403", st)
	}
	if st := s.Admin(http.MethodPost, "/v1/incidents", "", map[string]any{"title": " "}, nil); st != http.StatusBadRequest {
		t.Errorf("POST /v1/incidents without a title: %d, want 400", st)
	}
}
