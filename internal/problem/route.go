package problem

import (
	"net/http"

	"github.com/usherhq/usher"
)

// routeMethods are the methods a 405 answer may list.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// NoRoute answers a request that no route of mux takes: 405 with an Allow
// header naming the methods the path has routes for, else 404 with
// notFound as its detail. A route whose pattern is catchAll (a mux's own
// catch-all, "" for none) does not count as one.
func NoRoute(w http.ResponseWriter, r *http.Request, mux *http.ServeMux, catchAll, notFound string) {
	var allow []string
	for _, m := range routeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := mux.Handler(probe); p != "" && p != catchAll {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		Write(w, r, usher.Errorf(usher.CodeNotFound, "%s", notFound))
		return
	}
	for _, m := range allow {
		w.Header().Add("Allow", m)
	}
	Write(w, r, usher.Errorf(usher.CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
}
