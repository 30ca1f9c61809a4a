// Package periodic runs the housekeeping loops of usher's services: a task
// each interval until the service stops, and a pruning pass that deletes in
// small batches so that it never holds the store's writer for long.
package periodic

import (
	"context"
	"time"
)

// Every calls fn each interval until ctx ends; with now set, it calls fn
// once at the start too. A call in progress finishes before Every returns.
func Every(ctx context.Context, interval time.Duration, now bool, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	if now && ctx.Err() == nil {
		fn(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// Drain calls prune with limit until a call deletes fewer than limit rows,
// and returns the rows deleted. It stops at the first error, which it
// returns with the rows deleted before it.
func Drain(ctx context.Context, limit int, prune func(ctx context.Context, limit int) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := prune(ctx, limit)
		total += n
		if err != nil || n < int64(limit) {
			return total, err
		}
	}
}
