package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/sys/unix"
)

// embedded keeps the in-process JetStream server alive. When the server
// stops, or JetStream disables itself, or the stream's store fails a write
// (on a full disk the server keeps JetStream on but the stream refuses every
// write until it is reopened), a new server is started on the same store
// directory; for a write failure, once the disk has MinFreeBytes free again.
// The client connection reconnects by itself because it dials through
// InProcessConn, which always reaches the current server.
type embedded struct {
	cfg EmbeddedConfig
	log *slog.Logger

	mu sync.Mutex
	ns *server.Server

	writeErr atomic.Pointer[string] // why the store is suspected stuck; nil when not
}

func startSupervised(cfg EmbeddedConfig, log *slog.Logger) (*embedded, error) {
	e := &embedded{cfg: cfg, log: log}
	ns, err := startEmbedded(cfg, log, e.writeFailed)
	if err != nil {
		return nil, err
	}
	e.ns = ns
	return e, nil
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

// writeFailed records that a stream store failed a write (the server said
// so, or probes got no answer); the watcher reopens the store once there is
// room.
func (e *embedded) writeFailed(why string) {
	if e.writeErr.CompareAndSwap(nil, &why) {
		e.log.Error("the embedded JetStream store failed a write; it is reopened once the disk has room",
			"why", why, "dir", e.cfg.DataDir, "min_free_bytes", e.cfg.MinFreeBytes)
	}
}

// watch restarts the server whenever it is unhealthy, or its store failed
// a write and the disk has room again, until stop is closed. Restarts back
// off from 250 ms to 30 s while they keep failing (a disk that stays full).
func (e *embedded) watch(stop <-chan struct{}) {
	const minWait, maxWait = 250 * time.Millisecond, 30 * time.Second
	wait := minWait
	var r reopener
	for {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		why, restart := e.diagnose(&r)
		if !restart {
			if why == "" {
				wait = minWait
			} else {
				wait = time.Second // waiting for room: look at the disk every second
			}
			continue
		}
		if err := e.restart(); err != nil {
			e.log.Error("embedded NATS restart failed; webhooks get 503 until it succeeds", "retry_in", wait, "err", err)
			wait = min(2*wait, maxWait)
			continue
		}
		e.log.Warn("restarted embedded NATS on the same store", "reason", why)
		wait = minWait
	}
}

// reopener spaces out the restarts that reopen a store after a failed
// write: 1 s apart, doubling up to 30 s while they follow each other within
// two minutes (a write that keeps failing with room on the disk).
type reopener struct {
	last time.Time
	gap  time.Duration
}

func (r *reopener) due() bool { return time.Since(r.last) >= r.gap }

func (r *reopener) done() {
	if time.Since(r.last) < 2*time.Minute {
		r.gap = min(max(2*r.gap, time.Second), 30*time.Second)
	} else {
		r.gap = time.Second
	}
	r.last = time.Now()
}

// diagnose says whether the server must be restarted and why; a non-empty
// reason without a restart means it waits for room on the disk.
func (e *embedded) diagnose(r *reopener) (why string, restart bool) {
	switch {
	case !e.healthy():
		return "embedded NATS was down or JetStream disabled", true
	case e.writeErr.Load() == nil:
		return "", false
	case !e.roomToReopen() || !r.due():
		return "waiting for room", false
	}
	r.done()
	return "the stream store failed a write: " + *e.writeErr.Swap(nil), true
}

// roomToReopen reports whether the data directory's disk has MinFreeBytes free.
func (e *embedded) roomToReopen() bool {
	var st unix.Statfs_t
	if err := unix.Statfs(e.cfg.DataDir, &st); err != nil {
		return false
	}
	return int64(st.Bavail)*int64(st.Bsize) >= e.cfg.MinFreeBytes
}

func (e *embedded) restart() error {
	old := e.current()
	old.Shutdown()
	old.WaitForShutdown()
	ns, err := startEmbedded(e.cfg, e.log, e.writeFailed)
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
// log, so that "JetStream out of resources, will be DISABLED" is seen. The
// server reports a stream's failed write only in its log, so onWriteError
// is told of those lines.
type natsLogger struct {
	log          *slog.Logger
	onWriteError func(why string)
}

func (l natsLogger) Noticef(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Warnf(format string, v ...any) { l.log.Warn("nats: " + fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}
func (l natsLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error("nats: " + msg)
	if l.onWriteError != nil && (strings.Contains(msg, "critical write error") || strings.Contains(msg, "failed to store a msg")) {
		l.onWriteError(msg)
	}
}
func (l natsLogger) Debugf(format string, v ...any) {}
func (l natsLogger) Tracef(format string, v ...any) {}
