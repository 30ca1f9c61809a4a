package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/url"
	"time"
)

// runReplay re-delivers a subscription's events from a point in time, with
// their original ids, through a running usher.
func runReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("usher replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c adminClient
	c.bind(fs, getenv)
	sub := fs.String("subscription", "", "subscription id (required)")
	since := fs.String("since", "", "replay events created at or after this time: RFC 3339, or a duration ago such as 2h (required)")
	until := fs.String("until", "", "and before this time (RFC 3339)")
	limit := fs.Int("limit", 0, "at most this many per request (default 1000); the command goes on until none is left")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" || *since == "" {
		return errors.New("usage: usher replay --subscription ID --since RFC3339|DURATION [--until RFC3339] [--limit N]")
	}
	from := *since
	if d, err := time.ParseDuration(*since); err == nil {
		from = time.Now().Add(-d).UTC().Format(time.RFC3339Nano)
	}
	body := map[string]any{"since": from, "limit": *limit}
	if *until != "" {
		body["until"] = *until
	}
	return replayPages(ctx, &c, "/v1/subscriptions/"+url.PathEscape(*sub)+"/replay", body, stdout)
}
