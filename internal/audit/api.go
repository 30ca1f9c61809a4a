package audit

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/httpjson"
	"github.com/usherhq/usher/internal/problem"
)

// API serves the audit log to operators.
type API struct {
	store Store
	log   *slog.Logger
}

// NewAPI returns the audit API over st; log receives the failures of the
// store.
func NewAPI(st Store, log *slog.Logger) *API { return &API{store: st, log: log} }

// Routes lists the audit routes with their scopes.
func (a *API) Routes() []auth.Route {
	return []auth.Route{
		{Method: http.MethodGet, Pattern: "/v1/audit", Scope: auth.ScopeAuditRead, Handler: a.handleList()},
	}
}

// Page is one page of GET /v1/audit. NextAfter, set when the page is full,
// is the after= of the next page; a page that is not full is the last.
type Page struct {
	Records   []usher.AuditRecord `json:"records"`
	NextAfter int64               `json:"next_after,omitempty"`
}

// handleList serves GET /v1/audit?order_id=&actor=&since=&after=&limit=.
func (a *API) handleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := parseFilter(r)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		recs, err := a.store.AuditLog(r.Context(), f)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		page := Page{Records: recs}
		if len(recs) == f.Limit {
			page.NextAfter = recs[len(recs)-1].Seq
		}
		respond(w, http.StatusOK, page)
	})
}

// respond writes v as JSON with the status.
func respond(w http.ResponseWriter, status int, v any) { httpjson.Respond(w, status, v) }

// parseFilter reads the query of GET /v1/audit; the limit is always set.
func parseFilter(r *http.Request) (usher.AuditFilter, error) {
	q := r.URL.Query()
	f := usher.AuditFilter{OrderID: q.Get("order_id"), Actor: q.Get("actor"), Limit: usher.DefaultAuditLimit}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, usher.Errorf(usher.CodeInvalid, "since %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", v)
		}
		f.Since = t
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, usher.Errorf(usher.CodeInvalid, "after %q: want a record seq, 0 or more", v)
		}
		f.After = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > usher.MaxAuditLimit {
			return f, usher.Errorf(usher.CodeInvalid, "limit %q: want 1 to %d", v, usher.MaxAuditLimit)
		}
		f.Limit = n
	}
	return f, nil
}
