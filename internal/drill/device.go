package drill

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/scanner"
	"github.com/usherhq/usher/internal/ticketing"
)

// Device is a gate scanner as the drill runs it: it keeps a local copy of
// its venue's feed from the event stream, asks usher about each scan while
// online, and decides from its copy while offline, queueing those scans
// for upload when the network is back.
type Device struct {
	ID, Venue string
	base      string
	token     string
	client    *http.Client
	now       func() time.Time

	mu       sync.Mutex
	online   bool
	cursor   string
	seq      int64
	tickets  map[string]scanner.Change // by ticket id
	byHash   map[string]string         // code hash → ticket id
	admitted map[string]bool           // let in by this device while offline
	queue    []scanner.BatchScan
	seen     map[int64]time.Time // when each change first arrived
	applied  int                 // changes applied from the stream
	moved    chan struct{}       // closed and replaced when seq advances

	stop context.CancelFunc
	done chan struct{}
}

// NewDevice returns an offline device with an empty copy of the feed.
func NewDevice(base, token, venue, id string, now func() time.Time) *Device {
	return &Device{
		ID: id, Venue: venue, base: base, token: token, client: &http.Client{Timeout: 30 * time.Second}, now: now,
		tickets: map[string]scanner.Change{}, byHash: map[string]string{}, admitted: map[string]bool{},
		seen: map[int64]time.Time{}, moved: make(chan struct{}),
	}
}

// Connect opens the feed stream from the device's cursor (a snapshot when
// it has none) and keeps applying it until Disconnect.
func (d *Device) Connect(ctx context.Context) error {
	d.mu.Lock()
	cur := d.cursor
	d.mu.Unlock()
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, d.base+"/v1/venues/"+d.Venue+"/feed", nil)
	if err != nil {
		cancel()
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Accept", "text/event-stream")
	if cur == "" {
		req.URL.RawQuery = "snapshot=true"
	} else {
		req.Header.Set("Last-Event-ID", cur)
	}
	resp, err := (&http.Client{}).Do(req) // a stream has no overall timeout
	if err != nil {
		cancel()
		return fmt.Errorf("device %s: open stream: %w", d.ID, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return fmt.Errorf("device %s: open stream: %d %s", d.ID, resp.StatusCode, b)
	}
	d.mu.Lock()
	d.online, d.stop, d.done = true, cancel, make(chan struct{})
	done := d.done
	d.mu.Unlock()
	go func() {
		defer close(done)
		defer resp.Body.Close()
		d.read(resp.Body)
	}()
	return nil
}

// Disconnect drops the network: the stream closes and scans are decided
// locally until the next Connect.
func (d *Device) Disconnect() {
	d.mu.Lock()
	stop, done := d.stop, d.done
	d.online, d.stop = false, nil
	d.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// read applies the stream's events until it ends.
func (d *Device) read(body io.Reader) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	var id, name, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name != "" {
				d.apply(id, name, data)
			}
			id, name, data = "", "", ""
		case strings.HasPrefix(line, "id: "):
			id = line[len("id: "):]
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
}

func (d *Device) apply(id, name, data string) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	switch name {
	case "change":
		var c scanner.Change
		if json.Unmarshal([]byte(data), &c) != nil {
			return
		}
		d.put(c)
		d.applied++
		if _, ok := d.seen[c.Seq]; !ok {
			d.seen[c.Seq] = now
		}
		d.advance(id)
	case "snapshot":
		var p struct {
			Reset   bool             `json:"reset"`
			Changes []scanner.Change `json:"changes"`
		}
		if json.Unmarshal([]byte(data), &p) != nil {
			return
		}
		if p.Reset {
			d.tickets, d.byHash = map[string]scanner.Change{}, map[string]string{}
		}
		for _, c := range p.Changes {
			d.put(c)
		}
	case "snapshot_end":
		d.advance(id)
	}
}

func (d *Device) put(c scanner.Change) {
	if old, ok := d.tickets[c.TicketID]; ok && old.CodeHash != c.CodeHash {
		delete(d.byHash, old.CodeHash)
	}
	d.tickets[c.TicketID] = c
	d.byHash[c.CodeHash] = c.TicketID
}

func (d *Device) advance(id string) {
	seq, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return
	}
	d.cursor, d.seq = id, seq
	close(d.moved)
	d.moved = make(chan struct{})
}

// WaitSeq waits until the device's copy reaches the feed position seq.
func (d *Device) WaitSeq(ctx context.Context, seq int64) error {
	for {
		d.mu.Lock()
		at, moved := d.seq, d.moved
		d.mu.Unlock()
		if at >= seq {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("device %s at %d waiting for %d: %w", d.ID, at, seq, ctx.Err())
		case <-moved:
		}
	}
}

// Scan presents a code: online, usher decides; offline, the device decides
// from its copy and queues the scan. It returns the decision and whether it
// was made offline.
func (d *Device) Scan(ctx context.Context, code, nonce string) (result string, offline bool, err error) {
	at := d.now().UTC()
	d.mu.Lock()
	online := d.online
	d.mu.Unlock()
	if online {
		var res scanner.ScanResult
		err := d.post(ctx, "/v1/scans", scanner.ScanRequest{Code: code, VenueID: d.Venue, DeviceID: d.ID, ScannedAt: at, Nonce: nonce}, &res)
		return res.Result, false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	decision := d.decide(code)
	d.queue = append(d.queue, scanner.BatchScan{Code: code, VenueID: d.Venue, DeviceID: d.ID, ScannedAt: at, Nonce: nonce, Decision: decision})
	return decision, true, nil
}

// decide is the offline rule: a valid ticket goes in once per device.
func (d *Device) decide(code string) string {
	if !scanner.ValidCode(code) {
		return scanner.ResultInvalid
	}
	id, ok := d.byHash[ticketing.CodeHash(code)]
	if !ok {
		return scanner.ResultUnknown
	}
	switch st := d.tickets[id].Status; st {
	case "revoked":
		return scanner.ResultRevoked
	case "admitted":
		return scanner.ResultAlreadyAdmitted
	case "valid":
		if d.admitted[id] {
			return scanner.ResultAlreadyAdmitted
		}
		d.admitted[id] = true
		return scanner.ResultAdmitted
	default:
		return st
	}
}

// Queued returns the scans decided offline.
func (d *Device) Queued() []scanner.BatchScan {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]scanner.BatchScan(nil), d.queue...)
}

// Upload sends the queued scans, in batches of at most 500, and returns
// usher's results. The queue is kept, so that it can be sent again.
func (d *Device) Upload(ctx context.Context) ([]scanner.BatchResult, error) {
	queue := d.Queued()
	var out []scanner.BatchResult
	for start := 0; start < len(queue); start += 500 {
		var res scanner.BatchResponse
		if err := d.post(ctx, "/v1/scans/batch", queue[start:min(start+500, len(queue))], &res); err != nil {
			return nil, err
		}
		out = append(out, res.Results...)
	}
	return out, nil
}

// State returns the device's copy: ticket id → status.
func (d *Device) State() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]string, len(d.tickets))
	for id, c := range d.tickets {
		out[id] = c.Status
	}
	return out
}

// Seen returns when each change first reached the device, and how many
// changes it has applied from the stream.
func (d *Device) Seen() (map[int64]time.Time, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[int64]time.Time, len(d.seen))
	for s, t := range d.seen {
		out[s] = t
	}
	return out, d.applied
}

func (d *Device) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("device %s: %s: %w", d.ID, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("device %s: %s: %d %s", d.ID, path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return errors.Join(fmt.Errorf("device %s: %s: decode", d.ID, path), err)
	}
	return nil
}
