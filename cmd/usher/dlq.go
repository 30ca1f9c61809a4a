package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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

// fields returns the set filters under their API names.
func (f *dlqFilter) fields() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{
		"stage": f.stage, "subscription_id": f.subscription, "source": f.source, "type": f.typ, "order_id": f.order,
		"venue_id": f.venue, "reason": f.reason, "since": f.since, "until": f.until,
	} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// newDLQCmd searches, shows and replays dead letters through a running usher.
func newDLQCmd(e *env) *cobra.Command {
	return group("dlq", "Search, show and replay dead letters", newDLQListCmd(e), newDLQShowCmd(e), newDLQReplayCmd(e))
}

func newDLQListCmd(e *env) *cobra.Command {
	var c adminClient
	var f dlqFilter
	var state, limit, cursor string
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
		q := url.Values{}
		for k, v := range f.fields() {
			q.Set(k, v)
		}
		for k, v := range map[string]string{"state": state, "limit": limit, "cursor": cursor} {
			if v != "" {
				q.Set(k, v)
			}
		}
		reply, err := c.do(cmd.Context(), http.MethodGet, "/v1/dlq?"+q.Encode(), nil, http.StatusOK)
		if err != nil {
			return err
		}
		return render(e.stdout, *out, readView{list: "dead_letters", columns: []string{"id", "stage", "reason", "type", "order_id", "subscription_id", "created_at", "replayed_at"}, next: "next_cursor"}, reply)
	}
	c.bind(cmd.Flags(), e.getenv)
	f.bind(cmd.Flags())
	cmd.Flags().StringVar(&state, "state", "", "open (default), replayed or all")
	cmd.Flags().StringVar(&limit, "limit", "", "page size (default 50)")
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
		reply, err := c.do(cmd.Context(), http.MethodGet, "/v1/dlq/"+url.PathEscape(args[0]), nil, http.StatusOK)
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
				reply, err := c.do(cmd.Context(), http.MethodPost, "/v1/dlq/"+url.PathEscape(args[0])+"/replay", nil, http.StatusOK)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, reply)
			}
			body := map[string]any{"all": all, "limit": limit}
			for k, v := range f.fields() {
				body[k] = v
			}
			return replayPages(cmd.Context(), &c, "/v1/dlq/replay", body, e.stdout)
		},
	}
	c.bind(cmd.Flags(), e.getenv)
	f.bind(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "replay every open dead letter (when no filter is given)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many per request (default 1000); the command goes on until none is left")
	return cmd
}

// replayPages posts a replay and follows its next_cursor until the replay
// is complete, printing the answer of each request.
func replayPages(ctx context.Context, c *adminClient, path string, body map[string]any, stdout io.Writer) error {
	for {
		reply, err := c.do(ctx, http.MethodPost, path, body, http.StatusOK)
		if err != nil {
			return err
		}
		if err := printJSON(stdout, reply); err != nil {
			return err
		}
		var page struct {
			Matched    int    `json:"matched"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(reply, &page); err != nil {
			return fmt.Errorf("replay answer: %w", err)
		}
		if page.NextCursor == "" || page.Matched == 0 {
			return nil
		}
		body["cursor"] = page.NextCursor
	}
}
