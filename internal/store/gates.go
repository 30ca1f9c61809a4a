package store

import (
	"context"
	"fmt"
	"time"

	"github.com/usherhq/usher"
)

// TicketByCode returns the ticket holding code inside the transaction; found
// is false when no ticket has it.
func (tx *Tx) TicketByCode(ctx context.Context, code string) (usher.Ticket, bool, error) {
	ts, err := queryTickets(ctx, tx, ticketColumns+` WHERE code = $1`, code)
	if err != nil || len(ts) == 0 {
		return usher.Ticket{}, false, err
	}
	return ts[0], true, nil
}

// VenueTickets lists a venue's tickets ordered by id, after afterTicketID:
// the pages of a scanner snapshot.
func (db *DB) VenueTickets(ctx context.Context, venueID, afterTicketID string, limit int) ([]usher.Ticket, error) {
	return queryTickets(ctx, db.read, ticketColumns+` WHERE venue_id = $1 AND ticket_id > $2 ORDER BY ticket_id LIMIT $3`,
		venueID, afterTicketID, limit)
}

// RevokedAt returns when a ticket of the venue was last revoked, from its
// feed history (a reinstated ticket can be revoked again); found is false
// when the retained history holds no revocation.
func (tx *Tx) RevokedAt(ctx context.Context, venueID, ticketID string) (at time.Time, found bool, err error) {
	if err := tx.Flush(ctx); err != nil { // the feed rows this transaction holds back
		return time.Time{}, false, err
	}
	var us int64
	err = tx.queryRow(ctx, `SELECT changed_at FROM ticket_changes
		WHERE venue_id = $1 AND ticket_id = $2 AND status = $3 ORDER BY seq DESC LIMIT 1`,
		venueID, ticketID, string(usher.TicketRevoked)).Scan(&us)
	if isNoRows(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read revocation: %w", err)
	}
	return fromMicros(us), true, nil
}

const scanColumns = `SELECT id, venue_id, nonce, device_id, code_hash, ticket_id, show_id, mode, decision, result, reason,
	scanned_at, recorded_at, updated_at FROM scans`

func scanScan(row scanner) (usher.Scan, error) {
	var s usher.Scan
	var scanned, recorded, updated int64
	err := row.Scan(&s.ID, &s.VenueID, &s.Nonce, &s.DeviceID, &s.CodeHash, &s.TicketID, &s.ShowID, &s.Mode,
		&s.Decision, &s.Result, &s.Reason, &scanned, &recorded, &updated)
	s.ScannedAt, s.RecordedAt, s.UpdatedAt = fromMicros(scanned), fromMicros(recorded), fromMicros(updated)
	return s, err
}

// ScanByNonce returns the scan a venue recorded under nonce; found is false
// when there is none.
func (tx *Tx) ScanByNonce(ctx context.Context, venueID, nonce string) (usher.Scan, bool, error) {
	s, err := scanScan(tx.queryRow(ctx, scanColumns+` WHERE venue_id = $1 AND nonce = $2`, venueID, nonce))
	if isNoRows(err) {
		return usher.Scan{}, false, nil
	}
	if err != nil {
		return usher.Scan{}, false, fmt.Errorf("read scan: %w", err)
	}
	return s, true, nil
}

