package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

// laneRow is one subscription as the lanes page shows it.
type laneRow struct {
	Sub         usher.Subscription
	Breaker     string
	Pending     int
	OpenDLQ     int
	LastSuccess time.Time
	LastFailure time.Time
	LastError   string
}

// Trouble reports whether the lane needs an operator.
func (l laneRow) Trouble() bool {
	return l.Sub.Status != usher.SubscriptionActive || (l.Breaker != "closed" && l.Breaker != "") || !l.Sub.FailingSince.IsZero()
}

func (c *Console) laneRows(r *http.Request) ([]laneRow, error) {
	ctx := r.Context()
	subs, err := c.d.Lanes.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	pending, err := c.d.Lanes.Pending(ctx)
	if err != nil {
		return nil, err
	}
	open, err := c.d.Store.OpenDeadLetters(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]laneRow, 0, len(subs))
	for _, s := range subs {
		row := laneRow{Sub: s, Breaker: c.d.Lanes.BreakerState(s.ID), Pending: pending[s.ID], OpenDLQ: open[s.ID]}
		// The last 50 attempts tell the last success and failure of a
		// lane that is delivering.
		attempts, err := c.d.Lanes.Attempts(ctx, usher.AttemptFilter{SubscriptionID: s.ID, Limit: 50})
		if err != nil {
			return nil, err
		}
		for _, a := range attempts {
			ok := a.StatusCode >= 200 && a.StatusCode < 300
			switch {
			case ok && row.LastSuccess.IsZero():
				row.LastSuccess = a.At
			case !ok && row.LastFailure.IsZero():
				row.LastFailure, row.LastError = a.At, a.Error
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (c *Console) lanes(w http.ResponseWriter, r *http.Request, v *view) {
	if c.d.Lanes == nil {
		c.render(w, r, "lanes", v, map[string]any{"Off": true})
		return
	}
	rows, err := c.laneRows(r)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	c.render(w, r, "lanes", v, map[string]any{"Rows": rows, "Now": c.d.Now()})
}

func (c *Console) pauseLane(resume bool) handler {
	return func(w http.ResponseWriter, r *http.Request, v *view) {
		if c.d.Lanes == nil {
			problem.Fail(w, r, usher.Errorf(usher.CodeNotImplemented, "delivery is off in this process"))
			return
		}
		id := r.PathValue("id")
		var err error
		verb := "paused"
		if resume {
			verb = "resumed"
			_, err = c.d.Lanes.ResumeSubscription(r.Context(), id)
		} else {
			_, err = c.d.Lanes.PauseSubscription(r.Context(), id)
		}
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		back(w, r, Prefix+"lanes", fmt.Sprintf("%s %s", verb, id))
	}
}

// replayLane delivers again what a subscription took since a time.
func (c *Console) replayLane(w http.ResponseWriter, r *http.Request, v *view) {
	if c.d.Lanes == nil {
		problem.Fail(w, r, usher.Errorf(usher.CodeNotImplemented, "delivery is off in this process"))
		return
	}
	since, err := parseWhen("since", r.PostFormValue("since"))
	if err == nil && since.IsZero() {
		err = usher.Errorf(usher.CodeInvalid, "since is required")
	}
	if err != nil {
		back(w, r, Prefix+"lanes", err.Error())
		return
	}
	res, err := c.d.Lanes.ReplaySubscription(r.Context(), r.PathValue("id"), since, time.Time{}, "", maxBulk)
	if err != nil {
		if usher.ErrorCode(err) == usher.CodeConflict {
			back(w, r, Prefix+"lanes", "not replayed: "+err.Error())
			return
		}
		problem.Fail(w, r, err)
		return
	}
	back(w, r, Prefix+"lanes", fmt.Sprintf("%s: %d events queued again, %d skipped", r.PathValue("id"), res.Replayed, res.Skipped))
}
