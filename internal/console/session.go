package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/problem"
)

// cookieName holds the session id; the token itself never leaves the
// server after sign-in.
const cookieName = "usher_console"

// session is one sign-in. The token is kept so that every request is
// authenticated again: a revoked or expired token ends the session at once.
type session struct {
	token   string
	csrf    string
	expires time.Time
}

// sessions maps session ids to sign-ins, in memory: a restart signs
// everyone out, which is the safe side.
type sessions struct {
	mu  sync.Mutex
	m   map[string]session
	now func() time.Time
	ttl time.Duration
}

func newSessions(now func() time.Time, ttl time.Duration) *sessions {
	return &sessions{m: map[string]session{}, now: now, ttl: ttl}
}

func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create stores a new session and returns its id; expired ones go.
func (s *sessions) create(token string) (string, session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, id)
		}
	}
	id, v := randomID(), session{token: token, csrf: randomID(), expires: now.Add(s.ttl)}
	s.m[id] = v
	return id, v
}

func (s *sessions) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if ok && s.now().After(v.expires) {
		delete(s.m, id)
		return session{}, false
	}
	return v, ok
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// setCookie sets the session cookie, Secure when the browser reached the
// console over TLS: to usher itself, or to a trusted proxy that says so.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil || c.forwardedHTTPS(r), SameSite: http.SameSiteStrictMode,
	})
}

// forwardedHTTPS reports whether r comes from a trusted proxy whose
// X-Forwarded-Proto (its first entry: the proxy the browser reached) is
// https. Any other peer's header is ignored.
func (c *Console) forwardedHTTPS(r *http.Request) bool {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !slices.ContainsFunc(c.d.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(peer.Addr().Unmap()) }) {
		return false
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// handler is a console page or action of a signed-in caller.
type handler func(w http.ResponseWriter, r *http.Request, v *view)

type viewKey struct{}

// authed resolves the session cookie to a principal, authenticating its
// token again, and refuses cross-site state changes. Without a session a
// page redirects to sign-in and an action is refused.
func (c *Console) authed(next handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(cookieName)
		var sess session
		ok := err == nil
		if ok {
			sess, ok = c.sessions.get(ck.Value)
		}
		var p auth.Principal
		if ok {
			probe := r.Clone(r.Context())
			probe.Header = http.Header{"Authorization": {"Bearer " + sess.token}}
			if p, err = c.d.Auth.Authenticate(probe); err != nil {
				c.sessions.end(ck.Value)
				ok = false
			}
		}
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			problem.Fail(w, r, usher.Errorf(usher.CodeUnauthorized, "sign in to the console first"))
			return
		}
		if r.Method != http.MethodGet {
			if err := checkCSRF(r, sess.csrf); err != nil {
				problem.Fail(w, r, err)
				return
			}
		}
		v := &view{P: p, CSRF: sess.csrf, session: ck.Value}
		next(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), v)
	})
}

// scoped refuses a caller without the scope, as the API's guard does.
func (c *Console) scoped(scope string, next handler) handler {
	return func(w http.ResponseWriter, r *http.Request, v *view) {
		if !v.P.Has(scope) {
			problem.Fail(w, r, usher.Errorf(usher.CodeForbidden, "this needs the %s scope", scope))
			return
		}
		next(w, r, v)
	}
}

// checkCSRF accepts a state change only from this origin: the form's token
// must match the session's, and a browser's Origin and Sec-Fetch-Site
// headers, when sent, must name this site.
func checkCSRF(r *http.Request, want string) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	got := r.PostFormValue("csrf")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return usher.Errorf(usher.CodeForbidden, "the form's CSRF token is missing or wrong; reload the page")
	}
	return nil
}

func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return usher.Errorf(usher.CodeForbidden, "cross-site request refused (Sec-Fetch-Site: %s)", site)
	}
	if o := r.Header.Get("Origin"); o != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if o != scheme+"://"+r.Host {
			return usher.Errorf(usher.CodeForbidden, "cross-origin request refused (Origin: %s)", o)
		}
	}
	return nil
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, "login", &view{}, map[string]any{"Next": safeNext(r.URL.Query().Get("next")), "Error": r.URL.Query().Get("error")})
}

// login checks the token like any API call and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if err := sameOrigin(r); err != nil {
		problem.Fail(w, r, err)
		return
	}
	token := r.PostFormValue("token")
	next := safeNext(r.PostFormValue("next"))
	probe := r.Clone(r.Context())
	probe.Header = http.Header{"Authorization": {"Bearer " + token}}
	if _, err := c.d.Auth.Authenticate(probe); err != nil || token == "" {
		http.Redirect(w, r, Prefix+"login?error=1&next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	id, _ := c.sessions.create(token)
	c.setCookie(w, r, id, int(c.d.SessionTTL.Seconds()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, v *view) {
	c.sessions.end(v.session)
	c.setCookie(w, r, "", -1)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// safeNext keeps a redirect inside the console.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, Prefix) || strings.Contains(next, `\`) {
		return Prefix
	}
	return next
}
