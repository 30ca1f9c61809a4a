package passes

import (
	"context"
	"encoding/base64"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/httpjson"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/ticketcode"
)

// Error codes of this package. The problem table maps them to their
// statuses: invalid_pass 401, pass_expired, pass_revoked and ticket_revoked
// 410 (Gone: the same request will never succeed again).
const (
	CodeInvalidPass   usher.Code = "invalid_pass"
	CodePassExpired   usher.Code = "pass_expired"
	CodePassRevoked   usher.Code = "pass_revoked"
	CodeTicketRevoked usher.Code = "ticket_revoked"
)

// qrModulePixels is the size of one QR module in a pass image.
const qrModulePixels = 8

func (s *Service) handleListKeys() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond(w, http.StatusOK, map[string]any{
			"format": strings.TrimSuffix(ticketcode.Prefix, "."), "algorithm": "Ed25519", "keys": s.codes.Keys(),
		})
	})
}

func (s *Service) handleRotateKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := s.codes.Rotate(r.Context())
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("ticket signing key rotated", "key_id", k.KeyID)
		respond(w, http.StatusCreated, k)
	})
}

func (s *Service) handleVenueDisplayKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		venue := r.PathValue("venue_id")
		respond(w, http.StatusOK, map[string]any{
			"venue_id":       venue,
			"algorithm":      "TOTP-HMAC-SHA256",
			"key":            base64.RawURLEncoding.EncodeToString(s.codes.VenueDisplayKey(venue)),
			"period_seconds": int(ticketcode.DisplayPeriod / time.Second),
			"digits":         ticketcode.DisplayDigits,
			"skew_steps":     ticketcode.DisplaySkew,
		})
	})
}

func (s *Service) handleDisplayCode() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := s.liveTicket(r.Context(), r.PathValue("ticket_id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		code, validUntil := s.codes.DisplayCode(t, s.now())
		respond(w, http.StatusOK, map[string]any{"code": code, "valid_until": validUntil})
	})
}

func (s *Service) handleCreatePass() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ttl, err := s.passTTL(r.URL.Query().Get("ttl"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		t, err := s.liveTicket(r.Context(), r.PathValue("ticket_id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		token, p, err := newPassToken(s.codes.passKey, t.TicketID, s.now().Add(ttl))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusCreated, map[string]any{
			"url": s.baseURL(r) + "/passes/" + token, "expires_at": p.Expires, "token_id": p.ID,
		})
	})
}

// passTTL reads ?ttl= as a Go duration ("10m") or whole seconds ("600").
func (s *Service) passTTL(v string) (time.Duration, error) {
	if v == "" {
		return s.cfg.PassTTL, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseInt(v, 10, 64)
		if nerr != nil || n > int64(s.cfg.MaxPassTTL/time.Second) {
			return 0, usher.Errorf(usher.CodeInvalid, "ttl %q: want a duration such as 15m, or seconds", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < time.Second || d > s.cfg.MaxPassTTL {
		return 0, usher.Errorf(usher.CodeInvalid, "ttl %s: want 1s to %s", d, s.cfg.MaxPassTTL)
	}
	return d, nil
}

// baseURL is where pass URLs point: the configured public URL, or the
// scheme and host the request came to.
func (s *Service) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Service) handleRevokePass() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("token_id")
		if !validTokenID(id) {
			problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "%q is not a pass token id (pas_ and 24 hex digits)", id))
			return
		}
		if err := s.db.RevokePass(r.Context(), id, s.now()); err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("pass revoked", "token_id", id)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Service) handleGetShowSettings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		settings, err := s.db.ShowSettings(r.Context(), r.PathValue("show_id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusOK, settings)
	})
}

