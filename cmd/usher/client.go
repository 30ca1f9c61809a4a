package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// adminClient calls a running usher's admin API.
type adminClient struct {
	url, token, dataDir *string
}

// bind adds the connection flags to fs.
func (c *adminClient) bind(fs *flag.FlagSet, getenv func(string) string) {
	c.url = fs.String("url", envOr(getenv, "USHER_URL", "http://127.0.0.1:8080"), "usher base URL (env USHER_URL)")
	c.dataDir = fs.String("data-dir", envOr(getenv, "USHER_DATA_DIR", "usher-data"), "find the first-start admin token here")
	c.token = fs.String("admin-token", getenv("USHER_ADMIN_TOKEN"), "admin token (env USHER_ADMIN_TOKEN; default: the first-start token)")
}

// do sends body as JSON and returns the answer, failing unless it is want.
func (c *adminClient) do(ctx context.Context, method, path string, body any, want int) ([]byte, error) {
	if *c.token == "" {
		creds, err := readCredentials(*c.dataDir)
		if err != nil {
			return nil, fmt.Errorf("no --admin-token: %w", err)
		}
		*c.token = creds.AdminToken
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, *c.url+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+*c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return nil, fmt.Errorf("usher answered %d: %s", resp.StatusCode, reply)
	}
	return reply, nil
}
