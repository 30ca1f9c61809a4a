package postgres_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/postgres"
)

func TestProbeConcurrentOpen(t *testing.T) {
	u := freshSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			db, err := postgres.Open(t.Context(), u)
			if err != nil {
				errs <- err
				return
			}
			db.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Open: %v", err)
	}
}

func TestProbeContention(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	db.PutCapacity(ctx, "s", "ga", 10)
	noSeat := errors.New("no seat")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, none int
	var fails []error
	for range 64 {
		wg.Go(func() {
			err := db.InTx(ctx, func(tx *store.Tx) error {
				inv, _, err := tx.Inventory(ctx, "s", "ga")
				if err != nil {
					return err
				}
				if inv.Available == 0 {
					return noSeat
				}
				return tx.SwapSold(ctx, inv, 1)
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, noSeat):
				none++
			default:
				fails = append(fails, err)
			}
		})
	}
	wg.Wait()
	t.Logf("ok=%d none=%d fails=%d %v", ok, none, len(fails), fails)
}
