package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/usherhq/usher/client"
)

// newIncidentCmd opens, tags, replays and closes incidents through a running
// usher (docs/runbooks/incidents.md).
func newIncidentCmd(e *env) *cobra.Command {
	return group("incident", "Name an incident, tag what it touched, replay it, close it",
		newIncidentOpenCmd(e), newIncidentListCmd(e), newIncidentShowCmd(e),
		newIncidentTagCmd(e), newIncidentReplayCmd(e), newIncidentCloseCmd(e))
}

// operation is one call of the generated client.
type operation func(ctx context.Context, api *client.Client) (any, error)

// incidentCall is one incident command: its use line, help, example and
// the operation it calls once its flags are parsed.
type incidentCall struct {
	use, short, example string
	args                cobra.PositionalArgs
	flags               func(fs *pflag.FlagSet)
	request             func(args []string) (operation, error)
}

func (ic incidentCall) command(e *env) *cobra.Command {
	var c adminClient
	cmd := &cobra.Command{Use: ic.use, Short: ic.short, Example: ic.example, Args: ic.args}
	c.bind(cmd.Flags(), e.getenv)
	if ic.flags != nil {
		ic.flags(cmd.Flags())
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		op, err := ic.request(args)
		if err != nil {
			return err
		}
		reply, err := call(cmd.Context(), &c, op)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, reply)
	}
	return cmd
}

func newIncidentOpenCmd(e *env) *cobra.Command {
	var title, desc string
	return incidentCall{
		use: "open --title T", short: "Open an incident", args: noArgs,
		example: `  usher incident open --title "Wallet passes failing" --description "Apple pass lane 5xx since 20:10"`,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&title, "title", "", "what is wrong (required)")
			fs.StringVar(&desc, "description", "", "more about it")
		},
		request: func([]string) (operation, error) {
			if title == "" {
				return nil, usagef("incident open needs --title")
			}
			req := client.NewOptOpenIncidentReq(client.OpenIncidentReq{Title: title, Description: client.NewOptString(desc)})
			return func(ctx context.Context, api *client.Client) (any, error) { return api.OpenIncident(ctx, req) }, nil
		},
	}.command(e)
}

func newIncidentListCmd(e *env) *cobra.Command {
	var status string
	return incidentCall{
		use: "list", short: "List incidents", args: noArgs,
		example: "  usher incident list --status open",
		flags:   func(fs *pflag.FlagSet) { fs.StringVar(&status, "status", "", "open or closed (default both)") },
		request: func([]string) (operation, error) {
			var p client.ListIncidentsParams
			if status != "" {
				p.Status = client.NewOptListIncidentsStatus(client.ListIncidentsStatus(status))
			}
			return func(ctx context.Context, api *client.Client) (any, error) { return api.ListIncidents(ctx, p) }, nil
		},
	}.command(e)
}

func newIncidentShowCmd(e *env) *cobra.Command {
	return incidentCall{
		use: "show ID", short: "Show an incident with its tags and timeline", args: exactArgs("ID"),
		example: "  usher incident show inc_0123",
		request: func(args []string) (operation, error) {
			return func(ctx context.Context, api *client.Client) (any, error) {
				return api.GetIncident(ctx, client.GetIncidentParams{ID: args[0]})
			}, nil
		},
	}.command(e)
}

func newIncidentReplayCmd(e *env) *cobra.Command {
	return incidentCall{
		use: "replay ID", short: "Replay everything tagged on an incident", args: exactArgs("ID"),
		example: "  usher incident replay inc_0123",
		request: func(args []string) (operation, error) {
			return func(ctx context.Context, api *client.Client) (any, error) {
				return api.ReplayIncident(ctx, client.ReplayIncidentParams{ID: args[0]})
			}, nil
		},
	}.command(e)
}

