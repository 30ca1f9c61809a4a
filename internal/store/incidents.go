package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/usherhq/usher"
)

// CreateIncident stores a new, open incident.
func (tx *Tx) CreateIncident(ctx context.Context, in usher.Incident) error {
	_, err := tx.exec(ctx, `INSERT INTO incidents (id, title, description, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		in.ID, in.Title, in.Description, usher.IncidentOpen, in.CreatedBy, micros(in.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	return nil
}

const incidentColumns = `SELECT id, title, description, status, summary, created_by, created_at, closed_at FROM incidents`

func scanIncident(row scanner) (usher.Incident, error) {
	var in usher.Incident
	var created, closed int64
	err := row.Scan(&in.ID, &in.Title, &in.Description, &in.Status, &in.Summary, &in.CreatedBy, &created, &closed)
	in.CreatedAt, in.ClosedAt = fromMicros(created), fromMicros(closed)
	return in, err
}

// Incident returns one incident with its tag counts, or a
// usher.CodeNotFound error.
func (db *DB) Incident(ctx context.Context, id string) (usher.Incident, error) {
	in, err := scanIncident(db.read.QueryRowContext(ctx, incidentColumns+` WHERE id = $1`, id))
	if isNoRows(err) {
		return usher.Incident{}, notFound("incident", id)
	}
	if err != nil {
		return usher.Incident{}, fmt.Errorf("read incident: %w", err)
	}
	if in.Tags, err = db.tagCounts(ctx, id); err != nil {
		return usher.Incident{}, err
	}
	return in, nil
}

func (db *DB) tagCounts(ctx context.Context, id string) (map[string]int, error) {
	return db.countBy(ctx, `SELECT kind, COUNT(*) FROM incident_tags WHERE incident_id = $1 GROUP BY kind`, id)
}

// Incidents lists incidents, newest first, at most limit; status ""
// lists every state.
func (db *DB) Incidents(ctx context.Context, status string, limit int) ([]usher.Incident, error) {
	q, args := incidentColumns, []any{}
	if status != "" {
		q, args = q+` WHERE status = $1`, append(args, status)
	}
	args = append(args, limit)
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY created_at DESC, id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out := []usher.Incident{}
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan incident: %w", err)
		}
		out = append(out, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	for i := range out {
		if out[i].Tags, err = db.tagCounts(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// openIncident checks, inside tx, that an incident exists and is open:
// usher.CodeNotFound or usher.CodeConflict otherwise.
func (tx *Tx) openIncident(ctx context.Context, id string) error {
	var status string
	err := tx.queryRow(ctx, `SELECT status FROM incidents WHERE id = $1`, id).Scan(&status)
	if isNoRows(err) {
		return notFound("incident", id)
	}
	if err != nil {
		return fmt.Errorf("read incident: %w", err)
	}
	if status != usher.IncidentOpen {
		return usher.Errorf(usher.CodeConflict, "incident %s is %s", id, status)
	}
	return nil
}

// TagIncident adds items of one kind to an open incident and returns how
// many were new; items tagged before are left as they are.
func (tx *Tx) TagIncident(ctx context.Context, id, kind string, refs []string, at time.Time) (int, error) {
	if err := tx.openIncident(ctx, id); err != nil {
		return 0, err
	}
	added := 0
	for _, ref := range refs {
		res, err := tx.exec(ctx, `INSERT INTO incident_tags (incident_id, kind, ref, tagged_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (incident_id, kind, ref) DO NOTHING`, id, kind, ref, micros(at))
		if err != nil {
			return added, fmt.Errorf("tag incident: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil {
			added += int(n)
		}
	}
	return added, nil
}

// CloseIncident closes an open incident with a summary.
func (tx *Tx) CloseIncident(ctx context.Context, id, summary string, at time.Time) error {
	if err := tx.openIncident(ctx, id); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `UPDATE incidents SET status = $1, summary = $2, closed_at = $3 WHERE id = $4`,
		usher.IncidentClosed, summary, micros(at), id); err != nil {
		return fmt.Errorf("close incident: %w", err)
	}
	return nil
}

// IncidentTags lists what an incident covers, in tagging order, at most
// limit items.
func (db *DB) IncidentTags(ctx context.Context, id string, limit int) ([]usher.IncidentTag, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT kind, ref, tagged_at FROM incident_tags WHERE incident_id = $1
		ORDER BY tagged_at, kind, ref LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("list incident tags: %w", err)
	}
	defer rows.Close()
	out := []usher.IncidentTag{}
	for rows.Next() {
		var t usher.IncidentTag
		var at int64
		if err := rows.Scan(&t.Kind, &t.Ref, &at); err != nil {
			return nil, fmt.Errorf("scan incident tag: %w", err)
		}
		t.TaggedAt = fromMicros(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// IncidentDeadLetters lists the ids of the open dead letters an incident
// covers: those tagged, and those of its tagged deliveries and inbound
// events, at most limit.
func (db *DB) IncidentDeadLetters(ctx context.Context, id string, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT d.id FROM dead_letters d JOIN incident_tags t ON t.incident_id = $1 AND (
			(t.kind = 'dead_letter' AND t.ref = d.id)
			OR (t.kind = 'delivery' AND d.stage = 'delivery' AND t.ref = d.subscription_id || '/' || d.event_id)
			OR (t.kind = 'inbound' AND d.stage = 'processing' AND t.ref = d.source || '/' || d.event_id))
		WHERE d.replayed_at = 0 ORDER BY d.id LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("incident dead letters: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("scan dead letter id: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DeliveryRefs returns the refs (subscription_id/event_id) of the
// deliveries that match f, newest first.
func (db *DB) DeliveryRefs(ctx context.Context, f usher.DeliveryRefFilter) ([]string, error) {
	q := `SELECT subscription_id || '/' || event_id FROM deliveries WHERE subscription_id = $1 AND created_at >= $2`
	args := []any{f.SubscriptionID, micros(f.Since)}
	if f.Status != "" {
		args = append(args, f.Status)
		q += ` AND status = $` + strconv.Itoa(len(args))
	}
	if f.OrderID != "" {
		args = append(args, f.OrderID)
		q += ` AND order_id = $` + strconv.Itoa(len(args))
	}
	args = append(args, f.Limit)
	return db.refs(ctx, q+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
}

// InboundRefs returns the refs (source/event_id) of the inbound events
// that match f, newest first.
func (db *DB) InboundRefs(ctx context.Context, f usher.InboundRefFilter) ([]string, error) {
	q := `SELECT source || '/' || event_id FROM inbound_events WHERE processed_at >= $1`
	args := []any{micros(f.Since)}
	for _, c := range []struct{ col, v string }{{"source", f.Source}, {"order_id", f.OrderID}, {"outcome", f.Outcome}} {
		if c.v != "" {
			args = append(args, c.v)
			q += ` AND ` + c.col + ` = $` + strconv.Itoa(len(args))
		}
	}
	args = append(args, f.Limit)
	return db.refs(ctx, q+` ORDER BY processed_at DESC LIMIT $`+strconv.Itoa(len(args)), args...)
}

func (db *DB) refs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list refs: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("scan ref: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
