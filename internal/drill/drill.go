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
	"sort"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/loadgen"
	"github.com/usherhq/usher/internal/store"
)

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
