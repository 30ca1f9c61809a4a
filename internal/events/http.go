package events

import (
	"encoding/json"
	"net/http"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

// typeSummary is one event type in GET /v1/event-types.
type typeSummary struct {
	Type        string              `json:"type"`
	Direction   Direction           `json:"direction"`
	Description string              `json:"description"`
	Providers   map[string][]string `json:"providers,omitempty"`
	Versions    []versionSummary    `json:"versions"`
}

type versionSummary struct {
	Version  string            `json:"version"`
	State    State             `json:"state"`
	Sunset   string            `json:"sunset,omitempty"`
	Schema   json.RawMessage   `json:"schema,omitempty"`
	Examples []json.RawMessage `json:"examples,omitempty"`
}

func summary(e Entry, full bool) typeSummary {
	s := typeSummary{Type: e.Type, Direction: e.Direction, Description: e.Description, Providers: e.Providers}
	for _, v := range e.Versions {
		vs := versionSummary{Version: v.Name, State: v.State, Sunset: v.Sunset}
		if full {
			vs.Schema, vs.Examples = v.Schema, v.Examples
		}
		s.Versions = append(s.Versions, vs)
	}
	return s
}

// HandleList serves GET /v1/event-types: every event type (inbound and
// outbound, not the gate contracts) with its versions.
func (c *Catalog) HandleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := struct {
			EventTypes []typeSummary `json:"event_types"`
		}{EventTypes: make([]typeSummary, 0, len(c.entries))}
		for _, e := range c.entries {
			if e.Direction != Gate { // a gate contract is no event type
				out.EventTypes = append(out.EventTypes, summary(e, false))
			}
		}
		writeJSON(w, out)
	})
}

// HandleGet serves GET /v1/event-types/{type}: one type with each version's
// schema and examples. A name that is both inbound and outbound (e.g.
// order.canceled) answers the outbound type unless ?direction=inbound.
func (c *Catalog) HandleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		typ := r.PathValue("type")
		dirs := []Direction{Outbound, Inbound}
		switch d := Direction(r.URL.Query().Get("direction")); d {
		case "":
		case Inbound, Outbound:
			dirs = []Direction{d}
		default:
			problem.Write(w, r, usher.Errorf(usher.CodeInvalid, "direction must be inbound or outbound"))
			return
		}
		for _, d := range dirs {
			if e, ok := c.Lookup(d, typ); ok {
				writeJSON(w, summary(e, true))
				return
			}
		}
		problem.Write(w, r, usher.Errorf(usher.CodeNotFound, "no event type %q", typ))
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
