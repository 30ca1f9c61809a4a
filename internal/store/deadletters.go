package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// OpenDeadLetters counts dead letters not replayed, by stage.
func (db *DB) OpenDeadLetters(ctx context.Context) (map[string]int, error) {
	return db.countBy(ctx, `SELECT stage, COUNT(*) FROM dead_letters WHERE replayed_at = $1 GROUP BY stage`, 0)
}

// UpsertDeadLetter records a dead letter, or updates the one with the same
// id (a replayed delivery that failed again): reason, attempts, last error
// and payload are overwritten, the first error is kept, and it is open again.
func (tx *Tx) UpsertDeadLetter(ctx context.Context, d usher.DeadLetter) error {
	now := micros(tx.db.now())
	_, err := tx.exec(ctx, `INSERT INTO dead_letters (id, stage, source, subscription_id, event_id, type, order_id, venue_id,
		reason, attempts, first_error, last_error, payload, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		ON CONFLICT (id) DO UPDATE SET reason = $9, attempts = $10, last_error = $12, payload = $13, updated_at = $14, replayed_at = 0`,
		d.ID, d.Stage, d.Source, d.SubscriptionID, d.EventID, d.Type, d.OrderID, d.VenueID,
		d.Reason, d.Attempts, d.FirstError, d.LastError, string(d.Payload), now)
	if err != nil {
		return fmt.Errorf("upsert dead letter: %w", err)
	}
	return nil
}

// MarkDeadLetterReplayed closes a dead letter as replayed at the given time.
func (tx *Tx) MarkDeadLetterReplayed(ctx context.Context, id string, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE dead_letters SET replayed_at = $1, replays = replays + 1 WHERE id = $2`, micros(at), id)
	if err != nil {
		return fmt.Errorf("mark dead letter replayed: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mark dead letter replayed: %w", err)
	} else if n == 0 {
		return notFound("dead letter", id)
	}
	return nil
}

// SearchDeadLetters lists the dead letters that match f, newest first, and
// the cursor of the next page ("" on the last page). A cursor that is not
// one SearchDeadLetters returned is a usher.CodeInvalid error.
func (db *DB) SearchDeadLetters(ctx context.Context, f usher.DeadLetterFilter) ([]usher.DeadLetterRecord, string, error) {
	where, args, err := deadLetterWhere(f)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + deadLetterColumns + ` FROM dead_letters`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit+1)
	q += ` ORDER BY created_at DESC, id LIMIT $` + strconv.Itoa(len(args))
	out, err := db.queryDeadLetters(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		next = encodeDLCursor(micros(last.CreatedAt), last.ID)
	}
	return out, next, nil
}

// deadLetterWhere returns the conditions of a search, numbered $1, $2, …,
// and their arguments.
func deadLetterWhere(f usher.DeadLetterFilter) ([]string, []any, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	for _, c := range []struct{ col, v string }{
		{"stage", f.Stage}, {"source", f.Source}, {"subscription_id", f.SubscriptionID}, {"type", f.Type},
		{"order_id", f.OrderID}, {"venue_id", f.VenueID}, {"reason", f.Reason},
	} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if f.Error != "" {
		esc := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(f.Error))
		add(`(LOWER(last_error) LIKE ? ESCAPE '\' OR LOWER(first_error) LIKE ? ESCAPE '\')`, "%"+esc+"%")
	}
	if !f.Since.IsZero() {
		add("created_at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("created_at < ?", micros(f.Until))
	}
	switch f.State {
	case "", usher.DeadLettersOpen:
		add("replayed_at = ?", 0)
	case usher.DeadLettersReplayed:
		add("replayed_at > ?", 0)
	case usher.DeadLettersAll:
	default:
		return nil, nil, usher.Errorf(usher.CodeInvalid, "state %q: want open, replayed or all", f.State)
	}
	if f.Cursor != "" {
		created, id, err := decodeDLCursor(f.Cursor)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, created, id)
		n := len(args)
		where = append(where, fmt.Sprintf("(created_at < $%d OR (created_at = $%d AND id > $%d))", n-1, n-1, n))
	}
	return where, args, nil
}

// DeadLetterByID returns one dead letter, or a usher.CodeNotFound error.
func (db *DB) DeadLetterByID(ctx context.Context, id string) (usher.DeadLetterRecord, error) {
	out, err := db.queryDeadLetters(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters WHERE id = $1`, id)
	if err != nil {
		return usher.DeadLetterRecord{}, err
	}
	if len(out) == 0 {
		return usher.DeadLetterRecord{}, notFound("dead letter", id)
	}
	return out[0], nil
}

const deadLetterColumns = `id, stage, source, subscription_id, event_id, type, order_id, venue_id,
	reason, attempts, first_error, last_error, payload, created_at, updated_at, replayed_at, replays`

func (db *DB) queryDeadLetters(ctx context.Context, q string, args ...any) ([]usher.DeadLetterRecord, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("search dead letters: %w", err)
	}
	defer rows.Close()
	out := []usher.DeadLetterRecord{}
	for rows.Next() {
		var r usher.DeadLetterRecord
		d := &r.DeadLetter
		var payload string
		var created, updated, replayed int64
		if err := rows.Scan(&d.ID, &d.Stage, &d.Source, &d.SubscriptionID, &d.EventID, &d.Type, &d.OrderID, &d.VenueID,
			&d.Reason, &d.Attempts, &d.FirstError, &d.LastError, &payload, &created, &updated, &replayed, &r.Replays); err != nil {
			return nil, fmt.Errorf("scan dead letter: %w", err)
		}
		d.Payload, d.CreatedAt, d.UpdatedAt = json.RawMessage(payload), fromMicros(created), fromMicros(updated)
		r.ReplayedAt = fromMicros(replayed)
		out = append(out, r)
	}
	return out, rows.Err()
}

func encodeDLCursor(created int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(created, 10) + "." + id))
}

func decodeDLCursor(c string) (int64, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		ts, id, ok := strings.Cut(string(raw), ".")
		if n, perr := strconv.ParseInt(ts, 10, 64); ok && perr == nil && id != "" {
			return n, id, nil
		}
	}
	return 0, "", usher.Errorf(usher.CodeInvalid, "cursor %q is not one this API returned", c)
}

// InsertDeadLetter records a dead letter; one with an id already stored is
// left as it is, so a replayed failure is kept once.
func (tx *Tx) InsertDeadLetter(ctx context.Context, d usher.DeadLetter) error {
	now := micros(tx.db.now())
	_, err := tx.exec(ctx, `INSERT INTO dead_letters (id, stage, source, subscription_id, event_id, type, order_id, venue_id,
		reason, attempts, first_error, last_error, payload, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		ON CONFLICT (id) DO NOTHING`,
		d.ID, d.Stage, d.Source, d.SubscriptionID, d.EventID, d.Type, d.OrderID, d.VenueID,
		d.Reason, d.Attempts, d.FirstError, d.LastError, string(d.Payload), now)
	if err != nil {
		return fmt.Errorf("insert dead letter: %w", err)
	}
	return nil
}

// DeadLetters lists dead letters, newest first.
func (db *DB) DeadLetters(ctx context.Context, limit int) ([]usher.DeadLetter, error) {
	recs, err := db.queryDeadLetters(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters ORDER BY created_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	out := make([]usher.DeadLetter, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.DeadLetter)
	}
	return out, nil
}
