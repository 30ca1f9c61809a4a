package auth

import (
	"net/http"
	"strings"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

// Route is one API route and the scope it needs. A scope may name a path
// wildcard, as in "scanner:{venue_id}", resolved per request.
type Route struct {
	Method  string
	Pattern string
	Scope   string
	Handler http.Handler
}

// Guard wraps h so that it runs only for a caller holding scope: 401 without
// a valid token, 400 for a malformed path identifier, 403 without the scope.
// h finds the caller with PrincipalFrom.
func (a *Authenticator) Guard(scope string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="usher"`)
			problem.Fail(w, r, err)
			return
		}
		if err := validPathIDs(r); err != nil {
			problem.Fail(w, r, err)
			return
		}
		need := resolveScope(scope, r)
		allowed := p.Has(need)
		if scope == ScopeScannerAny {
			allowed = p.HasAnyScanner()
		}
		if !allowed {
			problem.Fail(w, r, usher.Errorf(usher.CodeForbidden, "this token lacks the scope %q", need))
			return
		}
		h.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// pathIDs are the path wildcards that name an identifier; Guard checks each
// against usher's identifier grammar before the scope, so that no route sees
// a malformed id and "scanner:{venue_id}" never resolves to "scanner:*".
func pathIDs() []string {
	return []string{"order_id", "show_id", "venue_id", "ticket_id", "ticket_type"}
}

// validPathIDs returns a CodeInvalid error naming the first path identifier
// of r that breaks the grammar.
func validPathIDs(r *http.Request) error {
	for _, name := range pathIDs() {
		if v := r.PathValue(name); v != "" {
			if err := usher.ValidateID(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveScope fills {wildcards} of a route scope from the request path. The
// result is compared literally (Principal.Has): a path naming venue "*"
// needs the scope "scanner:*", which only a "*" token holds.
func resolveScope(scope string, r *http.Request) string {
	open := strings.IndexByte(scope, '{')
	end := strings.IndexByte(scope, '}')
	if open < 0 || end < open {
		return scope
	}
	return scope[:open] + r.PathValue(scope[open+1:end]) + scope[end+1:]
}