// InsertScan records a scan and returns its id. A nonce the venue already
// recorded fails with ErrConflict, so two racing uploads of one scan record
// it once: InTx retries, and the retry finds the first.
func (tx *Tx) InsertScan(ctx context.Context, s usher.Scan) (int64, error) {
	now := micros(tx.db.now())
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO scans (venue_id, nonce, device_id, code_hash, ticket_id, show_id, mode,
		decision, result, reason, scanned_at, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id`,
		s.VenueID, s.Nonce, s.DeviceID, s.CodeHash, s.TicketID, s.ShowID, s.Mode,
		s.Decision, s.Result, s.Reason, micros(s.ScannedAt), now).Scan(&id)
	if err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			return 0, fmt.Errorf("scan %s/%s: %w", s.VenueID, s.Nonce, usher.ErrConflict)
		}
		return 0, fmt.Errorf("insert scan: %w", err)
	}
	return id, nil
}

// SetScanResult changes the reconciled result of a recorded scan.
func (tx *Tx) SetScanResult(ctx context.Context, id int64, result, reason string) error {
	res, err := tx.exec(ctx, `UPDATE scans SET result = $1, reason = $2, updated_at = $3 WHERE id = $4`,
		result, reason, micros(tx.db.now()), id)
	if err != nil {
		return fmt.Errorf("update scan result: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return notFound("scan", fmt.Sprint(id))
	}
	return nil
}

// Scans lists a venue's scans in the order they were recorded, after the id
// afterID.
func (db *DB) Scans(ctx context.Context, venueID string, afterID int64, limit int) ([]usher.Scan, error) {
	return db.queryScans(ctx, scanColumns+` WHERE venue_id = $1 AND id > $2 ORDER BY id LIMIT $3`, venueID, afterID, limit)
}

const admissionColumns = `SELECT ticket_id, venue_id, scan_id, device_id, nonce, admitted_at, updated_at FROM admissions`

func scanAdmission(row scanner) (usher.Admission, error) {
	var a usher.Admission
	var admitted, updated int64
	err := row.Scan(&a.TicketID, &a.VenueID, &a.ScanID, &a.DeviceID, &a.Nonce, &admitted, &updated)
	a.AdmittedAt, a.UpdatedAt = fromMicros(admitted), fromMicros(updated)
	return a, err
}

// Admission returns the admission of a ticket; found is false when it was
// never admitted.
func (tx *Tx) Admission(ctx context.Context, ticketID string) (usher.Admission, bool, error) {
	a, err := scanAdmission(tx.queryRow(ctx, admissionColumns+` WHERE ticket_id = $1`, ticketID))
	if isNoRows(err) {
		return usher.Admission{}, false, nil
	}
	if err != nil {
		return usher.Admission{}, false, fmt.Errorf("read admission: %w", err)
	}
	return a, true, nil
}

// InsertAdmission records a ticket's first admission; a ticket already
// admitted fails with ErrConflict.
func (tx *Tx) InsertAdmission(ctx context.Context, a usher.Admission) error {
	_, err := tx.exec(ctx, `INSERT INTO admissions (ticket_id, venue_id, scan_id, device_id, nonce, admitted_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.TicketID, a.VenueID, a.ScanID, a.DeviceID, a.Nonce, micros(a.AdmittedAt), micros(tx.db.now()))
	if err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			return fmt.Errorf("admission of %s: %w", a.TicketID, usher.ErrConflict)
		}
		return fmt.Errorf("insert admission: %w", err)
	}
	return nil
}

