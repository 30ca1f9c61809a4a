package scanner

import (
	"net/http"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/admin"
	"github.com/usherhq/usher/internal/httpjson"
	"github.com/usherhq/usher/internal/problem"
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

// fail writes err as a problem and logs internal failures once.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	if problem.Status(usher.ErrorCode(err)) >= 500 {
		s.log.Error("scanner request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	problem.Write(w, r, err)
}

// mayScanAt checks that the caller holds the scanner scope of a venue named
// in a request body (the route admitted any scanner scope).
func mayScanAt(r *http.Request, venue string) error {
	p, ok := admin.PrincipalFrom(r.Context())
	if !ok || !p.Has(admin.ScopeScannerPrefix+venue) {
		return usher.Errorf(usher.CodeForbidden, "this token lacks the scope %q", admin.ScopeScannerPrefix+venue)
	}
	return nil
}
