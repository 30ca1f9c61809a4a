package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embedded keeps the in-process JetStream server alive. When the server
// stops, or JetStream disables itself (it does on a storage error such as a
// full disk), a new server is started on the same store directory; the
// client connection reconnects to it by itself because it dials through
// InProcessConn, which always reaches the current server.
type embedded struct {
	cfg EmbeddedConfig
	log *slog.Logger

	mu sync.Mutex
	ns *server.Server
}

func startSupervised(cfg EmbeddedConfig, log *slog.Logger) (*embedded, error) {
	ns, err := StartEmbedded(cfg, log)
	if err != nil {
		return nil, err
	}
	return &embedded{cfg: cfg, log: log, ns: ns}, nil
}

// current returns the running server.
func (e *embedded) current() *server.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ns
}

// InProcessConn implements nats.InProcessConnProvider.
func (e *embedded) InProcessConn() (net.Conn, error) {
	return e.current().InProcessConn()
}

// healthy reports whether the server runs with JetStream enabled.
func (e *embedded) healthy() bool {
	ns := e.current()
	return ns.Running() && ns.JetStreamEnabled()
}

// watch restarts the server whenever it is unhealthy, until stop is closed.
// Restarts back off from 250 ms to 30 s while they keep failing (a disk
// that stays full).
func (e *embedded) watch(stop <-chan struct{}) {
	const minWait, maxWait = 250 * time.Millisecond, 30 * time.Second
	wait := minWait
	for {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		if e.healthy() {
			wait = minWait
			continue
		}
		if err := e.restart(); err != nil {
			e.log.Error("embedded NATS restart failed; webhooks get 503 until it succeeds", "retry_in", wait, "err", err)
			wait = min(2*wait, maxWait)
			continue
		}
		e.log.Warn("embedded NATS was down or JetStream disabled; restarted it on the same store")
		wait = minWait
	}
}

func (e *embedded) restart() error {
	old := e.current()
	old.Shutdown()
	old.WaitForShutdown()
	ns, err := StartEmbedded(e.cfg, e.log)
	if err != nil {
		return err
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		return errors.New("jetstream not enabled after restart")
	}
	e.mu.Lock()
	e.ns = ns
	e.mu.Unlock()
	return nil
}

func (e *embedded) shutdown() {
	ns := e.current()
	ns.Shutdown()
	ns.WaitForShutdown()
}

// natsLogger passes the embedded server's warnings and errors to usher's
// log, so that "JetStream out of resources, will be DISABLED" is seen.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Warnf(format string, v ...any) { l.log.Warn("nats: " + fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Errorf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Debugf(format string, v ...any) {}
func (l natsLogger) Tracef(format string, v ...any) {}
