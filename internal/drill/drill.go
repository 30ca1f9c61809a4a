// Package drill runs game-day drills against a usher. The venue-outage drill
// plays a night at several venues, with payments, refunds and scans, in
// simulated time: one venue's scanners lose the network for a while and
// keep deciding from their copy of the feed; when they come back they
// upload their scans, then catch up. The outage venue has a twin that plays
// the same script always online; the drill checks that both end in the same
// state, that no admission was lost or doubled, and measures the catch-up
// and the feed's freshness.
//
// Simulated time orders the script and sets how much happens during the
// outage; nothing waits for it. The scanners' clocks are the real clock, the
// one usher's revocation times come from, so that "revoked before the scan"
// means the same to both.
package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/loadgen"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/webhook"
)

// Config is one run of the venue-outage drill. Each field says its default.
type Config struct {
	// Venues is how many venues stay online beside the outage venue and its
	// twin. Default 2.
	Venues int
	// Scanners per venue. Default 3.
	Scanners int
	// Orders per venue, of 1 to 3 tickets each. Default 150.
	Orders int
	// Presale is the share of orders paid before the doors open. Default 0.7.
	Presale float64
	// RefundRatio is the share of orders refunded. Default 0.1.
	RefundRatio float64
	// DuplicateRatio is the share of holders whose code is presented again
	// at another gate. Default 0.05.
	DuplicateRatio float64
	// Doors is the simulated time the doors are open. Default 45m.
	Doors time.Duration
	// OutageStart is when, after the doors open, the outage begins, and
	// Outage how long it lasts, in simulated time. Defaults 10m and 12m.
	OutageStart, Outage time.Duration
	// Tick is the simulated step: the webhooks of a tick are sent together,
	// and processed, before its scans. Default 15s.
	Tick time.Duration
	// Seed makes the script reproducible. Default 1.
	Seed uint64
	// Progress, if not nil, receives a line per phase.
	Progress io.Writer
}

// WithDefaults returns the config with every unset field at its default.
func (c Config) WithDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Venues, 2)
	def(&c.Scanners, 3)
	def(&c.Orders, 150)
	if c.Presale == 0 {
		c.Presale = 0.7
	}
	if c.RefundRatio == 0 {
		c.RefundRatio = 0.1
	}
	if c.DuplicateRatio == 0 {
		c.DuplicateRatio = 0.05
	}
	if c.Doors == 0 {
		c.Doors = 45 * time.Minute
	}
	if c.OutageStart == 0 {
		c.OutageStart = 10 * time.Minute
	}
	if c.Outage == 0 {
		c.Outage = 12 * time.Minute
	}
	if c.Tick == 0 {
		c.Tick = 15 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Venues < 0 || c.Scanners < 1 || c.Orders < 1 {
		errs = append(errs, errors.New("venues >= 0, scanners >= 1 and orders >= 1"))
	}
	if c.Tick <= 0 || c.Doors <= c.Tick {
		errs = append(errs, errors.New("the doors must stay open longer than a tick"))
	}
	if c.OutageStart < 0 || c.Outage <= 0 || c.OutageStart+c.Outage > c.Doors {
		errs = append(errs, fmt.Errorf("the outage (%s from %s) must fall within the %s the doors are open", c.Outage, c.OutageStart, c.Doors))
	}
	return errors.Join(errs...)
}

// Target is the usher under drill. The drill reads its store to check the
// outcome, so usher runs in the drill's process.
type Target struct {
	URL        string
	AdminToken string
	// Source and Secret sign webhooks (a Standard Webhooks source).
	Source string
	Secret []byte
	Store  *store.DB
}

// Names of the drill's venues.
const (
	OutageVenue = "drill-out"
	TwinVenue   = "drill-twin"
)

// venue is one venue of the drill and what happened there.
type venue struct {
	name    string
	script  script
	token   string
	devices []*Device
	codes   map[int][]string // order → codes of its tickets, by ticket id

	mu      sync.Mutex
	results map[int]string // scan step → the answer its holder got
	offline map[int]bool   // scan steps decided offline
}

func (v *venue) orderID(o int) string { return fmt.Sprintf("%s-o%d", v.name, o) }
func (v *venue) show() string         { return "show-" + v.name }
func (v *venue) nonce(n int) string   { return fmt.Sprintf("%s-s%d", v.name, n) }

