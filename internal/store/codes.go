package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/usherhq/usher"
)

func ticketKeyContext(id int64) string { return "ticketkey/" + strconv.FormatInt(id, 10) }

// TicketKeys returns every ticket signing key, oldest first, with its
// private key opened.
func (db *DB) TicketKeys(ctx context.Context) ([]usher.TicketKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, private_key, public_key, state, created_at
		FROM ticket_signing_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read ticket keys: %w", err)
	}
	defer rows.Close()
	var keys []usher.TicketKey
	for rows.Next() {
		var k usher.TicketKey
		var created int64
		if err := rows.Scan(&k.ID, &k.Private, &k.Public, &k.State, &created); err != nil {
			return nil, fmt.Errorf("scan ticket key: %w", err)
		}
		k.CreatedAt = fromMicros(created)
		if db.sealer != nil {
			if k.Private, err = db.sealer.Open(k.Private, ticketKeyContext(k.ID)); err != nil {
				return nil, fmt.Errorf("open ticket key %d: %w", k.ID, err)
			}
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// EnsureTicketKey stores first as the active key when no key is active, and
// reports whether it did. Processes that start together store one key: the
// others find it.
func (db *DB) EnsureTicketKey(ctx context.Context, first usher.TicketKey) (created bool, err error) {
	err = db.InTx(ctx, func(tx *Tx) error {
		created = false
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM ticket_signing_keys WHERE state = $1`, usher.TicketKeyActive).Scan(&n); err != nil {
			return fmt.Errorf("count active ticket keys: %w", err)
		}
		if n > 0 {
			return nil
		}
		first.State = usher.TicketKeyActive
		if _, err := tx.insertTicketKey(ctx, first); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created, err
}

// RotateTicketKey retires the active key and stores next as the active
// one; it returns next with its id. Retired keys keep verifying.
func (db *DB) RotateTicketKey(ctx context.Context, next usher.TicketKey) (usher.TicketKey, error) {
	var stored usher.TicketKey
	err := db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE ticket_signing_keys SET state = $1 WHERE state = $2`, usher.TicketKeyRetired, usher.TicketKeyActive); err != nil {
			return fmt.Errorf("retire ticket key: %w", err)
		}
		next.State = usher.TicketKeyActive
		var err error
		stored, err = tx.insertTicketKey(ctx, next)
		return err
	})
	return stored, err
}

// insertTicketKey stores k under a new id. The sealing context names the id,
// which the database assigns, so the row is inserted first and its private
// key sealed into it second, in the same transaction. A second active key
// violates the one-active index: ErrConflict, and InTx tries again.
func (tx *Tx) insertTicketKey(ctx context.Context, k usher.TicketKey) (usher.TicketKey, error) {
	err := tx.tx.QueryRowContext(ctx, `INSERT INTO ticket_signing_keys (private_key, public_key, state, created_at)
		VALUES ($1, $2, $3, $4) RETURNING id`, []byte{}, k.Public, k.State, micros(k.CreatedAt)).Scan(&k.ID)
	if err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			return usher.TicketKey{}, fmt.Errorf("insert ticket key: %w", usher.ErrConflict)
		}
		return usher.TicketKey{}, fmt.Errorf("insert ticket key: %w", err)
	}
	sealed := k.Private
	if tx.db.sealer != nil {
		if sealed, err = tx.db.sealer.Seal(k.Private, ticketKeyContext(k.ID)); err != nil {
			return usher.TicketKey{}, fmt.Errorf("seal ticket key: %w", err)
		}
	}
	if _, err := tx.exec(ctx, `UPDATE ticket_signing_keys SET private_key = $1 WHERE id = $2`, sealed, k.ID); err != nil {
		return usher.TicketKey{}, fmt.Errorf("store ticket key: %w", err)
	}
	return k, nil
}

func codeSecretContext(name string) string { return "codesecret/" + name }

