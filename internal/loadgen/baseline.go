package loadgen

import (
	"context"
	"io"
	"net"
	"net/http"
)

// StartBaseline serves the machine's ceiling on 127.0.0.1: a bare net/http
// handler that reads the body and answers 202. It returns its URL and a stop
// function.
func StartBaseline() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Shutdown(context.Background()) }, nil
}
