package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
)

type scopeList []string

func (s *scopeList) String() string     { return strings.Join(*s, ",") }
func (s *scopeList) Set(v string) error { *s = append(*s, v); return nil }

// runToken creates an admin token through a running usher's API.
func runToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: usher token create --scope SCOPE [--scope SCOPE …] [--description TEXT]")
	}
	fs := flag.NewFlagSet("usher token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope the token holds (repeat for several)")
	description := fs.String("description", "", "what the token is for")
	var c adminClient
	c.bind(fs, getenv)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	reply, err := c.do(ctx, http.MethodPost, "/v1/tokens", map[string]any{"scopes": []string(scopes), "description": *description}, http.StatusCreated)
	if err != nil {
		return err
	}
	_, err = stdout.Write(reply)
	return err
}
