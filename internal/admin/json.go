package admin

import (
	"net/http"

	"github.com/usherhq/usher/internal/httpjson"
)

// maxAdminBody bounds admin request bodies.
const maxAdminBody = 1 << 20

// decode reads a JSON body strictly: unknown fields and trailing data are errors.
func decode(r *http.Request, v any) error {
	return httpjson.Decode(r, v, httpjson.Options{Limit: maxAdminBody})
}

// respond writes v as JSON with the status.
func respond(w http.ResponseWriter, status int, v any) { httpjson.Respond(w, status, v) }
