package delivery

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/usherhq/usher"
)

// Errors reported to a lane's breaker.
var (
	errEndpointFailed = errors.New("endpoint failed")
	errAborted        = errors.New("attempt aborted") // excluded: says nothing of the endpoint
)

// lane delivers one subscription's deliveries: it claims the due ones, at
// most Concurrency at a time and one per order, and attempts each in a
// goroutine of its own. Nothing a lane does waits on another lane.
type lane struct {
	svc   *Service
	wake  chan struct{}
	slots chan struct{} // one per attempt in flight

	cancel context.CancelFunc // set once, before run starts

	mu      sync.Mutex
	sub     usher.Subscription
	keys    []usher.SubscriptionKey
	keysFor int64 // the subscription version the keys were read at; 0: read again
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]
}

func newLane(s *Service, sub usher.Subscription) *lane {
	l := &lane{svc: s, wake: make(chan struct{}, 1), slots: make(chan struct{}, s.cfg.Concurrency), sub: sub}
	l.breaker = l.newBreaker(sub.ID)
	return l
}

func (l *lane) newBreaker(id string) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	cfg, log := l.svc.cfg, l.svc.log
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        id,
		MaxRequests: 1,
		Timeout:     cfg.BreakerTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(cfg.BreakerFailures) },
		IsExcluded:  func(err error) bool { return errors.Is(err, errAborted) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			log.Info("delivery breaker", "subscription_id", name, "from", from.String(), "to", to.String())
			if to != gobreaker.StateOpen {
				l.poke()
			}
		},
	})
}

func (l *lane) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *lane) breakerState() gobreaker.State {
	l.mu.Lock()
	b := l.breaker
	l.mu.Unlock()
	return b.State()
}

// update takes the subscription as last read: a new URL gets a new breaker,
// a new version (a rotation among others) new keys. A changed subscription
// wakes the lane; an unchanged one is left to the due scan, so that idle
// lanes do not touch the store.
func (l *lane) update(ctx context.Context, sub usher.Subscription) {
	l.mu.Lock()
	if sub.Version < l.sub.Version { // read before a change this lane already has
		l.mu.Unlock()
		return
	}
	if sub.URL != l.sub.URL {
		l.breaker = l.newBreaker(sub.ID)
	}
	l.sub = sub
	stale := l.keysFor != sub.Version
	l.mu.Unlock()
	if !stale {
		return
	}
	keys, err := l.svc.st.SubscriptionKeys(ctx, sub.ID)
	if err != nil {
		if ctx.Err() == nil {
			l.svc.log.Warn("read subscription keys", "subscription_id", sub.ID, "err", err)
		}
		return
	}
	l.mu.Lock()
	l.keys, l.keysFor = keys, sub.Version
	l.mu.Unlock()
	if sub.Status == usher.SubscriptionActive {
		l.poke()
	}
}

// run claims and attempts deliveries each time the lane is woken, until ctx
// ends; then it waits for its attempts.
func (l *lane) run(ctx context.Context) {
	var workers sync.WaitGroup
	defer workers.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
		l.fill(ctx, &workers)
	}
}

// fill claims as many due deliveries as the lane has free slots (one while
// the breaker is half-open, none while it is open) and starts them.
func (l *lane) fill(ctx context.Context, workers *sync.WaitGroup) {
	l.mu.Lock()
	sub, keys, breaker := l.sub, l.keys, l.breaker
	ready := l.keysFor == sub.Version
	l.mu.Unlock()
	if sub.Status != usher.SubscriptionActive || !ready || !l.svc.listen.claimable(sub) {
		return
	}
	free := cap(l.slots) - len(l.slots)
	switch breaker.State() {
	case gobreaker.StateOpen:
		return
	case gobreaker.StateHalfOpen:
		free = min(free, 1-len(l.slots))
	}
	if free <= 0 {
		return
	}
	now := l.svc.now()
	token := l.svc.leaseToken()
	claimed, err := l.svc.st.ClaimDeliveries(ctx, sub.ID, now, now.Add(l.svc.cfg.Lease), token, free)
	if err != nil {
		if ctx.Err() == nil {
			l.svc.log.Warn("claim deliveries", "subscription_id", sub.ID, "err", err)
		}
		return
	}
	if len(claimed) == 0 {
		return
	}
	var batch sync.WaitGroup
	ids := make([]int64, 0, len(claimed))
	for _, d := range claimed {
		ids = append(ids, d.ID)
		l.slots <- struct{}{}
		workers.Add(1)
		batch.Add(1)
		go func() {
			defer workers.Done()
			defer func() {
				batch.Done()
				<-l.slots
				l.poke()
			}()
			l.deliver(ctx, sub, keys, breaker, d)
		}()
	}
	workers.Add(1)
	go func() {
		defer workers.Done()
		l.renew(ctx, sub.ID, ids, token, &batch)
	}()
}

// renew keeps a claim's leases while its attempts run, every third of the
// lease, so that the lease can be short: a process that dies holds its
// deliveries for one lease at most, and one that lives keeps them however
// long an attempt takes.
func (l *lane) renew(ctx context.Context, subID string, ids []int64, token string, batch *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		batch.Wait()
		close(done)
	}()
	tick := time.NewTicker(l.svc.cfg.Lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			<-done
			return
		case <-tick.C:
		}
		if _, err := l.svc.st.RenewDeliveries(ctx, ids, token, l.svc.now().Add(l.svc.cfg.Lease)); err != nil && ctx.Err() == nil {
			l.svc.log.Warn("renew delivery leases", "subscription_id", subID, "err", err)
		}
	}
}

// deliver makes one attempt through the breaker and settles its outcome.
func (l *lane) deliver(ctx context.Context, sub usher.Subscription, keys []usher.SubscriptionKey, breaker *gobreaker.TwoStepCircuitBreaker[struct{}], d usher.Delivery) {
	done, err := breaker.Allow()
	if err != nil {
		l.svc.release(d)
		return
	}
	r, t := l.svc.tracedAttempt(ctx, sub, keys, d)
	if r.err != nil && ctx.Err() != nil {
		done(errAborted)
		l.svc.release(d)
		return
	}
	var failure error
	if r.endpointFailed() {
		failure = errEndpointFailed
	}
	done(failure)
	l.svc.settle(sub, d, r, t)
}

func newToken() string { return usher.NewID("") }
