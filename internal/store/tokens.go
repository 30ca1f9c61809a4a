package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// CreateToken stores a token hash with its scopes. A hash or id already
// stored is a usher.CodeConflict error.
func (db *DB) CreateToken(ctx context.Context, t usher.Token) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO admin_tokens (id, token_hash, scopes, description, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.Hash, strings.Join(t.Scopes, " "), t.Description, micros(t.CreatedAt), micros(t.ExpiresAt))
	if err != nil {
		if db.dialect.UniqueViolation(err) {
			return usher.Errorf(usher.CodeConflict, "token %q already exists", t.ID)
		}
		return fmt.Errorf("insert token: %w", err)
	}
	return nil
}

const tokenColumns = `SELECT id, token_hash, scopes, description, created_at, expires_at, revoked_at, last_used_at FROM admin_tokens`

func scanToken(row scanner) (usher.Token, error) {
	var t usher.Token
	var scopes string
	var created, expires, revoked, used int64
	if err := row.Scan(&t.ID, &t.Hash, &scopes, &t.Description, &created, &expires, &revoked, &used); err != nil {
		return usher.Token{}, err
	}
	t.Scopes, t.CreatedAt = strings.Fields(scopes), fromMicros(created)
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMicros(expires), fromMicros(revoked), fromMicros(used)
	return t, nil
}

// TokenByHash finds a token by the hash of its secret, revoked and expired
// ones included (the caller checks Live); found is false when none matches.
// Every read sees the last committed revocation, of any process: there is
// no cache in front of it.
func (db *DB) TokenByHash(ctx context.Context, hash string) (t usher.Token, found bool, err error) {
	t, err = scanToken(db.read.QueryRowContext(ctx, tokenColumns+` WHERE token_hash = $1`, hash))
	if isNoRows(err) {
		return usher.Token{}, false, nil
	}
	if err != nil {
		return usher.Token{}, false, fmt.Errorf("read token: %w", err)
	}
	return t, true, nil
}

// TokenByID returns a token's metadata; an unknown id is usher.CodeNotFound.
func (db *DB) TokenByID(ctx context.Context, id string) (usher.Token, error) {
	t, err := scanToken(db.read.QueryRowContext(ctx, tokenColumns+` WHERE id = $1`, id))
	if isNoRows(err) {
		return usher.Token{}, notFound("token", id)
	}
	if err != nil {
		return usher.Token{}, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// Tokens lists every token, revoked and expired ones included, oldest first.
func (db *DB) Tokens(ctx context.Context) ([]usher.Token, error) {
	rows, err := db.read.QueryContext(ctx, tokenColumns+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []usher.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("scan token: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken marks a token revoked at `at` and returns it. Revoking a
// revoked token changes nothing (its first revocation time stays); an
// unknown id is usher.CodeNotFound.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time) (usher.Token, error) {
	_, err := db.write.ExecContext(ctx, `UPDATE admin_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, micros(at), id)
	if err != nil {
		return usher.Token{}, fmt.Errorf("revoke token: %w", err)
	}
	return db.TokenByID(ctx, id)
}

// TouchToken records that a token was used at `at`, unless its last use is
// recorded after `since`: callers pass at minus their granularity, so that a
// busy token costs one write per interval, not one per request.
func (db *DB) TouchToken(ctx context.Context, id string, at, since time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE admin_tokens SET last_used_at = $1 WHERE id = $2 AND last_used_at < $3`, micros(at), id, micros(since))
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}
