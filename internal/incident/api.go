package incident

import (
	"log/slog"
	"net/http"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/httpjson"
	"github.com/usherhq/usher/internal/problem"
)

// Incidents are read with dlq:read and changed with dlq:replay: an
// incident is a way to find and replay what failed, no more.
const (
	ScopeRead  = auth.ScopeDLQRead
	ScopeWrite = auth.ScopeDLQReplay
)

// Routes lists the incident API with the scope of each route.
func (s *Service) Routes(log *slog.Logger) []auth.Route {
	a := api{s: s, log: log}
	return []auth.Route{
		{Method: http.MethodPost, Pattern: "/v1/incidents", Scope: ScopeWrite, Handler: http.HandlerFunc(a.create)},
		{Method: http.MethodGet, Pattern: "/v1/incidents", Scope: ScopeRead, Handler: http.HandlerFunc(a.list)},
		{Method: http.MethodGet, Pattern: "/v1/incidents/{id}", Scope: ScopeRead, Handler: http.HandlerFunc(a.get)},
		{Method: http.MethodPost, Pattern: "/v1/incidents/{id}/tags", Scope: ScopeWrite, Handler: http.HandlerFunc(a.tag)},
		{Method: http.MethodPost, Pattern: "/v1/incidents/{id}/replay", Scope: ScopeWrite, Handler: http.HandlerFunc(a.replay)},
		{Method: http.MethodPost, Pattern: "/v1/incidents/{id}/close", Scope: ScopeWrite, Handler: http.HandlerFunc(a.close)},
	}
}

type api struct {
	s   *Service
	log *slog.Logger
}

func decode(r *http.Request, v any, optional bool) error {
	return httpjson.Decode(r, v, httpjson.Options{Limit: 1 << 20, Optional: optional})
}

func (a api) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	if err := decode(r, &req, false); err != nil {
		problem.Fail(w, r, err)
		return
	}
	in, err := a.s.Create(r.Context(), req.Title, req.Description)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	httpjson.Respond(w, http.StatusCreated, in)
}

func (a api) list(w http.ResponseWriter, r *http.Request) {
	list, err := a.s.List(r.Context(), r.URL.Query().Get("status"), 500)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	httpjson.Respond(w, http.StatusOK, map[string]any{"incidents": list})
}

// Detail is an incident with what it covers and its timeline.
type Detail struct {
	usher.Incident
	Items    []usher.IncidentTag `json:"items"`
	Timeline []usher.AuditRecord `json:"timeline"`
}

func (a api) get(w http.ResponseWriter, r *http.Request) {
	d, err := a.s.Detail(r.Context(), r.PathValue("id"))
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	httpjson.Respond(w, http.StatusOK, d)
}

func (a api) tag(w http.ResponseWriter, r *http.Request) {
	var req TagRequest
	if err := decode(r, &req, false); err != nil {
		problem.Fail(w, r, err)
		return
	}
	res, err := a.s.Tag(r.Context(), r.PathValue("id"), req)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	httpjson.Respond(w, http.StatusOK, res)
}

func (a api) replay(w http.ResponseWriter, r *http.Request) {
	if err := decode(r, &struct{}{}, true); err != nil {
		problem.Fail(w, r, err)
		return
	}
	res, err := a.s.Replay(r.Context(), r.PathValue("id"))
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	httpjson.Respond(w, http.StatusOK, res)
}

func (a api) close(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Summary string `json:"summary"`
	}
	if err := decode(r, &req, true); err != nil {
		problem.Fail(w, r, err)
		return
	}
	in, err := a.s.Close(r.Context(), r.PathValue("id"), req.Summary)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	httpjson.Respond(w, http.StatusOK, in)
}
