package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const listenLong = `Open a stream to usher (GET /v1/listen, scope listen): usher creates a
temporary subscription and delivers into the stream, with the ordering and
retries of any subscription. Each delivery is printed with its headers and
the result of verifying its signature, and with --forward-to it is also
posted, headers and body unchanged, to a local URL, whose answer is printed.
No private-destination opt-in is needed: usher sends nothing over the
network. The subscription is deleted when the stream closes (Ctrl-C), and
expires a minute after a crash.`

// listenOptions are the flags of usher listen.
type listenOptions struct {
	events, venues []string
	forwardTo      string
	printBody      bool
}

func newListenCmd(e *env) *cobra.Command {
	var c adminClient
	var o listenOptions
	cmd := &cobra.Command{
		Use:   "listen [--events TYPE,…] [--forward-to URL]",
		Short: "Stream deliveries to this terminal, or forward them to a local URL",
		Long:  listenLong,
		Example: "  usher listen\n  usher listen --events ticket.issued,order.refunded\n" +
			"  usher listen --forward-to http://localhost:3000/webhooks",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.forwardTo != "" {
				if u, err := url.Parse(o.forwardTo); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return usagef("--forward-to %q: want an http or https URL", o.forwardTo)
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return listen(ctx, &c, o, e.stdout)
		},
	}
	c.bind(cmd.Flags(), e.getenv)
	cmd.Flags().StringSliceVar(&o.events, "events", []string{"*"}, "event types to receive: ticket.issued, a family ticket.*, or *")
	cmd.Flags().StringSliceVar(&o.venues, "venue", nil, "only these venues' events (default every venue)")
	cmd.Flags().StringVar(&o.forwardTo, "forward-to", "", "post each delivery to this local URL, e.g. http://localhost:3000/webhooks")
	cmd.Flags().BoolVar(&o.printBody, "print-body", true, "print each delivery's body")
	return cmd
}

// listen opens the stream and handles its events until ctx ends (a clean
// stop) or the stream breaks (an error).
func listen(ctx context.Context, c *adminClient, o listenOptions, out io.Writer) error {
	if err := c.findToken(); err != nil {
		return err
	}
	q := url.Values{"event_types": o.events, "venue_ids": o.venues}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.url, "/")+"/v1/listen?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("open the listen stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return decodeAPIError(resp.StatusCode, body)
	}
	l := &listener{out: out, opts: o, forward: &http.Client{Timeout: 30 * time.Second}}
	err = readEvents(resp.Body, l.handle)
	if ctx.Err() != nil {
		fmt.Fprintln(out, "Stopped; the temporary subscription is deleted.")
		return nil
	}
	if err == nil {
		err = errors.New("usher closed the listen stream")
	}
	return err
}

// readEvents parses a Server-Sent Events stream and calls handle for each
// event with its name and data; comments are skipped.
func readEvents(r io.Reader, handle func(name string, data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var name string
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				if err := handle(name, bytes.TrimSuffix(data.Bytes(), []byte("\n"))); err != nil {
					return err
				}
			}
			name = ""
			data.Reset()
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			data.WriteByte('\n')
		}
	}
	return sc.Err()
}

// listenReady and listenDelivery are the data of the stream's events, the
// schemas ListenReady and ListenDelivery of api/openapi.yaml (the generated
// client reads no event streams).
type listenReady struct {
	SubscriptionID string   `json:"subscription_id"`
	Secret         string   `json:"secret"`
	EventTypes     []string `json:"event_types"`
}

type listenDelivery struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// listener prints, verifies and forwards the deliveries of one stream.
type listener struct {
	out     io.Writer
	opts    listenOptions
	forward *http.Client
	wh      *standardwebhooks.Webhook
}

func (l *listener) handle(name string, data []byte) error {
	switch name {
	case "ready":
		var ready listenReady
		if err := json.Unmarshal(data, &ready); err != nil {
			return fmt.Errorf("listen stream: ready event: %w", err)
		}
		wh, err := standardwebhooks.NewWebhook(ready.Secret)
		if err != nil {
			return fmt.Errorf("listen stream: signing secret: %w", err)
		}
		l.wh = wh
		fmt.Fprintf(l.out, "Ready. Listening for %s (temporary subscription %s).\n", strings.Join(ready.EventTypes, ", "), ready.SubscriptionID)
		fmt.Fprintf(l.out, "Deliveries are signed with %s: give it to your receiver to verify them. Ctrl-C stops.\n\n", ready.Secret)
	case "delivery":
		var d listenDelivery
		if err := json.Unmarshal(data, &d); err != nil {
			return fmt.Errorf("listen stream: delivery event: %w", err)
		}
		l.delivery(d)
	}
	return nil
}

// delivery prints one delivery and, with --forward-to, posts it.
func (l *listener) delivery(d listenDelivery) {
	header := http.Header{}
	for k, v := range d.Headers {
		header.Set(k, v)
	}
	body := []byte(d.Body)
	var event struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &event)
	verdict := "signature valid"
	if l.wh == nil {
		verdict = "signature NOT VERIFIED: no ready event"
	} else if err := l.wh.Verify(body, header); err != nil {
		verdict = "signature INVALID: " + err.Error()
	}
	fmt.Fprintf(l.out, "%s  %s  %s  %s\n", time.Now().UTC().Format(time.RFC3339), event.Type, header.Get("webhook-id"), verdict)
	names := make([]string, 0, len(d.Headers))
	for k := range d.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(l.out, "  %s: %s\n", k, d.Headers[k])
	}
	if l.opts.printBody {
		fmt.Fprintf(l.out, "  %s\n", body)
	}
	if l.opts.forwardTo != "" {
		fmt.Fprintf(l.out, "  -> POST %s  %s\n", l.opts.forwardTo, l.forwardOne(header, body))
	}
	fmt.Fprintln(l.out)
}

// forwardOne posts a delivery to the local URL and describes the answer.
func (l *listener) forwardOne(header http.Header, body []byte) string {
	req, err := http.NewRequest(http.MethodPost, l.opts.forwardTo, bytes.NewReader(body))
	if err != nil {
		return "failed: " + err.Error()
	}
	req.Header = header.Clone()
	resp, err := l.forward.Do(req)
	if err != nil {
		return "failed: " + err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Status
}
