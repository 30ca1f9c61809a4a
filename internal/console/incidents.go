package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/incident"
	"github.com/usherhq/usher/internal/problem"
)

func (c *Console) incidentsOff(w http.ResponseWriter, r *http.Request) bool {
	if c.d.Incidents == nil {
		problem.Fail(w, r, usher.Errorf(usher.CodeNotImplemented, "incidents are off in this process"))
		return true
	}
	return false
}

func (c *Console) incidents(w http.ResponseWriter, r *http.Request, v *view) {
	if c.incidentsOff(w, r) {
		return
	}
	list, err := c.d.Incidents.List(r.Context(), r.URL.Query().Get("status"), 200)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	c.render(w, r, "incidents", v, map[string]any{"List": list})
}

func (c *Console) createIncident(w http.ResponseWriter, r *http.Request, v *view) {
	if c.incidentsOff(w, r) {
		return
	}
	in, err := c.d.Incidents.Create(r.Context(), r.PostFormValue("title"), r.PostFormValue("description"))
	if err != nil {
		if usher.ErrorCode(err) == usher.CodeInvalid {
			back(w, r, Prefix+"incidents", err.Error())
			return
		}
		problem.Fail(w, r, err)
		return
	}
	back(w, r, Prefix+"incidents/"+in.ID, "opened "+in.ID)
}

func (c *Console) incident(w http.ResponseWriter, r *http.Request, v *view) {
	if c.incidentsOff(w, r) {
		return
	}
	d, err := c.d.Incidents.Detail(r.Context(), r.PathValue("id"))
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	c.render(w, r, "incident", v, map[string]any{"D": d, "Open": d.Status == usher.IncidentOpen, "Filters": filterFields})
}

// tagIncident tags the dead letters a search filter selects, or the items
// named one per line.
func (c *Console) tagIncident(w http.ResponseWriter, r *http.Request, v *view) {
	if c.incidentsOff(w, r) {
		return
	}
	id := r.PathValue("id")
	req := incident.TagRequest{Kind: r.PostFormValue("kind")}
	if ids := splitLines(r.PostFormValue("ids")); len(ids) > 0 {
		req.IDs = ids
	} else {
		get := r.PostFormValue
		req.Filter = incident.Filter{Stage: get("stage"), Source: get("source"), SubscriptionID: get("subscription_id"), Type: get("type"),
			OrderID: get("order_id"), VenueID: get("venue_id"), Reason: get("reason"), Error: get("error"), Since: get("since"), Until: get("until")}
	}
	res, err := c.d.Incidents.Tag(r.Context(), id, req)
	if err != nil {
		if code := usher.ErrorCode(err); code == usher.CodeInvalid || code == usher.CodeConflict {
			back(w, r, Prefix+"incidents/"+id, "not tagged: "+err.Error())
			return
		}
		problem.Fail(w, r, err)
		return
	}
	back(w, r, Prefix+"incidents/"+id, fmt.Sprintf("tagged %d (%d new)", res.Matched, res.Added))
}

func (c *Console) replayIncident(w http.ResponseWriter, r *http.Request, v *view) {
	if c.incidentsOff(w, r) {
		return
	}
	id := r.PathValue("id")
	res, err := c.d.Incidents.Replay(r.Context(), id)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	back(w, r, Prefix+"incidents/"+id, fmt.Sprintf("replayed %d of %d, %d skipped", res.Replayed, res.Matched, res.Skipped))
}

func (c *Console) closeIncident(w http.ResponseWriter, r *http.Request, v *view) {
	if c.incidentsOff(w, r) {
		return
	}
	id := r.PathValue("id")
	if _, err := c.d.Incidents.Close(r.Context(), id, r.PostFormValue("summary")); err != nil {
		if code := usher.ErrorCode(err); code == usher.CodeInvalid || code == usher.CodeConflict {
			back(w, r, Prefix+"incidents/"+id, "not closed: "+err.Error())
			return
		}
		problem.Fail(w, r, err)
		return
	}
	back(w, r, Prefix+"incidents/"+id, "closed "+id)
}

func splitLines(s string) []string {
	return strings.Fields(s)
}
