package clustertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSCluster is a JetStream cluster of nats-server processes on loopback.
type NATSCluster struct {
	Nodes []*NATSNode
}

// NATSNode is one server of the cluster.
type NATSNode struct {
	Name       string
	ClientPort int
	dir, bin   string
	proc       *Proc
}

// natsUser and natsPassword are usher's account in the cluster; the system
// account (user sys) can read every server's configuration.
const (
	natsUser     = "usher"
	natsPassword = "usher-cluster-test"
)

// nodeConfig is one node's configuration: fsync before every acknowledgement
// (sync_interval: always), usher's own account and a system account.
func nodeConfig(name, dir string, clientPort, routePort int, routes []string) string {
	return fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream {
  store_dir: %q
  sync_interval: always
  max_file_store: 4G
  max_memory_store: 64M
}
cluster {
  name: usher
  listen: 127.0.0.1:%d
  routes: [%s]
}
accounts {
  USHER { jetstream: enabled, users: [{user: %s, password: %s}] }
  SYS { users: [{user: sys, password: %s}] }
}
system_account: SYS
`, name, clientPort, filepath.Join(dir, "jetstream"), routePort, strings.Join(routes, ", "), natsUser, natsPassword, natsPassword)
}

// StartNATSCluster starts n nodes of bin under dir and waits until each
// accepts clients.
func StartNATSCluster(bin, dir string, n int) (*NATSCluster, error) {
	ports, err := FreePorts(2 * n)
	if err != nil {
		return nil, err
	}
	routes := make([]string, n)
	for i := range n {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i])
	}
	c := &NATSCluster{}
	for i := range n {
		node := &NATSNode{Name: fmt.Sprintf("n%d", i+1), ClientPort: ports[i], bin: bin, dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1))}
		if err := os.MkdirAll(node.dir, 0o755); err != nil {
			return nil, err
		}
		conf := nodeConfig(node.Name, node.dir, ports[i], ports[n+i], routes)
		if err := os.WriteFile(node.confPath(), []byte(conf), 0o644); err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, node)
	}
	for _, node := range c.Nodes {
		if err := node.Start(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.WaitJetStream(60 * time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// WaitJetStream waits until the cluster has a JetStream meta leader: until
// then every JetStream request fails.
func (c *NATSCluster) WaitJetStream(timeout time.Duration) error {
	nc, err := nats.Connect(c.URL())
	if err != nil {
		return fmt.Errorf("connect nats cluster: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jetstream not ready after %s: %w", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (n *NATSNode) confPath() string { return filepath.Join(n.dir, "nats.conf") }

// Start runs the node (again, after Kill) on its store and ports.
func (n *NATSNode) Start() error {
	p, err := startProc("nats "+n.Name, filepath.Join(n.dir, "nats.log"), exec.Command(n.bin, "-c", n.confPath()), nil)
	if err != nil {
		return err
	}
	n.proc = p
	if err := waitPort(n.ClientPort, 30*time.Second, p.Exited()); err != nil {
		return fmt.Errorf("nats %s: %w\n%s", n.Name, err, p.Log(4000))
	}
	return nil
}

// Kill ends the node with SIGKILL.
func (n *NATSNode) Kill() { n.proc.Kill() }

// Log returns the tail of the node's log.
func (n *NATSNode) Log() string { return n.proc.Log(4000) }

// URL is every node's client URL with usher's credentials, comma-separated.
func (c *NATSCluster) URL() string {
	urls := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		urls[i] = fmt.Sprintf("nats://%s:%s@127.0.0.1:%d", natsUser, natsPassword, n.ClientPort)
	}
	return strings.Join(urls, ",")
}

// Stop kills every node.
func (c *NATSCluster) Stop() {
	for _, n := range c.Nodes {
		if n.proc != nil {
			n.proc.Kill()
		}
	}
}
