package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/usherhq/usher/client"
)

// dlqFilter is the search of the dead-letter queue, as flags.
type dlqFilter struct {
	stage, subscription, source, typ, order, venue, reason, since, until string
}

func (f *dlqFilter) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.stage, "stage", "", "processing or delivery")
	fs.StringVar(&f.subscription, "subscription", "", "subscription id")
	fs.StringVar(&f.source, "source", "", "inbound source")
	fs.StringVar(&f.typ, "type", "", "event type")
	fs.StringVar(&f.order, "order", "", "order id")
	fs.StringVar(&f.venue, "venue", "", "venue id")
	fs.StringVar(&f.reason, "reason", "", "reason class (rejected, gone, exhausted, …)")
	fs.StringVar(&f.since, "since", "", "created at or after (RFC 3339)")
	fs.StringVar(&f.until, "until", "", "created before (RFC 3339)")
}

// search returns the filter as the parameters of a dead-letter search.
func (f *dlqFilter) search() (client.ListDeadLettersParams, error) {
	p := client.ListDeadLettersParams{
		SubscriptionID: optString(f.subscription), Source: optString(f.source), Type: optString(f.typ),
		OrderID: optString(f.order), VenueID: optString(f.venue), Reason: optString(f.reason),
	}
	if f.stage != "" {
		p.Stage = client.NewOptListDeadLettersStage(client.ListDeadLettersStage(f.stage))
	}
	var err error
	if p.Since, err = optTime("since", f.since); err != nil {
		return p, err
	}
	p.Until, err = optTime("until", f.until)
	return p, err
}

// replay returns the filter as the body of a bulk replay.
func (f *dlqFilter) replay() (client.ReplayDeadLettersReq, error) {
	p, err := f.search()
	return client.ReplayDeadLettersReq{
		Stage:          client.OptReplayDeadLettersReqStage{Value: client.ReplayDeadLettersReqStage(p.Stage.Value), Set: p.Stage.Set},
		SubscriptionID: p.SubscriptionID, Source: p.Source, Type: p.Type, OrderID: p.OrderID, VenueID: p.VenueID,
		Reason: p.Reason, Since: p.Since, Until: p.Until,
	}, err
}

// newDLQCmd searches, shows and replays dead letters through a running usher.
func newDLQCmd(e *env) *cobra.Command {
	return group("dlq", "Search, show and replay dead letters", newDLQListCmd(e), newDLQShowCmd(e), newDLQReplayCmd(e))
}

func newDLQListCmd(e *env) *cobra.Command {
	var c adminClient
	var f dlqFilter
	var state, cursor string
	var limit int
	cmd := &cobra.Command{
		Use:     "list [filters]",
		Short:   "Search dead letters (open ones by default)",
		Example: "  usher dlq list --stage delivery --since 2025-01-01T00:00:00Z\n  usher dlq list --state all --output json",
		Args:    noArgs,
	}
	out := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkOutput(*out); err != nil {
			return err
		}
		p, err := f.search()
		if err != nil {
			return err
		}
		p.Limit, p.Cursor = optInt(limit), optString(cursor)
		if state != "" {
			p.State = client.NewOptListDeadLettersState(client.ListDeadLettersState(state))
		}
		reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.ListDeadLettersRes, error) {
			return api.ListDeadLetters(ctx, p)
		})
		if err != nil {
			return err
		}
		return render(e.stdout, *out, readView{list: "dead_letters", columns: []string{"id", "stage", "reason", "type", "order_id", "subscription_id", "created_at", "replayed_at"}, next: "next_cursor"}, reply)
	}
	c.bind(cmd.Flags(), e.getenv)
	f.bind(cmd.Flags())
	cmd.Flags().StringVar(&state, "state", "", "open (default), replayed or all")
	cmd.Flags().IntVar(&limit, "limit", 0, "page size (default 50)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "next_cursor of the previous page")
	return cmd
}

func newDLQShowCmd(e *env) *cobra.Command {
	var c adminClient
	cmd := &cobra.Command{
		Use:     "show ID",
		Short:   "Show one dead letter",
		Example: "  usher dlq show dl_0123456789abcdef --output json",
		Args:    exactArgs("ID"),
	}
	out := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(*out); err != nil {
			return err
		}
		reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.GetDeadLetterRes, error) {
			return api.GetDeadLetter(ctx, client.GetDeadLetterParams{ID: args[0]})
		})
		if err != nil {
			return err
		}
		return render(e.stdout, *out, readView{}, reply)
	}
	c.bind(cmd.Flags(), e.getenv)
	return cmd
}

func newDLQReplayCmd(e *env) *cobra.Command {
	var c adminClient
	var f dlqFilter
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:   "replay [ID | filters]",
		Short: "Replay one dead letter, or every open one a filter matches",
		Example: "  usher dlq replay dl_0123456789abcdef\n  usher dlq replay --stage delivery --subscription sub_1\n" +
			"  usher dlq replay --all",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("%s takes at most one ID", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.ReplayDeadLetterRes, error) {
					return api.ReplayDeadLetter(ctx, client.ReplayDeadLetterParams{ID: args[0]})
				})
				if err != nil {
					return err
				}
				return printJSON(e.stdout, reply)
			}
			req, err := f.replay()
			if err != nil {
				return err
			}
			req.All, req.Limit = client.NewOptBool(all), optInt(limit)
			return replayPages(cmd.Context(), e.stdout, func(ctx context.Context, cursor string) (replayPage, error) {
				req.Cursor = optString(cursor)
				return callPage(ctx, &c, func(ctx context.Context, api *client.Client) (client.ReplayDeadLettersRes, error) {
					return api.ReplayDeadLetters(ctx, client.NewOptReplayDeadLettersReq(req))
				})
			})
		},
	}
	c.bind(cmd.Flags(), e.getenv)
	f.bind(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "replay every open dead letter (when no filter is given)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many per request (default 1000); the command goes on until none is left")
	return cmd
}

// replayPage is one answer of a paged replay, and the answer as printed.
type replayPage struct {
	reply []byte
	page  *client.ReplayPage
}

// callPage runs one replay request and keeps its typed page.
func callPage[R any](ctx context.Context, c *adminClient, op func(context.Context, *client.Client) (R, error)) (replayPage, error) {
	var page *client.ReplayPage
	reply, err := call(ctx, c, func(ctx context.Context, api *client.Client) (R, error) {
		res, err := op(ctx, api)
		page, _ = any(res).(*client.ReplayPage)
		return res, err
	})
	return replayPage{reply: reply, page: page}, err
}

// replayPages runs a replay and follows its next_cursor until the replay is
// complete, printing the answer of each request.
func replayPages(ctx context.Context, stdout io.Writer, next func(ctx context.Context, cursor string) (replayPage, error)) error {
	cursor := ""
	for {
		p, err := next(ctx, cursor)
		if err != nil {
			return err
		}
		if err := printJSON(stdout, p.reply); err != nil {
			return err
		}
		if p.page == nil || !p.page.NextCursor.Set || p.page.NextCursor.Value == "" || p.page.Matched == 0 {
			return nil
		}
		cursor = p.page.NextCursor.Value
	}
}
