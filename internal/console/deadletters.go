package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/problem"
)

// filterFields are the dead-letter search fields, in form order.
var filterFields = []string{"stage", "source", "subscription_id", "type", "order_id", "venue_id", "reason", "error", "since", "until"}

// maxBulk bounds one bulk replay, as the API's limit does.
const maxBulk = 10000

// parseWhen reads an RFC 3339 time or a browser's datetime-local (UTC).
func parseWhen(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usher.Errorf(usher.CodeInvalid, "%s %q: want a time such as 2026-01-02T15:04", field, v)
}

func dlFilter(get func(string) string) (usher.DeadLetterFilter, error) {
	f := usher.DeadLetterFilter{Stage: get("stage"), Source: get("source"), SubscriptionID: get("subscription_id"), Type: get("type"),
		OrderID: get("order_id"), VenueID: get("venue_id"), Reason: get("reason"), Error: get("error"), State: get("state")}
	var err error
	if f.Since, err = parseWhen("since", get("since")); err != nil {
		return f, err
	}
	f.Until, err = parseWhen("until", get("until"))
	return f, err
}

func filterValues(get func(string) string) url.Values {
	q := url.Values{}
	for _, k := range append(filterFields, "state") {
		if v := get(k); v != "" {
			q.Set(k, v)
		}
	}
	return q
}

type deadLettersPage struct {
	Filter  url.Values
	Items   []usher.DeadLetterRecord
	Next    string
	Error   string
	Filters []string
}

func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	page := deadLettersPage{Filter: filterValues(q.Get), Filters: filterFields}
	f, err := dlFilter(q.Get)
	if err == nil {
		f.Cursor, f.Limit = q.Get("cursor"), 50
		page.Items, page.Next, err = c.d.Store.SearchDeadLetters(r.Context(), f)
	}
	if err != nil {
		if usher.ErrorCode(err) != usher.CodeInvalid {
			problem.Fail(w, r, err)
			return
		}
		page.Error = err.Error()
	}
	c.render(w, r, "deadletters", v, page)
}

func (c *Console) replayOne(w http.ResponseWriter, r *http.Request, v *view) {
	if c.d.Lanes == nil {
		problem.Fail(w, r, usher.Errorf(usher.CodeNotImplemented, "delivery is off in this process"))
		return
	}
	to := Prefix + "dead-letters?" + r.PostFormValue("return")
	dl, err := c.d.Lanes.ReplayDeadLetter(r.Context(), r.PathValue("id"))
	if err != nil {
		if code := usher.ErrorCode(err); code == usher.CodeConflict || code == usher.CodeNotFound || code == usher.CodeNotImplemented {
			back(w, r, to, "not replayed: "+err.Error())
			return
		}
		problem.Fail(w, r, err)
		return
	}
	back(w, r, to, fmt.Sprintf("replayed %s (event %s)", dl.ID, dl.EventID))
}

type confirmPage struct {
	Filter url.Values
	Count  int
	More   bool
}

// bulkReplay counts what a filter selects and asks for confirmation; once
// confirmed it starts the replay in the background and shows its progress.
func (c *Console) bulkReplay(w http.ResponseWriter, r *http.Request, v *view) {
	if c.d.Lanes == nil {
		problem.Fail(w, r, usher.Errorf(usher.CodeNotImplemented, "delivery is off in this process"))
		return
	}
	f, err := dlFilter(r.PostFormValue)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	f.State = usher.DeadLettersOpen
	if f == (usher.DeadLetterFilter{State: usher.DeadLettersOpen}) {
		problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "name a filter before a bulk replay"))
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		n, more, err := c.count(r.Context(), f)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		c.render(w, r, "confirm", v, confirmPage{Filter: filterValues(r.PostFormValue), Count: n, More: more})
		return
	}
	// The job outlives the request and ends with the console; it keeps the
	// caller so that the audit trail names who replayed.
	id := c.jobs.start(c, auth.WithPrincipal(c.life, v.P), f)
	http.Redirect(w, r, Prefix+"replays/"+id, http.StatusSeeOther)
}

// count is the dry run of a bulk replay: how many open dead letters the
// filter selects, up to maxBulk.
func (c *Console) count(ctx context.Context, f usher.DeadLetterFilter) (int, bool, error) {
	n := 0
	for {
		f.Limit = 500
		page, next, err := c.d.Store.SearchDeadLetters(ctx, f)
		if err != nil {
			return 0, false, err
		}
		n += len(page)
		if next == "" {
			return n, false, nil
		}
		if n >= maxBulk {
			return maxBulk, true, nil
		}
		f.Cursor = next
	}
}

// jobState is what the progress page shows of a bulk replay.
type jobState struct {
	Filter   string
	Matched  int
	Replayed int
	Skipped  int
	Done     bool
	Err      string
}

// job is a bulk replay running in the background.
type job struct {
	mu sync.Mutex
	jobState
}

type jobs struct {
	mu sync.Mutex
	m  map[string]*job
}

func newJobs() *jobs { return &jobs{m: map[string]*job{}} }

func (j *jobs) start(c *Console, ctx context.Context, f usher.DeadLetterFilter) string {
	id := randomID()[:16]
	jb := &job{jobState: jobState{Filter: fmt.Sprintf("%+v", f)}}
	j.mu.Lock()
	j.m[id] = jb
	j.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.runJob(ctx, jb, f)
	}()
	return id
}

// runJob replays page by page so that its progress can be shown.
func (c *Console) runJob(ctx context.Context, jb *job, f usher.DeadLetterFilter) {
	var err error
	for total := 0; total < maxBulk; {
		f.Limit = 100
		res, e := c.d.Lanes.ReplayDeadLetters(ctx, f)
		jb.mu.Lock()
		jb.Matched, jb.Replayed, jb.Skipped = jb.Matched+res.Matched, jb.Replayed+res.Replayed, jb.Skipped+res.Skipped
		jb.mu.Unlock()
		total += res.Matched
		if err = e; err != nil || res.NextCursor == "" || res.Matched == 0 {
			break
		}
		f.Cursor = res.NextCursor
	}
	jb.mu.Lock()
	jb.Done = true
	if err != nil {
		jb.Err = err.Error()
	}
	jb.mu.Unlock()
}

func (j *jobs) get(id string) (jobState, bool) {
	j.mu.Lock()
	jb, ok := j.m[id]
	j.mu.Unlock()
	if !ok {
		return jobState{}, false
	}
	jb.mu.Lock()
	defer jb.mu.Unlock()
	return jb.jobState, true
}

func (c *Console) replayProgress(w http.ResponseWriter, r *http.Request, v *view) {
	jb, ok := c.jobs.get(r.PathValue("job"))
	if !ok {
		problem.Fail(w, r, usher.Errorf(usher.CodeNotFound, "no bulk replay %s in this process", r.PathValue("job")))
		return
	}
	c.render(w, r, "progress", v, jb)
}