func (s *Service) handlePutShowSettings() http.Handler {
	type request struct {
		AllowStaticCodes *bool `json:"allow_static_codes"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(r, &req); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if req.AllowStaticCodes == nil {
			problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "allow_static_codes is required"))
			return
		}
		settings, err := s.db.PutShowSettings(r.Context(), usher.ShowSettings{ShowID: r.PathValue("show_id"), AllowStaticCodes: *req.AllowStaticCodes})
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusOK, settings)
	})
}

// pass is the JSON view of a pass: what the holder's page shows. It
// carries no personal data.
type pass struct {
	TicketID          string             `json:"ticket_id"`
	ShowID            string             `json:"show_id"`
	VenueID           string             `json:"venue_id"`
	TicketType        string             `json:"ticket_type"`
	Status            usher.TicketStatus `json:"status"`
	Code              string             `json:"code"`
	DisplayCode       string             `json:"display_code"`
	DisplayValidUntil time.Time          `json:"display_valid_until"`
	StaticCodeAllowed bool               `json:"static_code_allowed"`
	// GateCode is what the QR image encodes: the plain code when the show
	// admits it (an image that stays valid), else the display code.
	GateCode  string    `json:"gate_code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// handlePass serves GET /passes/{token}, public: the token is the
// capability. A forged or malformed token is 401 invalid_pass; an expired
// one 410 pass_expired; a revoked one 410 pass_revoked; the pass of a
// revoked ticket 410 ticket_revoked.
func (s *Service) handlePass() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The URL is a credential: keep it out of caches and Referer headers.
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Vary", "Accept")
		png, err := wantsPNG(r)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		p, err := s.openPass(r)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		if !png {
			respond(w, http.StatusOK, p)
			return
		}
		q, err := qrcode.New(p.GateCode, qrcode.Medium)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		img, err := q.PNG(-qrModulePixels)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", strconv.Itoa(len(img)))
		_, _ = w.Write(img)
	})
}

// openPass checks the request's token and builds its pass.
func (s *Service) openPass(r *http.Request) (pass, error) {
	ctx := r.Context()
	tok, err := parsePassToken(s.codes.passKey, r.PathValue("token"))
	if err != nil {
		return pass{}, usher.Errorf(CodeInvalidPass, "this pass link is not valid")
	}
	now := s.now()
	if !now.Before(tok.Expires) {
		return pass{}, usher.Errorf(CodePassExpired, "this pass link expired at %s", tok.Expires.Format(time.RFC3339))
	}
	revoked, err := s.db.PassRevoked(ctx, tok.ID)
	if err != nil {
		return pass{}, err
	}
	if revoked {
		return pass{}, usher.Errorf(CodePassRevoked, "this pass link was revoked")
	}
	t, err := s.db.Ticket(ctx, tok.TicketID)
	if err != nil {
		return pass{}, err
	}
	if t.Status == usher.TicketRevoked {
		return pass{}, usher.Errorf(CodeTicketRevoked, "this ticket is revoked")
	}
	settings, err := s.db.ShowSettings(ctx, t.ShowID)
	if err != nil {
		return pass{}, err
	}
	display, validUntil := s.codes.DisplayCode(t, now)
	p := pass{
		TicketID: t.TicketID, ShowID: t.ShowID, VenueID: t.VenueID, TicketType: t.TicketType, Status: t.Status,
		Code: t.Code, DisplayCode: display, DisplayValidUntil: validUntil, StaticCodeAllowed: settings.AllowStaticCodes,
		GateCode: display, ExpiresAt: tok.Expires,
	}
	if settings.AllowStaticCodes {
		p.GateCode = t.Code
	}
	return p, nil
}

// wantsPNG decides the representation: ?format=png or ?format=json, else
// the Accept header: image/png (or image/*) preferred over JSON.
func wantsPNG(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "png":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, usher.Errorf(usher.CodeInvalid, "format %q: want json or png", f)
	}
	var pngQ, jsonQ float64
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		switch mt {
		case "image/png", "image/*":
			pngQ = max(pngQ, q)
		case "application/json", "application/*":
			jsonQ = max(jsonQ, q)
		}
	}
	return pngQ > 0 && pngQ > jsonQ, nil
}

// maxBody bounds request bodies.
const maxBody = 1 << 16

// decode reads a JSON body strictly: unknown fields and trailing data are errors.
func decode(r *http.Request, v any) error {
	return httpjson.Decode(r, v, httpjson.Options{Limit: maxBody})
}

// respond writes v as JSON with the status.
func respond(w http.ResponseWriter, status int, v any) { httpjson.Respond(w, status, v) }

// liveTicket returns the ticket a code or pass is asked for; a revoked one
// is refused, since nothing may put it in a holder's hands again.
func (s *Service) liveTicket(ctx context.Context, id string) (usher.Ticket, error) {
	t, err := s.db.Ticket(ctx, id)
	if err == nil && t.Status == usher.TicketRevoked {
		return t, usher.Errorf(CodeTicketRevoked, "ticket %s is revoked", t.TicketID)
	}
	return t, err
}
