package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// Secret states.
const (
	SecretActive   = "active"
	SecretRetiring = "retiring"
	SecretRetired  = "retired"
)

// SourceSecret is one signing secret of a source as stored.
type SourceSecret struct {
	ID        string
	Source    string
	Secret    []byte
	State     string
	NotAfter  time.Time // end of the grace window of a retiring secret
	CreatedAt time.Time
}

// CreateSource stores a source with its secrets; a taken name is a
// usher.CodeConflict error.
func (db *DB) CreateSource(ctx context.Context, src usher.Source, secrets []SourceSecret) error {
	return db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO sources (name, scheme, created_at) VALUES ($1, $2, $3)`,
			src.Name, src.Scheme, micros(src.CreatedAt))
		if err != nil {
			if db.dialect.UniqueViolation(err) {
				return usher.Errorf(usher.CodeConflict, "source %q already exists", src.Name)
			}
			return fmt.Errorf("insert source: %w", err)
		}
		for _, s := range secrets {
			_, err := tx.tx.ExecContext(ctx, `INSERT INTO source_secrets (id, source, secret, state, not_after, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, s.ID, src.Name, s.Secret, s.State, micros(s.NotAfter), micros(s.CreatedAt))
			if err != nil {
				return fmt.Errorf("insert source secret: %w", err)
			}
		}
		return nil
	})
}

// Source returns a source and all of its secrets, or a usher.CodeUnknownSource error.
func (db *DB) Source(ctx context.Context, name string) (usher.Source, []SourceSecret, error) {
	var src usher.Source
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT name, scheme, created_at FROM sources WHERE name = $1`, name).
		Scan(&src.Name, &src.Scheme, &created)
	if err != nil {
		if isNoRows(err) {
			return usher.Source{}, nil, usher.Errorf(usher.CodeUnknownSource, "no source named %q", name)
		}
		return usher.Source{}, nil, fmt.Errorf("read source: %w", err)
	}
	src.CreatedAt = fromMicros(created)
	rows, err := db.read.QueryContext(ctx, `SELECT id, secret, state, not_after, created_at FROM source_secrets
		WHERE source = $1 ORDER BY created_at DESC, id`, name)
	if err != nil {
		return usher.Source{}, nil, fmt.Errorf("read source secrets: %w", err)
	}
	defer rows.Close()
	var secrets []SourceSecret
	for rows.Next() {
		s := SourceSecret{Source: name}
		var notAfter, created int64
		if err := rows.Scan(&s.ID, &s.Secret, &s.State, &notAfter, &created); err != nil {
			return usher.Source{}, nil, fmt.Errorf("scan source secret: %w", err)
		}
		s.NotAfter, s.CreatedAt = fromMicros(notAfter), fromMicros(created)
		secrets = append(secrets, s)
	}
	return src, secrets, rows.Err()
}

// Sources lists every source without secrets.
func (db *DB) Sources(ctx context.Context) ([]usher.Source, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name, scheme, created_at FROM sources ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	out := []usher.Source{}
	for rows.Next() {
		var s usher.Source
		var created int64
		if err := rows.Scan(&s.Name, &s.Scheme, &created); err != nil {
			return nil, fmt.Errorf("scan source: %w", err)
		}
		s.CreatedAt = fromMicros(created)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Token is an admin bearer token as stored: only the SHA-256 of the token.
type Token struct {
	ID          string    `json:"id"`
	Hash        string    `json:"-"`
	Scopes      []string  `json:"scopes"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// CreateToken stores a token hash with its scopes.
func (db *DB) CreateToken(ctx context.Context, t Token) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO admin_tokens (id, token_hash, scopes, description, created_at) VALUES ($1, $2, $3, $4, $5)`,
		t.ID, t.Hash, strings.Join(t.Scopes, " "), t.Description, micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert token: %w", err)
	}
	return nil
}

// TokenByHash finds a token by the hash of its secret; found is false when none matches.
func (db *DB) TokenByHash(ctx context.Context, hash string) (t Token, found bool, err error) {
	var scopes string
	var created int64
	err = db.read.QueryRowContext(ctx, `SELECT id, token_hash, scopes, description, created_at FROM admin_tokens WHERE token_hash = $1`, hash).
		Scan(&t.ID, &t.Hash, &scopes, &t.Description, &created)
	if isNoRows(err) {
		return Token{}, false, nil
	}
	if err != nil {
		return Token{}, false, fmt.Errorf("read token: %w", err)
	}
	t.Scopes, t.CreatedAt = strings.Fields(scopes), fromMicros(created)
	return t, true, nil
}
