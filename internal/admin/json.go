package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/usherhq/usher"
)

// maxAdminBody bounds admin request bodies.
const maxAdminBody = 1 << 20

// decode reads a JSON body strictly: unknown fields and trailing data are errors.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return usher.Errorf(usher.CodeInvalid, "a JSON body is required")
		}
		return usher.Errorf(usher.CodeInvalid, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return usher.Errorf(usher.CodeInvalid, "invalid JSON body: trailing data")
	}
	return nil
}

// respond writes v as JSON with the status.
func respond(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
