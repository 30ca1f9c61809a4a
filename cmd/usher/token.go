package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"strings"
)

type scopeList []string

func (s *scopeList) String() string     { return strings.Join(*s, ",") }
func (s *scopeList) Set(v string) error { *s = append(*s, v); return nil }

const tokenUsage = `usage:
  usher token create --scope SCOPE [--scope SCOPE …] [--description TEXT] [--expires-in 24h]
  usher token list
  usher token revoke ID`

// runToken creates, lists and revokes admin tokens through a running usher's API.
func runToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	fs := flag.NewFlagSet("usher token "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c adminClient
	c.bind(fs, getenv)
	var reply []byte
	var err error
	switch args[0] {
	case "create":
		reply, err = tokenCreate(ctx, fs, &c, args[1:])
	case "list":
		if err = fs.Parse(args[1:]); err == nil {
			reply, err = c.do(ctx, http.MethodGet, "/v1/tokens", nil, http.StatusOK)
		}
	case "revoke":
		var ids []string
		if ids, err = parseInterspersed(fs, args[1:]); err == nil && len(ids) != 1 {
			err = errors.New("usage: usher token revoke ID")
		}
		if err == nil {
			reply, err = c.do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(ids[0]), nil, http.StatusOK)
		}
	default:
		return errors.New(tokenUsage)
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(reply)
	return err
}

func tokenCreate(ctx context.Context, fs *flag.FlagSet, c *adminClient, args []string) ([]byte, error) {
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope the token holds (repeat for several)")
	description := fs.String("description", "", "what the token is for")
	expiresIn := fs.Duration("expires-in", 0, "the token expires this long after creation, e.g. 24h (default never)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	body := map[string]any{"scopes": []string(scopes), "description": *description}
	if *expiresIn != 0 {
		body["expires_in"] = expiresIn.String()
	}
	return c.do(ctx, http.MethodPost, "/v1/tokens", body, http.StatusCreated)
}

// parseInterspersed parses flags placed before or after the positional
// arguments, which it returns: `revoke ID --url U` as well as `revoke --url U ID`.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
