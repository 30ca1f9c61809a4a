package drain

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// A stream held open by a handler ends when its server shuts down, and the
// server's Shutdown then returns instead of waiting for it.
func TestShutdownEndsWatchedStreams(t *testing.T) {
	sig := New()
	entered := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig.Watch(r)
		sig.Watch(r) // registered once
		close(entered)
		<-sig.Done()
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a watched stream open: %v", err)
	}
	select {
	case <-sig.Done():
	default:
		t.Fatal("the signal is still open after the server shut down")
	}
	sig.Close() // again: no panic
}
