package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/ogen-go/ogen/validate"
	"github.com/spf13/pflag"

	"github.com/usherhq/usher/client"
)

// adminClient calls a running usher's admin API through the client
// generated from api/openapi.yaml, so the CLI sends only what the contract
// describes and reads answers by the contract's schemas.
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

// bearer is the generated client's security source: the admin token.
type bearer string

func (b bearer) Bearer(context.Context, client.OperationName) (client.Bearer, error) {
	return client.Bearer{Token: string(b)}, nil
}

// findToken settles the admin token: the flag or environment, else the
// first-start credentials in the data directory.
func (c *adminClient) findToken() error {
	if c.token != "" {
		return nil
	}
	creds, err := readCredentials(c.dataDir)
	if err != nil {
		return fmt.Errorf("no admin token: set USHER_ADMIN_TOKEN or --admin-token (%w)", err)
	}
	c.token = creds.AdminToken
	return nil
}

// api returns the generated client with the admin token.
func (c *adminClient) api() (*client.Client, error) {
	if err := c.findToken(); err != nil {
		return nil, err
	}
	return client.NewClient(strings.TrimRight(c.url, "/"), bearer(c.token),
		client.WithClient(&http.Client{Timeout: 30 * time.Second}))
}

// problemType is the document's problem+json schema; every refusal the
// generated client decodes is a named type with it as underlying type.
var problemType = reflect.TypeFor[client.Problem]()

// call runs one operation of the generated client and returns its answer as
// JSON: the typed success value as the client decoded it, or an *apiError
// for a documented or undocumented refusal.
func call[R any](ctx context.Context, c *adminClient, op func(context.Context, *client.Client) (R, error)) ([]byte, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	res, err := op(ctx, api)
	if err != nil {
		var unexpected *validate.UnexpectedStatusCodeError
		if errors.As(err, &unexpected) && unexpected.Payload != nil {
			body, _ := io.ReadAll(io.LimitReader(unexpected.Payload.Body, 1<<20))
			return nil, decodeAPIError(unexpected.StatusCode, body)
		}
		return nil, err
	}
	if p, ok := asProblem(res); ok {
		return nil, &apiError{Status: p.Status, Title: p.Title, Detail: p.Detail.Value, Type: p.Type.String()}
	}
	return json.Marshal(res)
}

// asProblem returns the problem a generated response value carries, if it
// is a refusal.
func asProblem(res any) (client.Problem, bool) {
	v := reflect.ValueOf(res)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() || !v.Type().ConvertibleTo(problemType) {
		return client.Problem{}, false
	}
	return v.Convert(problemType).Interface().(client.Problem), true
}

// optString is an optional string parameter, unset when empty.
func optString(s string) client.OptString {
	if s == "" {
		return client.OptString{}
	}
	return client.NewOptString(s)
}

// optInt is an optional integer parameter, unset when zero.
func optInt(n int) client.OptInt {
	if n == 0 {
		return client.OptInt{}
	}
	return client.NewOptInt(n)
}

// optTime parses an optional RFC 3339 flag; a bad one is a usage error.
func optTime(flag, s string) (client.OptDateTime, error) {
	if s == "" {
		return client.OptDateTime{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return client.OptDateTime{}, usagef("--%s %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", flag, s)
	}
	return client.NewOptDateTime(t), nil
}
