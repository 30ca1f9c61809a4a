package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/client"
)

// newReplayCmd re-delivers a subscription's events from a point in time,
// with their original ids, through a running usher.
func newReplayCmd(e *env) *cobra.Command {
	var c adminClient
	var sub, since, until string
	var limit int
	cmd := &cobra.Command{
		Use:     "replay --subscription ID --since RFC3339|DURATION",
		Short:   "Re-deliver a subscription's events since a time, with their original ids",
		Example: "  usher replay --subscription sub_1 --since 2h\n  usher replay --subscription sub_1 --since 2025-01-01T00:00:00Z --until 2025-01-02T00:00:00Z",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sub == "" || since == "" {
				return usagef("%s: --subscription and --since are required", cmd.CommandPath())
			}
			req := client.ReplaySubscriptionReq{Limit: optInt(limit)}
			if d, err := time.ParseDuration(since); err == nil {
				req.Since = time.Now().Add(-d).UTC()
			} else if req.Since, err = time.Parse(time.RFC3339Nano, since); err != nil {
				return usagef("--since %q: want an RFC 3339 time or a duration such as 2h", since)
			}
			var err error
			if req.Until, err = optTime("until", until); err != nil {
				return err
			}
			params := client.ReplaySubscriptionParams{ID: sub}
			return replayPages(cmd.Context(), e.stdout, func(ctx context.Context, cursor string) (replayPage, error) {
				req.Cursor = optString(cursor)
				return callPage(ctx, &c, func(ctx context.Context, api *client.Client) (client.ReplaySubscriptionRes, error) {
					return api.ReplaySubscription(ctx, client.NewOptReplaySubscriptionReq(req), params)
				})
			})
		},
	}
	c.bind(cmd.Flags(), e.getenv)
	cmd.Flags().StringVar(&sub, "subscription", "", "subscription id (required)")
	cmd.Flags().StringVar(&since, "since", "", "replay events created at or after this time: RFC 3339, or a duration ago such as 2h (required)")
	cmd.Flags().StringVar(&until, "until", "", "and before this time (RFC 3339)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many per request (default 1000); the command goes on until none is left")
	return cmd
}
