package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/webhook"
)

type sendOptions struct {
	url, dataDir, source, secret, scheme string
	eventID, orderID, show, venue        string
	ticketType                           string
	quantity                             int
}

// placeholderID matches the placeholders of documentation (ORDER_ID,
// SHOW_ID): sent literally, they would make a ghost order of that name.
var placeholderID = regexp.MustCompile(`^([A-Z]+_)*ID$`)

func newSendCmd(e *env) *cobra.Command {
	var o sendOptions
	cmd := &cobra.Command{
		Use:   "send [flags] SAMPLE|FILE",
		Short: "Sign and send a webhook as a source would",
		Long: "SAMPLE is order.paid, order.refunded or order.chargeback (an order id is made up\n" +
			"unless --order names one, and printed as order_id); FILE is a JSON envelope\n" +
			"{\"type\",\"timestamp\",\"data\"}. The source and its secret default to the first-start\n" +
			"credentials in --data-dir.",
		Example: "  usher send order.paid\n  usher send order.refunded --order ord_1a2b3c   # the order_id printed by the first send\n" +
			"  usher send --source shop --secret whsec_… ./envelope.json",
		ValidArgs: []string{usher.TypeOrderPaid, usher.TypeOrderRefunded, usher.TypeOrderChargeback},
		Args:      exactArgs("SAMPLE|FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if placeholderID.MatchString(o.orderID) {
				return usagef("--order %q is a placeholder: use the order_id that `usher send order.paid` printed", o.orderID)
			}
			return o.run(cmd.Context(), args[0], e.stdout)
		},
	}
	fs, getenv := cmd.Flags(), e.getenv
	fs.StringVar(&o.url, "url", envOr(getenv, "USHER_URL", "http://127.0.0.1:8080"), "usher base URL (env USHER_URL)")
	fs.StringVar(&o.dataDir, "data-dir", envOr(getenv, "USHER_DATA_DIR", "usher-data"), "read the source and secret from the first-start credentials here (env USHER_DATA_DIR)")
	fs.StringVar(&o.source, "source", "", "source name (default: from the credentials file)")
	fs.StringVar(&o.secret, "secret", getenv("USHER_SOURCE_SECRET"), "signing secret whsec_… (env USHER_SOURCE_SECRET; default: from the credentials file)")
	fs.StringVar(&o.scheme, "scheme", webhook.SchemeStandardWebhooks, schemeHelp())
	fs.StringVar(&o.eventID, "id", "", "event id (default: random; reuse one to send a duplicate)")
	fs.StringVar(&o.orderID, "order", "", "order id of the sample (default: random, printed)")
	fs.StringVar(&o.show, "show", server.DemoShow, "show id of the sample")
	fs.StringVar(&o.venue, "venue", server.DemoVenue, "venue id of the sample")
	fs.StringVar(&o.ticketType, "ticket-type", server.DemoTicketType, "ticket type of the sample")
	fs.IntVar(&o.quantity, "quantity", 2, "tickets in the sample order")
	return cmd
}

// run signs and sends one sample or file and prints the answer.
func (o *sendOptions) run(ctx context.Context, arg string, stdout io.Writer) error {
	if err := o.fillFromCredentials(); err != nil {
		return err
	}
	body, err := o.body(arg)
	if err != nil {
		return err
	}
	status, reply, err := o.send(ctx, body)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d %s\n%s", status, http.StatusText(status), reply)
	if o.orderID != "" {
		fmt.Fprintf(stdout, "order_id: %s\n", o.orderID)
	}
	if status >= 300 {
		return decodeAPIError(status, reply)
	}
	return nil
}

func (o *sendOptions) fillFromCredentials() error {
	if o.source != "" && o.secret != "" {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(o.dataDir, server.CredentialsFile))
	if err != nil {
		return fmt.Errorf("no --source/--secret given and no credentials file: %w", err)
	}
	var c server.Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if o.source == "" {
		o.source = c.Source
	}
	if o.secret == "" {
		o.secret = c.Secret
	}
	return nil
}

// body returns the envelope of a sample, or the contents of a file.
func (o *sendOptions) body(arg string) ([]byte, error) {
	if _, err := os.Stat(arg); err == nil {
		o.orderID = ""
		return os.ReadFile(arg)
	}
	if o.orderID == "" {
		o.orderID = usher.NewID("ord_")
	}
	var data map[string]any
	switch arg {
	case usher.TypeOrderPaid:
		data = map[string]any{
			"order_id": o.orderID, "show_id": o.show, "venue_id": o.venue,
			"items": []map[string]any{{"ticket_type": o.ticketType, "quantity": o.quantity}},
			"buyer": map[string]string{"email": "buyer@example.com", "name": "Sample Buyer"},
		}
	case usher.TypeOrderRefunded, usher.TypeOrderChargeback:
		data = map[string]any{"order_id": o.orderID}
	default:
		return nil, fmt.Errorf("%q is neither a sample (order.paid, order.refunded, order.chargeback) nor a file", arg)
	}
	return json.Marshal(map[string]any{"type": arg, "timestamp": time.Now().UTC().Format(time.RFC3339), "data": data})
}

func (o *sendOptions) send(ctx context.Context, body []byte) (int, []byte, error) {
	scheme, ok := webhook.Lookup(o.scheme)
	if !ok {
		return 0, nil, fmt.Errorf("unknown scheme %q", o.scheme)
	}
	if o.eventID == "" {
		o.eventID = usher.NewID("msg_")
	}
	header, err := webhook.SignWithText(scheme, o.eventID, time.Now(), body, o.secret)
	if err != nil {
		return 0, nil, err // "secret: …", as the scheme words it
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url+"/webhooks/"+o.source, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, reply, err
}

// schemeHelp is the help text of a --scheme flag: the registered schemes.
func schemeHelp() string {
	return "signature scheme: " + strings.Join(webhook.Names(), ", ")
}
