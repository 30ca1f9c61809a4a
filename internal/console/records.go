package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/problem"
)

// sourceRow is a source with its secrets (never their values) and which
// keys its senders used in the last day.
type sourceRow struct {
	Source  usher.Source
	Secrets []usher.SourceSecret
	Usage   []usher.KeyUse
}

func (c *Console) sources(w http.ResponseWriter, r *http.Request, v *view) {
	ctx := r.Context()
	srcs, err := c.d.Store.Sources(ctx)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	var rows []sourceRow
	for _, s := range srcs {
		_, secrets, err := c.d.Store.Source(ctx, s.Name)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		for i := range secrets {
			secrets[i].Secret = nil // the page never holds a key
		}
		use, err := c.d.Store.KeyUsage(ctx, s.Name, c.d.Now().Add(-24*time.Hour))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		rows = append(rows, sourceRow{Source: s, Secrets: secrets, Usage: use})
	}
	c.render(w, r, "sources", v, map[string]any{"Rows": rows})
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	f := usher.AuditFilter{OrderID: q.Get("order_id"), Actor: q.Get("actor"), Limit: 200}
	if a, err := strconv.ParseInt(q.Get("after"), 10, 64); err == nil {
		f.After = a
	}
	recs, err := c.d.Store.AuditLog(r.Context(), f)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	report, err := audit.Verify(r.Context(), c.d.Store)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	next := int64(0)
	if len(recs) == f.Limit {
		next = recs[len(recs)-1].Seq
	}
	c.render(w, r, "audit", v, map[string]any{"Records": recs, "Verify": report, "Filter": f, "Next": next})
}
