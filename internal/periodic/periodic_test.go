package periodic

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestDrainStopsAtAShortBatch(t *testing.T) {
	rows := int64(2500)
	var calls int
	n, err := Drain(context.Background(), 1000, func(_ context.Context, limit int) (int64, error) {
		calls++
		d := min(rows, int64(limit))
		rows -= d
		return d, nil
	})
	if err != nil || n != 2500 || calls != 3 {
		t.Fatalf("Drain = %d, %v after %d calls; want 2500, nil after 3", n, err, calls)
	}
}

func TestDrainStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	var calls int
	n, err := Drain(context.Background(), 10, func(context.Context, int) (int64, error) {
		calls++
		if calls == 2 {
			return 0, boom
		}
		return 10, nil
	})
	if !errors.Is(err, boom) || n != 10 || calls != 2 {
		t.Fatalf("Drain = %d, %v after %d calls; want 10, boom after 2", n, err, calls)
	}
}

func TestEveryRunsAtStartWhenAskedAndStopsWithItsContext(t *testing.T) {
	for _, now := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		var calls atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			Every(ctx, time.Hour, now, func(context.Context) { calls.Add(1) })
		}()
		if now {
			for calls.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		cancel()
		<-done
		if want := map[bool]int64{true: 1, false: 0}[now]; calls.Load() != want {
			t.Fatalf("Every(now=%v) with an hour's interval ran %d times, want %d", now, calls.Load(), want)
		}
	}
}

func TestEveryRepeats(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	go Every(ctx, time.Millisecond, false, func(context.Context) { calls.Add(1) })
	for calls.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
}