// CodeSecret returns the server secret called name, sealed at rest under
// "codesecret/<name>". When there is none yet it stores candidate first, so
// every process of a deployment ends up with the same secret.
func (db *DB) CodeSecret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	var secret []byte
	err := db.InTx(ctx, func(tx *Tx) error {
		sealed := candidate
		if db.sealer != nil {
			var err error
			if sealed, err = db.sealer.Seal(candidate, codeSecretContext(name)); err != nil {
				return fmt.Errorf("seal code secret: %w", err)
			}
		}
		if _, err := tx.exec(ctx, `INSERT INTO code_secrets (name, secret, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, name, sealed, micros(db.now())); err != nil {
			return fmt.Errorf("insert code secret: %w", err)
		}
		if err := tx.queryRow(ctx, `SELECT secret FROM code_secrets WHERE name = $1`, name).Scan(&secret); err != nil {
			return fmt.Errorf("read code secret: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if db.sealer != nil {
		if secret, err = db.sealer.Open(secret, codeSecretContext(name)); err != nil {
			return nil, fmt.Errorf("open code secret %s: %w", name, err)
		}
	}
	return secret, nil
}

// PutShowSettings stores a show's settings, replacing earlier ones, and
// returns them as stored.
func (db *DB) PutShowSettings(ctx context.Context, s usher.ShowSettings) (usher.ShowSettings, error) {
	allow := 0
	if s.AllowStaticCodes {
		allow = 1
	}
	s.UpdatedAt = db.now().Truncate(time.Microsecond).UTC()
	_, err := db.write.ExecContext(ctx, `INSERT INTO show_settings (show_id, allow_static_codes, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (show_id) DO UPDATE SET allow_static_codes = $2, updated_at = $3`, s.ShowID, allow, micros(s.UpdatedAt))
	if err != nil {
		return usher.ShowSettings{}, fmt.Errorf("put show settings: %w", err)
	}
	return s, nil
}

// ShowSettings returns a show's settings, or the defaults when none are stored.
func (db *DB) ShowSettings(ctx context.Context, showID string) (usher.ShowSettings, error) {
	return showSettings(ctx, db.read, showID)
}

// ShowSettings returns a show's settings inside the transaction, or the
// defaults when none are stored.
func (tx *Tx) ShowSettings(ctx context.Context, showID string) (usher.ShowSettings, error) {
	return showSettings(ctx, tx, showID)
}

func showSettings(ctx context.Context, q querier, showID string) (usher.ShowSettings, error) {
	rows, err := q.QueryContext(ctx, `SELECT allow_static_codes, updated_at FROM show_settings WHERE show_id = $1`, showID)
	if err != nil {
		return usher.ShowSettings{}, fmt.Errorf("read show settings: %w", err)
	}
	defer rows.Close()
	s := usher.ShowSettings{ShowID: showID}
	if rows.Next() {
		var allow, updated int64
		if err := rows.Scan(&allow, &updated); err != nil {
			return usher.ShowSettings{}, fmt.Errorf("scan show settings: %w", err)
		}
		s.AllowStaticCodes, s.UpdatedAt = allow == 1, fromMicros(updated)
	}
	return s, rows.Err()
}

// UseDisplayCode records that a scan accepted a ticket's display code of
// u.Step. A step at or before the last one used for the ticket's generation
// by another nonce is ErrDisplayCodeUsed; the same nonce and step again (a
// retried scan) is accepted. A newer generation starts afresh. A concurrent
// use of the same ticket is ErrConflict, and InTx retries.
func (tx *Tx) UseDisplayCode(ctx context.Context, u usher.DisplayCodeUse) error {
	var gen int
	var step int64
	var nonce string
	err := tx.queryRow(ctx, `SELECT generation, step, nonce FROM display_code_uses WHERE ticket_id = $1`, u.TicketID).Scan(&gen, &step, &nonce)
	if isNoRows(err) {
		_, err := tx.exec(ctx, `INSERT INTO display_code_uses (ticket_id, generation, step, nonce, used_at) VALUES ($1, $2, $3, $4, $5)`,
			u.TicketID, u.Generation, u.Step, u.Nonce, micros(u.UsedAt))
		if err != nil && tx.db.dialect.UniqueViolation(err) {
			return fmt.Errorf("display code use of %s: %w", u.TicketID, usher.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("insert display code use: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read display code use: %w", err)
	}
	switch {
	case u.Generation == gen && u.Step == step && u.Nonce == nonce:
		return nil
	case u.Generation < gen || u.Generation == gen && u.Step <= step:
		return usher.ErrDisplayCodeUsed
	}
	res, err := tx.exec(ctx, `UPDATE display_code_uses SET generation = $1, step = $2, nonce = $3, used_at = $4
		WHERE ticket_id = $5 AND generation = $6 AND step = $7 AND nonce = $8`,
		u.Generation, u.Step, u.Nonce, micros(u.UsedAt), u.TicketID, gen, step, nonce)
	if err != nil {
		return fmt.Errorf("update display code use: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("display code use of %s: %w", u.TicketID, usher.ErrConflict)
	}
	return nil
}

// RevokePass records the revocation of a pass token id; revoking twice
// keeps the first time.
func (db *DB) RevokePass(ctx context.Context, tokenID string, at time.Time) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO pass_revocations (token_id, revoked_at) VALUES ($1, $2)
		ON CONFLICT (token_id) DO NOTHING`, tokenID, micros(at))
	if err != nil {
		return fmt.Errorf("revoke pass: %w", err)
	}
	return nil
}

// PassRevoked reports whether a pass token id was revoked.
func (db *DB) PassRevoked(ctx context.Context, tokenID string) (bool, error) {
	var one int
	err := db.read.QueryRowContext(ctx, `SELECT 1 FROM pass_revocations WHERE token_id = $1`, tokenID).Scan(&one)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read pass revocation: %w", err)
	}
	return true, nil
}

// PrunePassRevocations deletes revocations recorded before before and
// returns how many it deleted.
func (db *DB) PrunePassRevocations(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM pass_revocations WHERE revoked_at < $1`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("prune pass revocations: %w", err)
	}
	return res.RowsAffected()
}
