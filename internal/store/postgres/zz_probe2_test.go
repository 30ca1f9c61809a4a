package postgres_test

import (
	"database/sql"
	"os"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

func TestProbeConcurrentMigrateWithLocker(t *testing.T) {
	u := freshSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			db, err := sql.Open("pgx", u)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			l, err := lock.NewPostgresSessionLocker()
			if err != nil {
				errs <- err
				return
			}
			p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"), goose.WithSessionLocker(l))
			if err != nil {
				errs <- err
				return
			}
			if _, err := p.Up(t.Context()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent migrate: %v", err)
	}
}
