package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Postgres is a private PostgreSQL cluster (its own initdb data directory
// and port), so that restarting it disturbs nothing else on the machine.
type Postgres struct {
	Port    int
	dir     string
	binDir  string
	cred    *syscall.Credential
	proc    *Proc
	removed bool
}

// postgresBinDir finds the newest /usr/lib/postgresql/*/bin holding initdb.
func postgresBinDir() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", fmt.Errorf("no initdb under /usr/lib/postgresql/*/bin")
	}
	slices.Sort(found)
	return filepath.Dir(found[len(found)-1]), nil
}

// postgresCredential is who runs the server: PostgreSQL refuses to run as
// root, so a root test runs it as the postgres user.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// StartPostgres initialises a cluster in a new directory under the system
// temporary directory (one the postgres user can reach) and starts it on a
// free loopback port with trust authentication.
func StartPostgres() (*Postgres, error) {
	binDir, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "usher-clustertest-pg-")
	if err != nil {
		return nil, err
	}
	ports, err := FreePorts(1)
	if err != nil {
		return nil, err
	}
	p := &Postgres{Port: ports[0], dir: dir, binDir: binDir, cred: cred}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	initdb := p.command("initdb", "-D", p.dataDir(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		p.Remove()
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := p.Start(); err != nil {
		p.Remove()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) dataDir() string { return filepath.Join(p.dir, "data") }

func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.binDir, name), args...)
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// Start runs the server (again, after Stop) and waits for it to listen.
func (p *Postgres) Start() error {
	cmd := p.command("postgres", "-D", p.dataDir(), "-p", strconv.Itoa(p.Port), "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "shared_buffers=64MB")
	proc, err := startProc("postgres", filepath.Join(p.dir, "postgres.log"), cmd, nil)
	if err != nil {
		return err
	}
	p.proc = proc
	deadline := time.Now().Add(60 * time.Second)
	for {
		// pg_isready succeeds once connections are accepted, not merely once
		// the port is open ("the database system is starting up").
		if p.command("pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port)).Run() == nil {
			return nil
		}
		select {
		case <-proc.Exited():
			return fmt.Errorf("postgres exited\n%s", proc.Log(4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 60s\n%s", proc.Log(4000))
		}
	}
}

// Stop shuts the server down fast (SIGINT: connections are cut, committed
// work is kept) and waits.
func (p *Postgres) Stop() error {
	if p.proc == nil {
		return nil
	}
	return p.proc.Stop(syscall.SIGINT, 60*time.Second)
}

// URL returns the URL of database db.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// Remove stops the server and deletes its directory.
func (p *Postgres) Remove() {
	if p.proc != nil {
		p.proc.Kill()
	}
	if !p.removed {
		_ = os.RemoveAll(p.dir)
		p.removed = true
	}
}