// run is the state of one drill run.
type run struct {
	cfg     Config
	target  Target
	http    *http.Client
	venues  []*venue
	out     *venue
	sent    int
	base    int // inbound events processed before the drill
	outages outage
}

// outage is what the drill measured of the outage venue's return.
type outage struct {
	begun, ended       bool
	offlineScans       int
	uploadTook         time.Duration
	downloadTook       time.Duration
	uploaded           int
	downloaded         int
	changesDuringDark  int
	refundsDuringDark  int
	paymentsDuringDark int
}

// Run plays the drill against target and checks its outcome. It returns an
// error when the drill could not run; a run whose checks fail returns a
// Report whose OK is false.
func Run(ctx context.Context, cfg Config, target Target) (Report, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return Report{}, fmt.Errorf("drill config: %w", err)
	}
	r := &run{cfg: cfg, target: target, http: &http.Client{Timeout: 30 * time.Second}}
	start := time.Now()
	if err := r.setup(ctx); err != nil {
		return Report{}, err
	}
	defer r.disconnectAll()
	before, err := loadgen.Scrape(ctx, target.URL, target.AdminToken)
	if err != nil {
		return Report{}, err
	}
	if err := r.play(ctx); err != nil {
		return Report{}, err
	}
	if err := r.settle(ctx); err != nil {
		return Report{}, err
	}
	after, err := loadgen.Scrape(ctx, target.URL, target.AdminToken)
	if err != nil {
		return Report{}, err
	}
	rep, err := r.report(ctx, before, after)
	rep.Wall = time.Since(start)
	return rep, err
}

func (r *run) logf(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
	}
}

// setup draws the scripts, creates the shows and scanner tokens, and
// connects every scanner.
func (r *run) setup(ctx context.Context) error {
	rng := mrand.New(mrand.NewPCG(r.cfg.Seed, 0x5eed))
	for i := range r.cfg.Venues {
		r.venues = append(r.venues, &venue{name: fmt.Sprintf("drill-v%d", i+1), script: newScript(r.cfg, rng)})
	}
	shared := newScript(r.cfg, rng)
	r.out = &venue{name: OutageVenue, script: shared}
	r.venues = append(r.venues, r.out, &venue{name: TwinVenue, script: shared})
	counts, err := r.target.Store.CountInbound(ctx)
	if err != nil {
		return err
	}
	for _, n := range counts {
		r.base += n
	}
	for _, v := range r.venues {
		v.codes, v.results, v.offline = map[int][]string{}, map[int]string{}, map[int]bool{}
		seats := 10
		for _, q := range v.script.quantities {
			seats += q
		}
		if err := r.admin(ctx, http.MethodPut, "/v1/shows/"+v.show()+"/inventory/GA", map[string]int{"capacity": seats}, nil); err != nil {
			return err
		}
		// The drill's devices scan printed codes, as gates without rotating
		// display codes do; the show allows them.
		if err := r.admin(ctx, http.MethodPut, "/v1/shows/"+v.show()+"/settings", map[string]bool{"allow_static_codes": true}, nil); err != nil {
			return err
		}
		var tok struct {
			Token string `json:"token"`
		}
		if err := r.admin(ctx, http.MethodPost, "/v1/tokens", map[string]any{"scopes": []string{"scanner:" + v.name}, "description": "drill"}, &tok); err != nil {
			return err
		}
		v.token = tok.Token
		for g := range r.cfg.Scanners {
			d := NewDevice(r.target.URL, v.token, v.name, fmt.Sprintf("%s-gate%d", v.name, g+1), time.Now)
			if err := d.Connect(ctx); err != nil {
				return err
			}
			v.devices = append(v.devices, d)
		}
	}
	r.logf("setup: %d venues × %d scanners connected", len(r.venues), r.cfg.Scanners)
	return nil
}

func (r *run) disconnectAll() {
	for _, v := range r.venues {
		for _, d := range v.devices {
			d.Disconnect()
		}
	}
}

// venueStep is a step of one venue's script.
type venueStep struct {
	v *venue
	step
}

