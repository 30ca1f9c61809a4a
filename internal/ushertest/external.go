package ushertest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
	"github.com/nats-io/nats.go"

	"github.com/usherhq/usher/internal/server"
)

// WithConfig changes the config directly.
func WithConfig(f func(*server.Config)) Option { return Option(f) }

// requireService skips the test when a local service is missing, except in
// CI, where .ci/run starts the services and a missing one is a failure.
func requireService(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI: %v", what, err)
	}
	t.Skipf("%s is not available (%v); .ci/run starts it", what, err)
}

// PostgresURL returns the URL of a fresh, empty schema in the test PostgreSQL
// (USHER_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test),
// dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("USHER_TEST_POSTGRES_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	requireService(t, "PostgreSQL", err)
	schema := "usher_test_" + strings.TrimPrefix(NewID(), "msg_")
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// NATSURL returns the test NATS server (USHER_TEST_NATS_URL, default
// nats://127.0.0.1:4222) and a fresh namespace whose stream is deleted when
// the test ends.
func NATSURL(t testing.TB) (natsURL, namespace string) {
	t.Helper()
	natsURL = os.Getenv("USHER_TEST_NATS_URL")
	if natsURL == "" {
		natsURL = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(natsURL, nats.Timeout(3*time.Second))
	requireService(t, "NATS", err)
	namespace = "usher_test_" + strings.TrimPrefix(NewID(), "msg_")
	t.Cleanup(func() {
		defer nc.Close()
		js, err := nc.JetStream()
		if err != nil {
			return
		}
		// The single stream of earlier versions and one per partition.
		for name := range js.StreamNames(nats.StreamListFilter(namespace + ".>")) {
			_ = js.DeleteStream(name)
		}
	})
	return natsURL, namespace
}
