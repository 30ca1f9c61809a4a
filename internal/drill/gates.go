package drill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher"
)

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
