package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// adminClient calls a running usher's admin API.
type adminClient struct {
	url, token, dataDir string
}

// bind adds the connection flags to fs, defaulting from the environment.
func (c *adminClient) bind(fs *pflag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.url, "url", envOr(getenv, "USHER_URL", "http://127.0.0.1:8080"), "usher base URL (env USHER_URL)")
	fs.StringVar(&c.dataDir, "data-dir", envOr(getenv, "USHER_DATA_DIR", "usher-data"), "find the first-start admin token here (env USHER_DATA_DIR)")
	fs.StringVar(&c.token, "admin-token", getenv("USHER_ADMIN_TOKEN"), "admin token (env USHER_ADMIN_TOKEN; default: the first-start token in --data-dir)")
}

// apiError is a refusal of the server: its status and the problem detail
// (RFC 9457) it answered with.
type apiError struct {
	Status int
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	body   string
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
	switch {
	case e.Detail != "":
		msg += ": " + e.Detail
	case e.Title != "":
		msg += ": " + e.Title
	case e.body != "":
		msg += ": " + e.body
	}
	if e.Type != "" {
		msg += " (" + e.Type + ")"
	}
	return msg
}

// decodeAPIError reads a refusal's problem details, or keeps its text.
func decodeAPIError(status int, body []byte) *apiError {
	e := &apiError{Status: status}
	if json.Unmarshal(body, e) != nil || (e.Title == "" && e.Detail == "") {
		e.body = strings.TrimSpace(string(body))
		if len(e.body) > 200 {
			e.body = e.body[:200] + "…"
		}
	}
	return e
}

// do sends body as JSON and returns the answer, failing unless it is want.
func (c *adminClient) do(ctx context.Context, method, path string, body any, want int) ([]byte, error) {
	if c.token == "" {
		creds, err := readCredentials(c.dataDir)
		if err != nil {
			return nil, fmt.Errorf("no admin token: set USHER_ADMIN_TOKEN or --admin-token (%w)", err)
		}
		c.token = creds.AdminToken
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.url, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return nil, decodeAPIError(resp.StatusCode, reply)
	}
	return reply, nil
}
