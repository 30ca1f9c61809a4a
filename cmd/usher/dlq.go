package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const dlqUsage = `usage:
  usher dlq list [--stage S] [--subscription ID] [--source S] [--type T] [--order ID] [--venue ID]
                 [--reason R] [--since RFC3339] [--until RFC3339] [--state open|replayed|all] [--limit N] [--cursor C]
  usher dlq show ID
  usher dlq replay ID
  usher dlq replay [--stage S] [--subscription ID] [--type T] [--venue ID] [--reason R] [--since RFC3339] [--all] [--limit N]`

// dlqFilter is the search of the dead-letter queue, as flags.
type dlqFilter struct {
	stage, subscription, source, typ, order, venue, reason, since, until *string
}

func (f *dlqFilter) bind(fs *flag.FlagSet) {
	f.stage = fs.String("stage", "", "processing or delivery")
	f.subscription = fs.String("subscription", "", "subscription id")
	f.source = fs.String("source", "", "inbound source")
	f.typ = fs.String("type", "", "event type")
	f.order = fs.String("order", "", "order id")
	f.venue = fs.String("venue", "", "venue id")
	f.reason = fs.String("reason", "", "reason class (rejected, gone, exhausted, …)")
	f.since = fs.String("since", "", "created at or after (RFC 3339)")
	f.until = fs.String("until", "", "created before (RFC 3339)")
}

// fields returns the set filters under their API names.
func (f *dlqFilter) fields() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]*string{
		"stage": f.stage, "subscription_id": f.subscription, "source": f.source, "type": f.typ, "order_id": f.order,
		"venue_id": f.venue, "reason": f.reason, "since": f.since, "until": f.until,
	} {
		if *v != "" {
			out[k] = *v
		}
	}
	return out
}

// runDLQ searches, shows and replays dead letters through a running usher.
func runDLQ(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(dlqUsage)
	}
	verb, rest := args[0], args[1:]
	id := ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("usher dlq "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c adminClient
	c.bind(fs, getenv)
	var f dlqFilter
	switch {
	case verb == "list":
		f.bind(fs)
		state := fs.String("state", "", "open (default), replayed or all")
		limit := fs.String("limit", "", "page size (default 50)")
		cursor := fs.String("cursor", "", "next_cursor of the previous page")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range f.fields() {
			q.Set(k, v)
		}
		for k, v := range map[string]string{"state": *state, "limit": *limit, "cursor": *cursor} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return printReply(stdout)(c.do(ctx, http.MethodGet, "/v1/dlq?"+q.Encode(), nil, http.StatusOK))
	case verb == "show" && id != "":
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return printReply(stdout)(c.do(ctx, http.MethodGet, "/v1/dlq/"+url.PathEscape(id), nil, http.StatusOK))
	case verb == "replay" && id != "":
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return printReply(stdout)(c.do(ctx, http.MethodPost, "/v1/dlq/"+url.PathEscape(id)+"/replay", nil, http.StatusOK))
	case verb == "replay":
		f.bind(fs)
		all := fs.Bool("all", false, "replay every open dead letter (when no filter is given)")
		limit := fs.Int("limit", 0, "at most this many per request (default 1000); the command goes on until none is left")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		body := map[string]any{"all": *all, "limit": *limit}
		for k, v := range f.fields() {
			body[k] = v
		}
		return replayPages(ctx, &c, "/v1/dlq/replay", body, stdout)
	}
	return errors.New(dlqUsage)
}

// replayPages posts a replay and follows its next_cursor until the replay
// is complete, printing the answer of each request.
func replayPages(ctx context.Context, c *adminClient, path string, body map[string]any, stdout io.Writer) error {
	for {
		reply, err := c.do(ctx, http.MethodPost, path, body, http.StatusOK)
		if err != nil {
			return err
		}
		if _, err := stdout.Write(reply); err != nil {
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

// printReply writes a successful answer to stdout.
func printReply(stdout io.Writer) func([]byte, error) error {
	return func(reply []byte, err error) error {
		if err != nil {
			return err
		}
		_, err = stdout.Write(reply)
		return err
	}
}
