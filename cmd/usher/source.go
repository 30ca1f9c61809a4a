package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"

	"github.com/usherhq/usher/internal/webhook"
)

// runSource manages sources through a running usher's API.
func runSource(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	usage := errors.New("usage: usher source create NAME [--scheme SCHEME] | usher source rotate NAME [--grace 24h]")
	if len(args) < 2 {
		return usage
	}
	verb, name := args[0], args[1]
	fs := flag.NewFlagSet("usher source "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c adminClient
	c.bind(fs, getenv)
	var reply []byte
	var err error
	switch verb {
	case "create":
		scheme := fs.String("scheme", webhook.SchemeStandardWebhooks, schemeHelp())
		secret := fs.String("secret", "", "use this signing secret instead of a generated one")
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
		reply, err = c.do(ctx, http.MethodPost, "/v1/sources", map[string]string{"name": name, "scheme": *scheme, "secret": *secret}, http.StatusCreated)
	case "rotate":
		grace := fs.String("grace", "24h", "how long the previous secret keeps verifying")
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
		reply, err = c.do(ctx, http.MethodPost, "/v1/sources/"+name+"/secrets:rotate", map[string]string{"grace": *grace}, http.StatusCreated)
	default:
		return usage
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(reply)
	return err
}
