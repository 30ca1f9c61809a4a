// Package httpjson reads JSON request bodies and writes JSON answers the same
// way for every API surface of usher; a body over its limit is
// usher.CodeBodyTooLarge and every other fault usher.CodeInvalid, so that
// problem.Write answers them as 413 and 400 problems.
package httpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

// Options says how a body is read.
type Options struct {
	// Limit is the most bytes a body may hold; a longer one is refused
	// with usher.CodeBodyTooLarge.
	Limit int64
	// AllowUnknown ignores unknown fields (a scanner fleet may be updated
	// before the server); by default they are errors.
	AllowUnknown bool
	// Optional accepts an empty body and leaves v as it is.
	Optional bool
}

// Decode reads one JSON value from r's body into v. A body over o.Limit is
// usher.CodeBodyTooLarge (413), read no further; one declared as another
// media type is usher.CodeUnsupportedMedia (415); anything else wrong with it
// (not JSON, an unknown field, a value of the wrong type, trailing data
// after the value, however far after) is usher.CodeInvalid.
func Decode(r *http.Request, v any, o Options) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, o.Limit+1))
	if err != nil {
		return usher.Errorf(usher.CodeInvalid, "the body could not be read: %v", err)
	}
	if int64(len(body)) > o.Limit {
		return usher.Errorf(usher.CodeBodyTooLarge, "the body is over this endpoint's limit of %d bytes", o.Limit)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if o.Optional {
			return nil
		}
		return usher.Errorf(usher.CodeInvalid, "a JSON body is required")
	}
	if err := CheckContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if !o.AllowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return usher.Errorf(usher.CodeInvalid, "invalid JSON body: %s", describe(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return usher.Errorf(usher.CodeInvalid, "invalid JSON body: trailing data after the value")
	}
	return nil
}

// CheckContentType refuses, with usher.CodeUnsupportedMedia (415), a body
// declared as anything but JSON (application/json or a +json type). A body
// without a Content-Type is read as JSON: many senders omit it.
func CheckContentType(ct string) error {
	switch ct {
	case "", "application/json":
		return nil // the common cases, without parsing
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return usher.Errorf(usher.CodeUnsupportedMedia, "content type %q is not application/json", ct)
	}
	return nil
}

// describe says what is wrong with a body in the API's terms, not Go's: a
// value of the wrong type names its field and the JSON type wanted.
func describe(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := "the body"
		if te.Field != "" {
			where = fmt.Sprintf("field %q", te.Field)
		}
		return fmt.Sprintf("%s: got %s, want %s", where, te.Value, jsonKind(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the body ends inside a value"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another type"
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
