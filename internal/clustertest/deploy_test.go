package clustertest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for the checks

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/webhook"
)

// bins are the binaries every test runs, built once by TestMain.
type bins struct{ nats, usher string }

var built bins

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "usher-clustertest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if built.nats, err = BuildNATSServer(ctx, os.Getenv("USHER_CLUSTER_CACHE")); err == nil {
		built.usher, err = BuildUsher(ctx, dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		return 1
	}
	return m.Run()
}

const (
	adminToken = "clustertest-admin-token-0123456789"
	masterKey  = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // processes share the key
	partitions = 8
)

// deployment is the scaled-out usher: three NATS nodes, a private
// PostgreSQL, two receivers and two processors.
type deployment struct {
	t       *testing.T
	nats    *NATSCluster
	pg      *Postgres
	db      *sql.DB
	ingest  []*Usher
	process []*Usher
	source  string
	key     webhook.Secret
	client  *http.Client
}

// deploy starts the whole deployment; everything stops when the test ends.
func deploy(t *testing.T) *deployment {
	t.Helper()
	if _, err := postgresBinDir(); err != nil && os.Getenv("CI") == "" {
		t.Skipf("PostgreSQL binaries are not installed: %v", err)
	}
	d := &deployment{t: t, client: deployClient()}
	var err error
	if d.nats, err = StartNATSCluster(built.nats, t.TempDir(), 3); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.nats.Stop)
	if d.pg, err = StartPostgres(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.pg.Remove)
	if d.db, err = sql.Open("pgx", d.pg.URL("postgres")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.db.Close() })
	ports, err := FreePorts(4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		d.ingest = append(d.ingest, d.usher(fmt.Sprintf("ingest-%d", i+1), ports[i], "ingest"))
		d.process = append(d.process, d.usher(fmt.Sprintf("process-%d", i+1), ports[2+i], "process"))
	}
	// The first one bootstraps the demo source in the empty store.
	d.start(d.ingest[0])
	d.source, d.key = credentials(t, d.ingest[0].DataDir)
	d.putCapacity(server.DemoShow, 1_000_000)
	for _, u := range []*Usher{d.ingest[1], d.process[0], d.process[1]} {
		d.start(u)
	}
	t.Cleanup(func() {
		for _, u := range d.all() {
			u.Kill()
			if t.Failed() {
				t.Logf("log of %s:\n%s", u.Name, u.Log())
			}
		}
	})
	return d
}

func (d *deployment) usher(name string, port int, role string) *Usher {
	return NewUsher(built.usher, name, "127.0.0.1:"+strconv.Itoa(port), filepath.Join(d.t.TempDir(), name),
		"--nats-url", d.nats.URL(), "--postgres-url", d.pg.URL("postgres"), "--roles", role,
		"--master-key", masterKey, "--admin-token", adminToken, "--partitions", strconv.Itoa(partitions),
		"--log-format", "text", "--ingest-receivers", "2")
}

func (d *deployment) start(u *Usher) {
	d.t.Helper()
	if err := u.Start(); err != nil {
		d.t.Fatal(err)
	}
}

func (d *deployment) all() []*Usher { return append(append([]*Usher{}, d.ingest...), d.process...) }

// credentials reads the demo source written by the bootstrapping process.
func credentials(t *testing.T, dataDir string) (string, webhook.Secret) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir, server.CredentialsFile))
	if err != nil {
		t.Fatalf("credentials: %v", err)
	}
	var c server.Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("credentials: %v", err)
	}
	k, err := webhook.DecodeSecret(c.Secret)
	if err != nil {
		t.Fatalf("credentials secret: %v", err)
	}
	return c.Source, webhook.Secret{ID: "clustertest", Key: k}
}

func (d *deployment) putCapacity(show string, capacity int) {
	d.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, d.ingest[0].URL+"/v1/shows/"+show+"/inventory/"+server.DemoTicketType,
		strings.NewReader(fmt.Sprintf(`{"capacity":%d}`, capacity)))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("put capacity: %d, want 200", resp.StatusCode)
	}
}

func deployClient() *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
}