func newIncidentCloseCmd(e *env) *cobra.Command {
	var summary string
	return incidentCall{
		use: "close ID --summary S", short: "Close an incident with a summary", args: exactArgs("ID"),
		example: `  usher incident close inc_0123 --summary "Receiver fixed at 20:40; 312 deliveries replayed"`,
		flags:   func(fs *pflag.FlagSet) { fs.StringVar(&summary, "summary", "", "what happened and what was done") },
		request: func(args []string) (operation, error) {
			req := client.NewOptCloseIncidentReq(client.CloseIncidentReq{Summary: client.NewOptString(summary)})
			return func(ctx context.Context, api *client.Client) (any, error) {
				return api.CloseIncident(ctx, req, client.CloseIncidentParams{ID: args[0]})
			}, nil
		},
	}.command(e)
}

// tagFilter holds the filter flags of incident tag.
type tagFilter struct {
	stage, source, subscription, typ, order, venue, reason, errText, state, status, outcome, since, until string
	limit                                                                                                 int
}

func (f *tagFilter) bind(fs *pflag.FlagSet) {
	for _, b := range []struct {
		p          *string
		flag, what string
	}{
		{&f.stage, "stage", "stage"}, {&f.source, "source", "source"}, {&f.subscription, "subscription", "subscription_id"},
		{&f.typ, "type", "type"}, {&f.order, "order", "order_id"}, {&f.venue, "venue", "venue_id"}, {&f.reason, "reason", "reason"},
		{&f.errText, "error", "error"}, {&f.state, "state", "state"}, {&f.status, "status", "status"}, {&f.outcome, "outcome", "outcome"},
		{&f.since, "since", "since (RFC 3339)"}, {&f.until, "until", "until (RFC 3339)"},
	} {
		fs.StringVar(b.p, b.flag, "", "filter: "+b.what)
	}
	fs.IntVar(&f.limit, "limit", 0, "at most this many (default and maximum 10000)")
}

// filter returns the flags as the tag request's filter.
func (f *tagFilter) filter() (client.TagIncidentReqFilter, error) {
	out := client.TagIncidentReqFilter{
		Stage: optString(f.stage), Source: optString(f.source), SubscriptionID: optString(f.subscription),
		Type: optString(f.typ), OrderID: optString(f.order), VenueID: optString(f.venue), Reason: optString(f.reason),
		Error: optString(f.errText), State: optString(f.state), Status: optString(f.status), Outcome: optString(f.outcome),
		Limit: optInt(f.limit),
	}
	var err error
	if out.Since, err = optTime("since", f.since); err != nil {
		return out, err
	}
	out.Until, err = optTime("until", f.until)
	return out, err
}

func newIncidentTagCmd(e *env) *cobra.Command {
	var kind string
	var ids []string
	var f tagFilter
	return incidentCall{
		use: "tag ID --kind KIND (--id REF ... | filters)", short: "Tag dead letters, deliveries or inbound events by id or filter",
		args: exactArgs("ID"),
		example: "  usher incident tag inc_0123 --kind dead_letter --subscription sub_1 --since 2026-12-01T20:00:00Z\n" +
			"  usher incident tag inc_0123 --kind inbound --id demo/msg_1 --id demo/msg_2",
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&kind, "kind", "dead_letter", "dead_letter, delivery or inbound")
			fs.StringArrayVar(&ids, "id", nil, "a ref to tag (repeatable): dead letter id, subscription_id/event_id, source/event_id")
			f.bind(fs)
		},
		request: func(args []string) (operation, error) {
			req := client.TagIncidentReq{Kind: client.TagIncidentReqKind(kind), Ids: ids}
			if len(ids) == 0 {
				filter, err := f.filter()
				if err != nil {
					return nil, err
				}
				req.Filter = client.NewOptTagIncidentReqFilter(filter)
			}
			return func(ctx context.Context, api *client.Client) (any, error) {
				return api.TagIncident(ctx, client.NewOptTagIncidentReq(req), client.TagIncidentParams{ID: args[0]})
			}, nil
		},
	}.command(e)
}
