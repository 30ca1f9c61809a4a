package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
)

// runPII erases a buyer's personal data through a running usher's API; the
// order, its tickets and the audit trail stay.
func runPII(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	usage := errors.New("usage: usher pii erase --order ORDER_ID")
	if len(args) == 0 || args[0] != "erase" {
		return usage
	}
	fs := flag.NewFlagSet("usher pii erase", flag.ContinueOnError)
	fs.SetOutput(stderr)
	order := fs.String("order", "", "the order whose buyer's email and name are erased")
	var c adminClient
	c.bind(fs, getenv)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *order == "" {
		return usage
	}
	reply, err := c.do(ctx, http.MethodDelete, "/v1/orders/"+url.PathEscape(*order)+"/buyer", nil, http.StatusOK)
	if err != nil {
		return err
	}
	_, err = stdout.Write(reply)
	return err
}