// play runs the scripts tick by tick in simulated time.
func (r *run) play(ctx context.Context) error {
	var all []venueStep
	for _, v := range r.venues {
		for _, s := range v.script.steps {
			all = append(all, venueStep{v, s})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	outageEnd := r.cfg.OutageStart + r.cfg.Outage
	for i := 0; i < len(all); {
		tickEnd := (all[i].at/r.cfg.Tick + 1) * r.cfg.Tick
		if all[i].at < 0 {
			tickEnd = 0 // the presale is one burst
		}
		for _, edge := range []time.Duration{r.cfg.OutageStart, outageEnd} {
			if all[i].at < edge && tickEnd > edge {
				tickEnd = edge // the network changes between ticks
			}
		}
		if !r.outages.begun && all[i].at >= r.cfg.OutageStart {
			if err := r.goDark(ctx); err != nil {
				return err
			}
		}
		if r.outages.begun && !r.outages.ended && all[i].at >= outageEnd {
			if err := r.comeBack(ctx); err != nil {
				return err
			}
		}
		j := i
		for j < len(all) && all[j].at < tickEnd {
			j++
		}
		if err := r.tick(ctx, all[i:j]); err != nil {
			return err
		}
		i = j
	}
	if !r.outages.ended {
		return r.comeBack(ctx)
	}
	return nil
}

// tick sends the tick's webhooks together and waits until usher has applied
// them, then lets each venue's holders through its gates in order.
func (r *run) tick(ctx context.Context, steps []venueStep) error {
	var hooks []venueStep
	scans := map[*venue][]step{}
	for _, s := range steps {
		if s.kind == stepScan {
			scans[s.v] = append(scans[s.v], s.step)
		} else {
			hooks = append(hooks, s)
		}
	}
	if err := r.sendAll(ctx, hooks); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(r.venues))
	for i, v := range r.venues {
		if len(scans[v]) == 0 {
			continue
		}
		wg.Go(func() { errs[i] = r.scanAll(ctx, v, scans[v]) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *run) sendAll(ctx context.Context, hooks []venueStep) error {
	if len(hooks) == 0 {
		return nil
	}
	if r.outages.begun && !r.outages.ended {
		for _, h := range hooks {
			if h.v == r.out {
				if h.kind == stepPay {
					r.outages.paymentsDuringDark++
				} else {
					r.outages.refundsDuringDark++
				}
			}
		}
	}
	work := make(chan venueStep)
	errs := make(chan error, len(hooks))
	var wg sync.WaitGroup
	for range min(32, len(hooks)) {
		wg.Go(func() {
			for h := range work {
				errs <- r.hook(ctx, h)
			}
		})
	}
	for _, h := range hooks {
		work <- h
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	r.sent += len(hooks)
	return r.waitProcessed(ctx)
}

func (r *run) hook(ctx context.Context, h venueStep) error {
	id := h.v.orderID(h.order)
	if h.kind == stepRefund {
		return r.send(ctx, usher.TypeOrderRefunded, map[string]any{"order_id": id})
	}
	return r.send(ctx, usher.TypeOrderPaid, map[string]any{
		"order_id": id, "show_id": h.v.show(), "venue_id": h.v.name,
		"items": []map[string]any{{"ticket_type": "GA", "quantity": h.v.script.quantities[h.order]}},
		"buyer": map[string]string{"email": "holder@example.com", "name": "Drill Holder"},
	})
}

// send signs and posts one webhook, retrying while usher answers 503.
func (r *run) send(ctx context.Context, typ string, data any) error {
	body, err := json.Marshal(map[string]any{"type": typ, "timestamp": time.Now().UTC().Format(time.RFC3339), "data": data})
	if err != nil {
		return err
	}
	id := usher.NewID("drill_")
	scheme, _ := webhook.Lookup(webhook.SchemeStandardWebhooks)
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.target.URL+"/webhooks/"+r.target.Source, bytes.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range scheme.Sign(id, time.Now(), body, webhook.Secret{Key: r.target.Secret}) {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := r.http.Do(req)
		if err != nil {
			return fmt.Errorf("send %s: %w", typ, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			return nil
		case resp.StatusCode == http.StatusServiceUnavailable && attempt < 5:
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
		default:
			return fmt.Errorf("send %s: %d", typ, resp.StatusCode)
		}
	}
}

// waitProcessed waits until usher has applied every webhook sent.
func (r *run) waitProcessed(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		counts, err := r.target.Store.CountInbound(ctx)
		if err != nil {
			return err
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		if total >= r.base+r.sent {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("usher applied %d of %d webhooks within a minute", total-r.base, r.sent)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// scanAll presents the venue's codes of one tick, in order, each at its gate.
func (r *run) scanAll(ctx context.Context, v *venue, steps []step) error {
	for _, s := range steps {
		code, err := r.code(ctx, v, s)
		if err != nil {
			return err
		}
		result, offline, err := v.devices[s.device].Scan(ctx, code, v.nonce(s.n))
		if err != nil {
			return err
		}
		v.mu.Lock()
		v.results[s.n], v.offline[s.n] = result, offline
		v.mu.Unlock()
	}
	return nil
}

// code is what the holder of a scan step presents.
func (r *run) code(ctx context.Context, v *venue, s step) (string, error) {
	switch s.code {
	case codeUnknown:
		return fmt.Sprintf("UNKNOWNCODE%dX%d", len(v.name), s.n), nil
	case codeInvalid:
		return "not a code", nil
	}
	v.mu.Lock()
	codes, ok := v.codes[s.order]
	v.mu.Unlock()
	if ok {
		return codes[s.ticket], nil
	}
	o, err := r.target.Store.OrderWithTickets(ctx, v.orderID(s.order))
	if err != nil {
		return "", fmt.Errorf("holder of %s: %w", v.orderID(s.order), err)
	}
	slices.SortFunc(o.Tickets, func(a, b usher.Ticket) int { return strings.Compare(a.TicketID, b.TicketID) })
	codes = make([]string, len(o.Tickets))
	for i, t := range o.Tickets {
		codes[i] = t.Code
	}
	if len(codes) <= s.ticket {
		return "", fmt.Errorf("order %s has %d tickets, the script wants ticket %d", v.orderID(s.order), len(codes), s.ticket)
	}
	v.mu.Lock()
	v.codes[s.order] = codes
	v.mu.Unlock()
	return codes[s.ticket], nil
}

// goDark takes the outage venue's scanners off the network once their
// copies hold everything up to now.
func (r *run) goDark(ctx context.Context) error {
	if err := r.catchUp(ctx, r.out); err != nil {
		return err
	}
	for _, d := range r.out.devices {
		d.Disconnect()
	}
	r.outages.begun = true
	head, _ := r.target.Store.FeedHead(ctx, r.out.name)
	r.outages.changesDuringDark = -int(head)
	r.logf("outage: %s's %d scanners are offline", r.out.name, len(r.out.devices))
	return nil
}

// comeBack puts the outage venue's scanners back online: each uploads its
// queue first, then catches up on the feed from its cursor.
func (r *run) comeBack(ctx context.Context) error {
	start := time.Now()
	head, err := r.target.Store.FeedHead(ctx, r.out.name)
	if err != nil {
		return err
	}
	r.outages.changesDuringDark += int(head)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(r.out.devices))
	for i, d := range r.out.devices {
		wg.Go(func() {
			res, err := d.Upload(ctx)
			mu.Lock()
			defer mu.Unlock()
			errs[i] = err
			r.outages.uploaded += len(res)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.outages.offlineScans = r.outages.uploaded
	uploaded := time.Now()
	r.outages.uploadTook = uploaded.Sub(start)
	applied := make([]int, len(r.out.devices))
	for i, d := range r.out.devices {
		_, applied[i] = d.Seen()
		if err := d.Connect(ctx); err != nil {
			return err
		}
	}
	if err := r.catchUp(ctx, r.out); err != nil {
		return err
	}
	for i, d := range r.out.devices {
		_, n := d.Seen()
		r.outages.downloaded += n - applied[i]
	}
	r.outages.downloadTook = time.Since(uploaded)
	r.outages.ended = true
	r.logf("outage over: %d scans uploaded in %s, %d changes downloaded in %s", r.outages.uploaded, r.outages.uploadTook.Round(time.Millisecond),
		r.outages.downloaded, r.outages.downloadTook.Round(time.Millisecond))
	return nil
}

// catchUp waits until every scanner of the venue holds the feed's head.
func (r *run) catchUp(ctx context.Context, v *venue) error {
	head, err := r.target.Store.FeedHead(ctx, v.name)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, d := range v.devices {
		if err := d.WaitSeq(wctx, head); err != nil {
			return err
		}
	}
	return nil
}

// settle waits until every scanner holds its venue's whole feed.
func (r *run) settle(ctx context.Context) error {
	for _, v := range r.venues {
		if err := r.catchUp(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) admin(ctx context.Context, method, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, r.target.URL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.target.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