// SwapAdmission moves a ticket's admission to the scan in a if it is still
// held by the scan fromScanID, and fails with ErrConflict otherwise.
func (tx *Tx) SwapAdmission(ctx context.Context, a usher.Admission, fromScanID int64) error {
	res, err := tx.exec(ctx, `UPDATE admissions SET scan_id = $1, device_id = $2, nonce = $3, admitted_at = $4, updated_at = $5
		WHERE ticket_id = $6 AND scan_id = $7`,
		a.ScanID, a.DeviceID, a.Nonce, micros(a.AdmittedAt), micros(tx.db.now()), a.TicketID, fromScanID)
	if err != nil {
		return fmt.Errorf("swap admission: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("admission of %s not held by scan %d: %w", a.TicketID, fromScanID, usher.ErrConflict)
	}
	return nil
}

// Admissions lists a venue's admissions by ticket id.
func (db *DB) Admissions(ctx context.Context, venueID string) ([]usher.Admission, error) {
	rows, err := db.read.QueryContext(ctx, admissionColumns+` WHERE venue_id = $1 ORDER BY ticket_id`, venueID)
	if err != nil {
		return nil, fmt.Errorf("list admissions: %w", err)
	}
	defer rows.Close()
	out := []usher.Admission{}
	for rows.Next() {
		a, err := scanAdmission(rows)
		if err != nil {
			return nil, fmt.Errorf("scan admission: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// FeedHead returns a venue's last sequence number, 0 before its first change.
func (db *DB) FeedHead(ctx context.Context, venueID string) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT seq FROM venue_seq WHERE venue_id = $1`, venueID).Scan(&seq)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read feed head: %w", err)
	}
	return seq, nil
}

// FeedFloor returns the last sequence number pruned from a venue's history.
func (db *DB) FeedFloor(ctx context.Context, venueID string) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT pruned_through FROM venue_feed WHERE venue_id = $1`, venueID).Scan(&seq)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read feed floor: %w", err)
	}
	return seq, nil
}

// FeedState reads a venue's feed bookkeeping. The reads are not one
// snapshot; each figure is current when read.
func (db *DB) FeedState(ctx context.Context, venueID string) (usher.FeedState, error) {
	st := usher.FeedState{VenueID: venueID}
	var err error
	if st.Head, err = db.FeedHead(ctx, venueID); err != nil {
		return st, err
	}
	var deliveredAt, lastScan int64
	err = db.read.QueryRowContext(ctx, `SELECT pruned_through, delivered_seq, delivered_at FROM venue_feed WHERE venue_id = $1`, venueID).
		Scan(&st.PrunedThrough, &st.DeliveredSeq, &deliveredAt)
	if err != nil && !isNoRows(err) {
		return st, fmt.Errorf("read venue feed: %w", err)
	}
	st.DeliveredAt = fromMicros(deliveredAt)
	if st.Head > 0 {
		last, err := db.TicketChanges(ctx, venueID, st.Head-1, 1)
		if err != nil {
			return st, err
		}
		if len(last) == 1 {
			st.Last = last[0]
		}
	}
	if st.DeliveredSeq < st.Head {
		next, err := db.TicketChanges(ctx, venueID, st.DeliveredSeq, 1)
		if err != nil {
			return st, err
		}
		if len(next) == 1 {
			st.OldestUndelivered = next[0].ChangedAt
		}
	}
	err = db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(recorded_at), 0) FROM scans WHERE venue_id = $1`, venueID).Scan(&lastScan)
	if err != nil {
		return st, fmt.Errorf("read last scan: %w", err)
	}
	st.LastScanAt = fromMicros(lastScan)
	return st, nil
}

func (tx *Tx) ensureVenueFeed(ctx context.Context, venueID string) error {
	_, err := tx.exec(ctx, `INSERT INTO venue_feed (venue_id, pruned_through, delivered_seq, delivered_at)
		VALUES ($1, 0, 0, 0) ON CONFLICT (venue_id) DO NOTHING`, venueID)
	if err != nil {
		return fmt.Errorf("venue feed row: %w", err)
	}
	return nil
}

// AdvanceFeedDelivered raises a venue's delivered mark to seq, if it is
// lower, and returns the mark it found. The caller that raised it learns
// which changes (prev, seq] it was the first to serve; every other caller gets
// prev >= seq. Concurrent callers, in any number of processes, never both
// claim the same change.
func (db *DB) AdvanceFeedDelivered(ctx context.Context, venueID string, seq int64, at time.Time) (prev int64, err error) {
	err = db.InTx(ctx, func(tx *Tx) error {
		if err := tx.ensureVenueFeed(ctx, venueID); err != nil {
			return err
		}
		// Lock the row before reading it, so that concurrent readers queue
		// here instead of failing a compare-and-swap and retrying.
		if _, err := tx.exec(ctx, `UPDATE venue_feed SET delivered_seq = delivered_seq WHERE venue_id = $1`, venueID); err != nil {
			return fmt.Errorf("lock delivered mark: %w", err)
		}
		if err := tx.queryRow(ctx, `SELECT delivered_seq FROM venue_feed WHERE venue_id = $1`, venueID).Scan(&prev); err != nil {
			return fmt.Errorf("read delivered mark: %w", err)
		}
		if prev >= seq {
			return nil
		}
		res, err := tx.exec(ctx, `UPDATE venue_feed SET delivered_seq = $1, delivered_at = $2 WHERE venue_id = $3 AND delivered_seq = $4`,
			seq, micros(at), venueID, prev)
		if err != nil {
			return fmt.Errorf("advance delivered mark: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("delivered mark of %s moved: %w", venueID, usher.ErrConflict)
		}
		return nil
	})
	return prev, err
}

// PruneTicketChanges removes feed history committed before the cutoff, at
// most limit entries per venue and call, and raises each venue's floor in
// the same transaction, so a reader that finds its cursor below the floor
// knows to take a snapshot instead. It returns how many entries went.
func (db *DB) PruneTicketChanges(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	rows, err := db.read.QueryContext(ctx, `SELECT venue_id, MAX(seq) FROM ticket_changes WHERE changed_at < $1 GROUP BY venue_id ORDER BY venue_id`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("find prunable feed history: %w", err)
	}
	type cut struct {
		venue   string
		through int64
	}
	var cuts []cut
	for rows.Next() {
		var c cut
		if err := rows.Scan(&c.venue, &c.through); err != nil {
			rows.Close()
			return 0, fmt.Errorf("scan prunable venue: %w", err)
		}
		cuts = append(cuts, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find prunable feed history: %w", err)
	}
	var total int64
	for _, c := range cuts {
		n, err := db.pruneVenueFeed(ctx, c.venue, c.through, limit)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (db *DB) pruneVenueFeed(ctx context.Context, venueID string, through int64, limit int) (int64, error) {
	var n int64
	err := db.InTx(ctx, func(tx *Tx) error {
		var oldest int64
		err := tx.queryRow(ctx, `SELECT COALESCE(MIN(seq), 0) FROM ticket_changes WHERE venue_id = $1`, venueID).Scan(&oldest)
		if err != nil {
			return fmt.Errorf("oldest feed entry: %w", err)
		}
		if oldest > 0 && through > oldest+int64(limit)-1 {
			through = oldest + int64(limit) - 1
		}
		if err := tx.ensureVenueFeed(ctx, venueID); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `UPDATE venue_feed SET pruned_through = $1 WHERE venue_id = $2 AND pruned_through < $1`, through, venueID)
		if err != nil {
			return fmt.Errorf("raise feed floor: %w", err)
		}
		res, err := tx.exec(ctx, `DELETE FROM ticket_changes WHERE venue_id = $1 AND seq <= $2`, venueID, through)
		if err != nil {
			return fmt.Errorf("prune feed: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
