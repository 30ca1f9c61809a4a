package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const incidentUsage = `usage:
  usher incident open --title T [--description D]
  usher incident list [--status open|closed]
  usher incident show ID
  usher incident tag ID --kind dead_letter|delivery|inbound (--id REF ... | filter flags)
      filter flags: --stage --source --subscription --type --order --venue --reason --error
                    --state --status --outcome --since RFC3339 --until RFC3339 --limit N
  usher incident replay ID
  usher incident close ID --summary S`

// refs collects repeated --id flags.
type refs []string

func (r *refs) String() string     { return strings.Join(*r, ",") }
func (r *refs) Set(v string) error { *r = append(*r, v); return nil }

// runIncident opens, tags, replays and closes incidents through a running
// usher.
func runIncident(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(incidentUsage)
	}
	verb, rest := args[0], args[1:]
	id := ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("usher incident "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c adminClient
	c.bind(fs, getenv)
	out := printReply(stdout)
	path := "/v1/incidents/" + url.PathEscape(id)
	switch {
	case verb == "open":
		title := fs.String("title", "", "what is wrong (required)")
		desc := fs.String("description", "", "more about it")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return out(c.do(ctx, http.MethodPost, "/v1/incidents", map[string]string{"title": *title, "description": *desc}, http.StatusCreated))
	case verb == "list":
		status := fs.String("status", "", "open or closed (default both)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return out(c.do(ctx, http.MethodGet, "/v1/incidents?"+url.Values{"status": {*status}}.Encode(), nil, http.StatusOK))
	case verb == "show" && id != "":
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return out(c.do(ctx, http.MethodGet, path, nil, http.StatusOK))
	case verb == "tag" && id != "":
		body, err := tagBody(fs, rest)
		if err != nil {
			return err
		}
		return out(c.do(ctx, http.MethodPost, path+"/tags", body, http.StatusOK))
	case verb == "replay" && id != "":
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return out(c.do(ctx, http.MethodPost, path+"/replay", nil, http.StatusOK))
	case verb == "close" && id != "":
		summary := fs.String("summary", "", "what happened and what was done")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return out(c.do(ctx, http.MethodPost, path+"/close", map[string]string{"summary": *summary}, http.StatusOK))
	}
	return errors.New(incidentUsage)
}

// tagBody reads the flags of incident tag into the API's request.
func tagBody(fs *flag.FlagSet, args []string) (map[string]any, error) {
	kind := fs.String("kind", "dead_letter", "dead_letter, delivery or inbound")
	var ids refs
	fs.Var(&ids, "id", "a ref to tag (repeatable): dead letter id, subscription_id/event_id, source/event_id")
	names := map[string]string{"stage": "stage", "source": "source", "subscription": "subscription_id", "type": "type",
		"order": "order_id", "venue": "venue_id", "reason": "reason", "error": "error", "state": "state",
		"status": "status", "outcome": "outcome", "since": "since", "until": "until"}
	vals := map[string]*string{}
	for flagName, field := range names {
		vals[field] = fs.String(flagName, "", "filter: "+field)
	}
	limit := fs.Int("limit", 0, "at most this many (default and maximum 10000)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	body := map[string]any{"kind": *kind}
	if len(ids) > 0 {
		body["ids"] = []string(ids)
		return body, nil
	}
	filter := map[string]any{}
	for field, v := range vals {
		if *v != "" {
			filter[field] = *v
		}
	}
	if *limit > 0 {
		filter["limit"] = *limit
	}
	body["filter"] = filter
	return body, nil
}
