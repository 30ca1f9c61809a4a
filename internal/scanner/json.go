package scanner

import (
	"net/http"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/httpjson"
)

// Body limits: one scan is small; an offline upload carries up to MaxBatch.
const (
	maxScanBody  = 64 << 10
	maxBatchBody = 8 << 20
)

// decode reads a JSON body. Unknown fields are ignored, so that a scanner
// fleet can be updated before the server learns a field.
func decode(r *http.Request, limit int64, v any) error {
	return httpjson.Decode(r, v, httpjson.Options{Limit: limit, AllowUnknown: true})
}

func respond(w http.ResponseWriter, status int, v any) { httpjson.Respond(w, status, v) }

// mayScanAt checks that the caller holds the scanner scope of a venue named
// in a request body (the route admitted any scanner scope).
func mayScanAt(r *http.Request, venue string) error {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok || !p.Has(auth.ScopeScannerPrefix+venue) {
		return usher.Errorf(usher.CodeForbidden, "this token lacks the scope %q", auth.ScopeScannerPrefix+venue)
	}
	return nil
}
