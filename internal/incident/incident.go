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

// Tx is the unit of work incidents write in; the store's transaction
// implements it.
type Tx interface {
	CreateIncident(ctx context.Context, in usher.Incident) error
	TagIncident(ctx context.Context, id, kind string, refs []string, at time.Time) (int, error)
	CloseIncident(ctx context.Context, id, summary string, at time.Time) error
	AppendAudit(ctx context.Context, e usher.AuditEntry) error
}

// Store is what incidents read and write; the store, bound to Tx
// (store.Bind), implements it.
type Store interface {
	InTx(ctx context.Context, fn func(tx Tx) error) error
	Incident(ctx context.Context, id string) (usher.Incident, error)
	Incidents(ctx context.Context, status string, limit int) ([]usher.Incident, error)
	IncidentTags(ctx context.Context, id string, limit int) ([]usher.IncidentTag, error)
	IncidentDeadLetters(ctx context.Context, id string, limit int) ([]string, error)
	SearchDeadLetters(ctx context.Context, f usher.DeadLetterFilter) ([]usher.DeadLetterRecord, string, error)
	DeliveryRefs(ctx context.Context, f usher.DeliveryRefFilter) ([]string, error)
	InboundRefs(ctx context.Context, f usher.InboundRefFilter) ([]string, error)
	AuditLog(ctx context.Context, f usher.AuditFilter) ([]usher.AuditRecord, error)
}

// Replayer replays one dead letter: the delivery service. Its errors are
// usher.CodeConflict or usher.CodeNotImplemented for an item that cannot be
// replayed, and others for a failure.
type Replayer interface {
	ReplayDeadLetter(ctx context.Context, id string) (usher.DeadLetterRecord, error)
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

func (s *Service) audit(ctx context.Context, tx Tx, action, id string, detail any) error {
	return tx.AppendAudit(ctx, usher.AuditEntry{Actor: actor(ctx), Action: action, EntityType: entityType, EntityID: id, Detail: detail})
}

// Create opens an incident. A title is required.
func (s *Service) Create(ctx context.Context, title, description string) (usher.Incident, error) {
	title = strings.TrimSpace(title)
	if title == "" || len(title) > maxTitle {
		return usher.Incident{}, usher.Errorf(usher.CodeInvalid, "title: want 1 to %d characters", maxTitle)
	}
	if len(description) > maxSummary {
		return usher.Incident{}, usher.Errorf(usher.CodeInvalid, "description: at most %d characters", maxSummary)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return usher.Incident{}, fmt.Errorf("incident id: %w", err)
	}
	in := usher.Incident{ID: "inc_" + hex.EncodeToString(b[:]), Title: title, Description: description,
		Status: usher.IncidentOpen, CreatedBy: actor(ctx), CreatedAt: s.now().UTC(), Tags: map[string]int{}}
	err := s.st.InTx(ctx, func(tx Tx) error {
		if err := tx.CreateIncident(ctx, in); err != nil {
			return err
		}
		return s.audit(ctx, tx, ActionCreated, in.ID, map[string]string{"title": title})
	})
	if err != nil {
		return usher.Incident{}, err
	}
	return s.st.Incident(ctx, in.ID)
}

// Get returns one incident or a usher.CodeNotFound error.
func (s *Service) Get(ctx context.Context, id string) (usher.Incident, error) {
	return s.st.Incident(ctx, id)
}

// List lists incidents, newest first; status "" lists every state.
func (s *Service) List(ctx context.Context, status string, limit int) ([]usher.Incident, error) {
	if status != "" && status != usher.IncidentOpen && status != usher.IncidentClosed {
		return nil, usher.Errorf(usher.CodeInvalid, "status %q: want open or closed", status)
	}
	return s.st.Incidents(ctx, status, limit)
}

// Timeline lists the audit records of an incident, oldest first.
func (s *Service) Timeline(ctx context.Context, id string) ([]usher.AuditRecord, error) {
	if _, err := s.st.Incident(ctx, id); err != nil {
		return nil, err
	}
	return s.st.AuditLog(ctx, usher.AuditFilter{EntityType: entityType, EntityID: id, Limit: usher.MaxAuditLimit})
}

// Close closes an open incident with a summary.
func (s *Service) Close(ctx context.Context, id, summary string) (usher.Incident, error) {
	if len(summary) > maxSummary {
		return usher.Incident{}, usher.Errorf(usher.CodeInvalid, "summary: at most %d characters", maxSummary)
	}
	err := s.st.InTx(ctx, func(tx Tx) error {
		if err := tx.CloseIncident(ctx, id, summary, s.now().UTC()); err != nil {
			return err
		}
		return s.audit(ctx, tx, ActionClosed, id, map[string]string{"summary": summary})
	})
	if err != nil {
		return usher.Incident{}, err
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
	d.Timeline, err = s.st.AuditLog(ctx, usher.AuditFilter{EntityType: entityType, EntityID: id, Limit: usher.MaxAuditLimit})
	return d, err
}
