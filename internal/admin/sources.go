package admin

import (
	"context"
	"net/http"
	"net/netip"
	"regexp"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/webhook"
)

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

type createSourceRequest struct {
	Name   string `json:"name"`
	Scheme string `json:"scheme"`
	Secret string `json:"secret,omitempty"`
	usher.SourcePolicy
}

// SecretView is a source secret as the API shows it; Secret is set only in
// the answer that created it.
type SecretView struct {
	ID        string     `json:"id"`
	Secret    string     `json:"secret,omitempty"`
	State     string     `json:"state"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// SourceView is a source as the API shows it.
type SourceView struct {
	usher.Source
	Secrets []SecretView `json:"secrets"`
}

func (a *API) handleCreateSource() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req createSourceRequest
		if err := decode(r, &req); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if err := validatePolicy(req.SourcePolicy); err != nil {
			problem.Fail(w, r, err)
			return
		}
		view, err := CreateSource(r.Context(), a.store, req.Name, req.Scheme, req.Secret, req.SourcePolicy, a.now())
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		a.log.Info("source created", "source", view.Name, "scheme", view.Scheme, "secret_id", view.Secrets[0].ID)
		a.sourceChanged(view.Name)
		a.audit(r, "source.created", "source", view.Name, map[string]any{"scheme": view.Scheme, "secret_id": view.Secrets[0].ID})
		respond(w, http.StatusCreated, view)
	})
}

// SourceCreator stores a new source.
type SourceCreator interface {
	CreateSource(ctx context.Context, src usher.Source, secrets []usher.SourceSecret) error
}

// CreateSource validates and stores a source with one active secret, given
// (secret non-empty) or generated, and returns it with the secret shown once.
func CreateSource(ctx context.Context, st SourceCreator, name, scheme, secret string, pol usher.SourcePolicy, now time.Time) (SourceView, error) {
	if !sourceName.MatchString(name) {
		return SourceView{}, usher.Errorf(usher.CodeInvalid, "source name %q: use 1-63 of a-z, 0-9, _ and -, starting with a letter or digit", name)
	}
	key, shown, err := secretFor(scheme, secret)
	if err != nil {
		return SourceView{}, err
	}
	id := usher.NewID("key_")
	src := usher.Source{Name: name, Scheme: scheme, SourcePolicy: pol, CreatedAt: now.UTC()}
	sec := usher.SourceSecret{ID: id, Source: name, Secret: key, State: usher.SecretActive, CreatedAt: now.UTC()}
	if err := st.CreateSource(ctx, src, []usher.SourceSecret{sec}); err != nil {
		return SourceView{}, err
	}
	return SourceView{Source: src, Secrets: []SecretView{{ID: id, Secret: shown, State: sec.State, CreatedAt: sec.CreatedAt}}}, nil
}

// secretFor returns the HMAC key of a new secret of the scheme named scheme
// and its text form, as the scheme defines them (webhook.Scheme.ParseSecret,
// NewSecret).
func secretFor(scheme, given string) (key []byte, shown string, err error) {
	s, ok := webhook.Lookup(scheme)
	if !ok {
		return nil, "", usher.Errorf(usher.CodeInvalid, "unknown scheme %q; known: %v", scheme, webhook.Names())
	}
	return webhook.SourceSecret(s, given)
}

func (a *API) handleListSources() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srcs, err := a.store.Sources(r.Context())
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusOK, map[string]any{"sources": srcs})
	})
}

// source reads the source called name; an unknown one is CodeNotFound.
func (a *API) source(ctx context.Context, name string) (usher.Source, []usher.SourceSecret, error) {
	src, secrets, err := a.store.Source(ctx, name)
	if usher.ErrorCode(err) == usher.CodeUnknownSource {
		err = usher.Errorf(usher.CodeNotFound, "no source named %q", name)
	}
	return src, secrets, err
}

func (a *API) handleGetSource() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src, secrets, err := a.source(r.Context(), r.PathValue("name"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		view := SourceView{Source: src, Secrets: []SecretView{}}
		for _, s := range secrets {
			sv := SecretView{ID: s.ID, State: s.State, CreatedAt: s.CreatedAt}
			if !s.NotAfter.IsZero() {
				na := s.NotAfter
				sv.NotAfter = &na
			}
			view.Secrets = append(view.Secrets, sv)
		}
		respond(w, http.StatusOK, view)
	})
}

// validatePolicy checks an edge policy before it is stored.
func validatePolicy(p usher.SourcePolicy) error {
	if p.RatePerSecond < 0 || p.Burst < 0 || p.MaxBodyBytes < 0 || p.ToleranceSeconds < 0 {
		return usher.Errorf(usher.CodeInvalid, "rate_per_second, burst, max_body_bytes and tolerance_seconds cannot be negative")
	}
	if p.MaxBodyBytes > 4<<20 {
		return usher.Errorf(usher.CodeInvalid, "max_body_bytes is at most 4 MiB")
	}
	if p.ToleranceSeconds > 3600 {
		return usher.Errorf(usher.CodeInvalid, "tolerance_seconds is at most 3600")
	}
	for _, c := range p.AllowCIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			if _, err := netip.ParseAddr(c); err != nil {
				return usher.Errorf(usher.CodeInvalid, "allow_cidrs entry %q is neither a CIDR nor an address", c)
			}
		}
	}
	return nil
}

func (a *API) handleUpdateSource() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		// A merge patch: fields the body leaves out keep their values, so
		// changing the rate never drops the allowlist.
		src, _, err := a.source(r.Context(), name)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		p := src.SourcePolicy
		if err := decode(r, &p); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if err := validatePolicy(p); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if err := a.store.UpdateSourcePolicy(r.Context(), name, p); err != nil {
			problem.Fail(w, r, err)
			return
		}
		a.sourceChanged(name)
		a.audit(r, "source.policy_updated", "source", name, p)
		a.log.Info("source policy updated", "source", name, "rate_per_second", p.RatePerSecond, "burst", p.Burst, "allow_cidrs", p.AllowCIDRs)
		a.handleGetSource().ServeHTTP(w, r)
	})
}

type rotateRequest struct {
	Grace  string `json:"grace"`
	Secret string `json:"secret,omitempty"`
}

// maxGrace bounds a rotation's overlap: Stripe keeps an old secret 24 h.
const maxGrace = 7 * 24 * time.Hour

func (a *API) handleRotateSecret() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		var req rotateRequest
		if err := decode(r, &req); err != nil {
			problem.Fail(w, r, err)
			return
		}
		grace := 24 * time.Hour
		if req.Grace != "" {
			var err error
			if grace, err = time.ParseDuration(req.Grace); err != nil || grace < 0 || grace > maxGrace {
				problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "grace %q: a duration from 0s to 168h", req.Grace))
				return
			}
		}
		src, _, err := a.source(r.Context(), name)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		key, shown, err := secretFor(src.Scheme, req.Secret)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		id := usher.NewID("key_")
		now := a.now().UTC()
		next := usher.SourceSecret{ID: id, Secret: key, CreatedAt: now}
		if err := a.store.RotateSourceSecret(r.Context(), name, next, now.Add(grace)); err != nil {
			problem.Fail(w, r, err)
			return
		}
		a.sourceChanged(name)
		a.log.Info("source secret rotated", "source", name, "secret_id", id, "grace", grace)
		a.audit(r, "source.secret_rotated", "source", name, map[string]any{"secret_id": id, "grace": grace.String()})
		respond(w, http.StatusCreated, map[string]any{
			"source": name, "secret": SecretView{ID: id, Secret: shown, State: usher.SecretActive, CreatedAt: now},
			"previous_verify_until": now.Add(grace),
		})
	})
}
