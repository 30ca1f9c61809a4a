// Package drain ends long-lived answers, such as server-sent event streams,
// when the HTTP server that carries them shuts down: http.Server.Shutdown
// waits for every handler, and a stream never ends on its own.
package drain

import (
	"net/http"
	"sync"
)

// Signal is closed once, by Close or by the shutdown of any HTTP server a
// request it watched came through. The zero value is not usable; use New.
type Signal struct {
	once sync.Once
	done chan struct{}

	mu      sync.Mutex
	watched map[*http.Server]bool
}

// New returns an open Signal.
func New() *Signal {
	return &Signal{done: make(chan struct{}), watched: map[*http.Server]bool{}}
}

// Done is closed when the streams must end.
func (s *Signal) Done() <-chan struct{} { return s.done }

// Close ends the streams; closing again does nothing.
func (s *Signal) Close() { s.once.Do(func() { close(s.done) }) }

// Watch makes the HTTP server that carries r close the signal when it
// shuts down; each server is registered once.
func (s *Signal) Watch(r *http.Request) {
	srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.watched[srv] {
		s.watched[srv] = true
		srv.RegisterOnShutdown(s.Close)
	}
}
