// Package incident groups what went wrong under one name: an operator opens
// an incident, tags the dead letters, deliveries and inbound events it
// covers, replays them all once a fix is deployed and closes it with a
// summary. Every change is an audit record of the incident, so its
// timeline (what was tagged, replayed and closed, by whom) is the audit
// trail itself.
package incident

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/store"
)

// Audit actions of incidents; their entity is ("incident", id).
const (
	ActionCreated  = "incident.created"
	ActionTagged   = "incident.tagged"
	ActionReplayed = "incident.replayed"
	ActionClosed   = "incident.closed"
	entityType     = "incident"
)

// Limits of one request.
const (
	maxTags    = 10000
	maxReplay  = 10000
	maxTitle   = 200
	maxSummary = 4000
)

// Store is what incidents read and write; *store.DB implements it.
type Store interface {
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	Incident(ctx context.Context, id string) (store.Incident, error)
	Incidents(ctx context.Context, status string, limit int) ([]store.Incident, error)
	IncidentTags(ctx context.Context, id string, limit int) ([]store.IncidentTag, error)
	IncidentDeadLetters(ctx context.Context, id string, limit int) ([]string, error)
	SearchDeadLetters(ctx context.Context, f store.DeadLetterFilter) ([]store.DeadLetterRecord, string, error)
	DeliveryRefs(ctx context.Context, f store.DeliveryRefFilter) ([]string, error)
	InboundRefs(ctx context.Context, f store.InboundRefFilter) ([]string, error)
	AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditRecord, error)
}

// Replayer replays one dead letter: the delivery service. Its errors are
// usher.CodeConflict or usher.CodeNotImplemented for an item that cannot be
// replayed, and others for a failure.
type Replayer interface {
	ReplayDeadLetter(ctx context.Context, id string) (store.DeadLetterRecord, error)
}

// Service opens, tags, replays and closes incidents.
type Service struct {
	st     Store
	replay Replayer
	now    func() time.Time
}

// New returns the incident service; replay may be nil when delivery is off
// (replaying then answers 501).
func New(st Store, replay Replayer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, replay: replay, now: now}
}

func actor(ctx context.Context) string {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return "token:" + p.TokenID
	}
	return "admin:unknown"
}

func (s *Service) audit(ctx context.Context, tx *store.Tx, action, id string, detail any) error {
	return tx.AppendAudit(ctx, store.AuditEntry{Actor: actor(ctx), Action: action, EntityType: entityType, EntityID: id, Detail: detail})
}

// Create opens an incident. A title is required.
func (s *Service) Create(ctx context.Context, title, description string) (store.Incident, error) {
	title = strings.TrimSpace(title)
	if title == "" || len(title) > maxTitle {
		return store.Incident{}, usher.Errorf(usher.CodeInvalid, "title: want 1 to %d characters", maxTitle)
	}
	if len(description) > maxSummary {
		return store.Incident{}, usher.Errorf(usher.CodeInvalid, "description: at most %d characters", maxSummary)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return store.Incident{}, fmt.Errorf("incident id: %w", err)
	}
	in := store.Incident{ID: "inc_" + hex.EncodeToString(b[:]), Title: title, Description: description,
		Status: store.IncidentOpen, CreatedBy: actor(ctx), CreatedAt: s.now().UTC(), Tags: map[string]int{}}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateIncident(ctx, in); err != nil {
			return err
		}
		return s.audit(ctx, tx, ActionCreated, in.ID, map[string]string{"title": title})
	})
	if err != nil {
		return store.Incident{}, err
	}
	return s.st.Incident(ctx, in.ID)
}

// Get returns one incident or a usher.CodeNotFound error.
func (s *Service) Get(ctx context.Context, id string) (store.Incident, error) {
	return s.st.Incident(ctx, id)
}

// List lists incidents, newest first; status "" lists every state.
func (s *Service) List(ctx context.Context, status string, limit int) ([]store.Incident, error) {
	if status != "" && status != store.IncidentOpen && status != store.IncidentClosed {
		return nil, usher.Errorf(usher.CodeInvalid, "status %q: want open or closed", status)
	}
	return s.st.Incidents(ctx, status, limit)
}

// Timeline lists the audit records of an incident, oldest first.
func (s *Service) Timeline(ctx context.Context, id string) ([]store.AuditRecord, error) {
	if _, err := s.st.Incident(ctx, id); err != nil {
		return nil, err
	}
	return s.st.AuditLog(ctx, store.AuditFilter{EntityType: entityType, EntityID: id, Limit: store.MaxAuditLimit})
}

// Close closes an open incident with a summary.
func (s *Service) Close(ctx context.Context, id, summary string) (store.Incident, error) {
	if len(summary) > maxSummary {
		return store.Incident{}, usher.Errorf(usher.CodeInvalid, "summary: at most %d characters", maxSummary)
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CloseIncident(ctx, id, summary, s.now().UTC()); err != nil {
			return err
		}
		return s.audit(ctx, tx, ActionClosed, id, map[string]string{"summary": summary})
	})
	if err != nil {
		return store.Incident{}, err
	}
	return s.st.Incident(ctx, id)
}

// Detail returns an incident with its items and its timeline.
func (s *Service) Detail(ctx context.Context, id string) (Detail, error) {
	in, err := s.st.Incident(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Incident: in}
	if d.Items, err = s.st.IncidentTags(ctx, id, maxTags); err != nil {
		return Detail{}, err
	}
	d.Timeline, err = s.st.AuditLog(ctx, store.AuditFilter{EntityType: entityType, EntityID: id, Limit: store.MaxAuditLimit})
	return d, err
}
