// Package httpjson reads JSON request bodies and writes JSON answers the same
// way for every API surface of usher; errors are usher.CodeInvalid, so that
// problem.Write answers them as 400 problems.
package httpjson

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

// Options says how a body is read.
type Options struct {
	// Limit is the most bytes read; a longer body fails to decode.
	Limit int64
	// AllowUnknown ignores unknown fields (a scanner fleet may be updated
	// before the server); by default they are errors.
	AllowUnknown bool
	// Optional accepts an empty body and leaves v as it is.
	Optional bool
}

// Decode reads one JSON value from r's body into v; trailing data is an error.
func Decode(r *http.Request, v any, o Options) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, o.Limit))
	if !o.AllowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			if o.Optional {
				return nil
			}
			return usher.Errorf(usher.CodeInvalid, "a JSON body is required")
		}
		return usher.Errorf(usher.CodeInvalid, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return usher.Errorf(usher.CodeInvalid, "invalid JSON body: trailing data")
	}
	return nil
}

// Respond writes v as a JSON answer with the status; answers are never cached.
func Respond(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WithBody returns a handler that decodes the request's JSON body into a T,
// as o says, and passes it to fn; a body that does not decode is answered
// with its problem and never reaches fn.
func WithBody[T any](o Options, fn func(w http.ResponseWriter, r *http.Request, body T)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body T
		if err := Decode(r, &body, o); err != nil {
			problem.Fail(w, r, err)
			return
		}
		fn(w, r, body)
	})
}
