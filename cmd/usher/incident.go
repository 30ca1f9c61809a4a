package main

import (
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newIncidentCmd opens, tags, replays and closes incidents through a running
// usher (docs/runbooks/incidents.md).
func newIncidentCmd(e *env) *cobra.Command {
	return group("incident", "Name an incident, tag what it touched, replay it, close it",
		newIncidentOpenCmd(e), newIncidentListCmd(e), newIncidentShowCmd(e),
		newIncidentTagCmd(e), newIncidentReplayCmd(e), newIncidentCloseCmd(e))
}

// incidentCall is one incident command: its use line, help, example and
// the request it makes once its flags are parsed.
type incidentCall struct {
	use, short, example string
	args                cobra.PositionalArgs
	flags               func(fs *pflag.FlagSet)
	request             func(args []string) (method, path string, body any, want int, err error)
}

func (ic incidentCall) command(e *env) *cobra.Command {
	var c adminClient
	cmd := &cobra.Command{Use: ic.use, Short: ic.short, Example: ic.example, Args: ic.args}
	c.bind(cmd.Flags(), e.getenv)
	if ic.flags != nil {
		ic.flags(cmd.Flags())
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		method, path, body, want, err := ic.request(args)
		if err != nil {
			return err
		}
		reply, err := c.do(cmd.Context(), method, path, body, want)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, reply)
	}
	return cmd
}

func incidentPath(id, suffix string) string { return "/v1/incidents/" + url.PathEscape(id) + suffix }

func newIncidentOpenCmd(e *env) *cobra.Command {
	var title, desc string
	return incidentCall{
		use: "open --title T", short: "Open an incident", args: noArgs,
		example: `  usher incident open --title "Wallet passes failing" --description "Apple pass lane 5xx since 20:10"`,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&title, "title", "", "what is wrong (required)")
			fs.StringVar(&desc, "description", "", "more about it")
		},
		request: func([]string) (string, string, any, int, error) {
			if title == "" {
				return "", "", nil, 0, usagef("incident open needs --title")
			}
			return http.MethodPost, "/v1/incidents", map[string]string{"title": title, "description": desc}, http.StatusCreated, nil
		},
	}.command(e)
}

func newIncidentListCmd(e *env) *cobra.Command {
	var status string
	return incidentCall{
		use: "list", short: "List incidents", args: noArgs,
		example: "  usher incident list --status open",
		flags:   func(fs *pflag.FlagSet) { fs.StringVar(&status, "status", "", "open or closed (default both)") },
		request: func([]string) (string, string, any, int, error) {
			return http.MethodGet, "/v1/incidents?" + url.Values{"status": {status}}.Encode(), nil, http.StatusOK, nil
		},
	}.command(e)
}

func newIncidentShowCmd(e *env) *cobra.Command {
	return incidentCall{
		use: "show ID", short: "Show an incident with its tags and timeline", args: exactArgs("ID"),
		example: "  usher incident show inc_0123",
		request: func(args []string) (string, string, any, int, error) {
			return http.MethodGet, incidentPath(args[0], ""), nil, http.StatusOK, nil
		},
	}.command(e)
}

func newIncidentReplayCmd(e *env) *cobra.Command {
	return incidentCall{
		use: "replay ID", short: "Replay everything tagged on an incident", args: exactArgs("ID"),
		example: "  usher incident replay inc_0123",
		request: func(args []string) (string, string, any, int, error) {
			return http.MethodPost, incidentPath(args[0], "/replay"), nil, http.StatusOK, nil
		},
	}.command(e)
}

func newIncidentCloseCmd(e *env) *cobra.Command {
	var summary string
	return incidentCall{
		use: "close ID --summary S", short: "Close an incident with a summary", args: exactArgs("ID"),
		example: `  usher incident close inc_0123 --summary "Receiver fixed at 20:40; 312 deliveries replayed"`,
		flags:   func(fs *pflag.FlagSet) { fs.StringVar(&summary, "summary", "", "what happened and what was done") },
		request: func(args []string) (string, string, any, int, error) {
			return http.MethodPost, incidentPath(args[0], "/close"), map[string]string{"summary": summary}, http.StatusOK, nil
		},
	}.command(e)
}

// tagFilters returns the filter flags of incident tag under their API names.
func tagFilters() map[string]string {
	return map[string]string{"stage": "stage", "source": "source", "subscription": "subscription_id", "type": "type",
		"order": "order_id", "venue": "venue_id", "reason": "reason", "error": "error", "state": "state",
		"status": "status", "outcome": "outcome", "since": "since", "until": "until"}
}

func newIncidentTagCmd(e *env) *cobra.Command {
	var kind string
	var ids []string
	var limit int
	vals := map[string]*string{}
	return incidentCall{
		use: "tag ID --kind KIND (--id REF ... | filters)", short: "Tag dead letters, deliveries or inbound events by id or filter",
		args: exactArgs("ID"),
		example: "  usher incident tag inc_0123 --kind dead_letter --subscription sub_1 --since 2026-12-01T20:00:00Z\n" +
			"  usher incident tag inc_0123 --kind inbound --id demo/msg_1 --id demo/msg_2",
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&kind, "kind", "dead_letter", "dead_letter, delivery or inbound")
			fs.StringArrayVar(&ids, "id", nil, "a ref to tag (repeatable): dead letter id, subscription_id/event_id, source/event_id")
			fs.IntVar(&limit, "limit", 0, "at most this many (default and maximum 10000)")
			for flagName, field := range tagFilters() {
				vals[field] = fs.String(flagName, "", "filter: "+field)
			}
		},
		request: func(args []string) (string, string, any, int, error) {
			body := map[string]any{"kind": kind}
			if len(ids) > 0 {
				body["ids"] = ids
			} else {
				filter := map[string]any{}
				for field, v := range vals {
					if *v != "" {
						filter[field] = *v
					}
				}
				if limit > 0 {
					filter["limit"] = limit
				}
				body["filter"] = filter
			}
			return http.MethodPost, incidentPath(args[0], "/tags"), body, http.StatusOK, nil
		},
	}.command(e)
}
