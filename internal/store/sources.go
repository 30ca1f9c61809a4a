package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// CreateSource stores a source with its secrets; a taken name is a
// usher.CodeConflict error.
func (db *DB) CreateSource(ctx context.Context, src usher.Source, secrets []usher.SourceSecret) error {
	return db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO sources (name, scheme, rate_per_second, burst, allow_cidrs, max_body_bytes, tolerance_seconds, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			src.Name, src.Scheme, src.RatePerSecond, src.Burst, strings.Join(src.AllowCIDRs, " "), src.MaxBodyBytes, src.ToleranceSeconds, micros(src.CreatedAt))
		if err != nil {
			if db.dialect.UniqueViolation(err) {
				return usher.Errorf(usher.CodeConflict, "source %q already exists", src.Name)
			}
			return fmt.Errorf("insert source: %w", err)
		}
		for _, s := range secrets {
			s.Source = src.Name
			if err := tx.insertSecret(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
}

// secretContext binds a sealed secret to its row.
func secretContext(source, id string) string { return "source/" + source + "/" + id }

func (tx *Tx) insertSecret(ctx context.Context, s usher.SourceSecret) error {
	value := s.Secret
	if tx.db.sealer != nil {
		var err error
		if value, err = tx.db.sealer.Seal(s.Secret, secretContext(s.Source, s.ID)); err != nil {
			return err
		}
	}
	_, err := tx.exec(ctx, `INSERT INTO source_secrets (id, source, secret, state, not_after, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, s.ID, s.Source, value, s.State, micros(s.NotAfter), micros(s.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert source secret: %w", err)
	}
	return nil
}

// RotateSourceSecret adds next as the source's active secret and moves every
// active secret to retiring until notAfter (verifying until then). Secrets
// already retiring keep their own end. It returns usher.CodeNotFound for an
// unknown source.
func (db *DB) RotateSourceSecret(ctx context.Context, source string, next usher.SourceSecret, notAfter time.Time) error {
	return db.InTx(ctx, func(tx *Tx) error {
		var name string
		if err := tx.queryRow(ctx, `SELECT name FROM sources WHERE name = $1`, source).Scan(&name); err != nil {
			if isNoRows(err) {
				return notFound("source", source)
			}
			return fmt.Errorf("read source: %w", err)
		}
		if _, err := tx.exec(ctx, `UPDATE source_secrets SET state = $1, not_after = $2 WHERE source = $3 AND state = $4`,
			usher.SecretRetiring, micros(notAfter), source, usher.SecretActive); err != nil {
			return fmt.Errorf("retire secrets: %w", err)
		}
		next.Source, next.State = source, usher.SecretActive
		return tx.insertSecret(ctx, next)
	})
}

// UpdateSourcePolicy replaces a source's edge policy.
func (db *DB) UpdateSourcePolicy(ctx context.Context, source string, p usher.SourcePolicy) error {
	res, err := db.write.ExecContext(ctx, `UPDATE sources SET rate_per_second = $1, burst = $2, allow_cidrs = $3, max_body_bytes = $4, tolerance_seconds = $5
		WHERE name = $6`, p.RatePerSecond, p.Burst, strings.Join(p.AllowCIDRs, " "), p.MaxBodyBytes, p.ToleranceSeconds, source)
	if err != nil {
		return fmt.Errorf("update source policy: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("source", source)
	}
	return nil
}

// Source returns a source and all of its secrets, or a usher.CodeUnknownSource error.
func (db *DB) Source(ctx context.Context, name string) (usher.Source, []usher.SourceSecret, error) {
	src, err := scanSource(db.read.QueryRowContext(ctx, sourceColumns+` WHERE name = $1`, name))
	if err != nil {
		if isNoRows(err) {
			return usher.Source{}, nil, usher.Errorf(usher.CodeUnknownSource, "no source named %q", name)
		}
		return usher.Source{}, nil, fmt.Errorf("read source: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, secret, state, not_after, created_at FROM source_secrets
		WHERE source = $1 ORDER BY created_at DESC, id`, name)
	if err != nil {
		return usher.Source{}, nil, fmt.Errorf("read source secrets: %w", err)
	}
	defer rows.Close()
	var secrets []usher.SourceSecret
	for rows.Next() {
		s := usher.SourceSecret{Source: name}
		var notAfter, created int64
		if err := rows.Scan(&s.ID, &s.Secret, &s.State, &notAfter, &created); err != nil {
			return usher.Source{}, nil, fmt.Errorf("scan source secret: %w", err)
		}
		s.NotAfter, s.CreatedAt = fromMicros(notAfter), fromMicros(created)
		if db.sealer != nil {
			if s.Secret, err = db.sealer.Open(s.Secret, secretContext(name, s.ID)); err != nil {
				return usher.Source{}, nil, fmt.Errorf("open secret %s of source %s: %w", s.ID, name, err)
			}
		}
		secrets = append(secrets, s)
	}
	return src, secrets, rows.Err()
}

// Sources lists every source without secrets.
func (db *DB) Sources(ctx context.Context) ([]usher.Source, error) {
	rows, err := db.read.QueryContext(ctx, sourceColumns+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	out := []usher.Source{}
	for rows.Next() {
		s, err := scanSource(rows)
		if err != nil {
			return nil, fmt.Errorf("scan source: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

const sourceColumns = `SELECT name, scheme, rate_per_second, burst, allow_cidrs, max_body_bytes, tolerance_seconds, created_at FROM sources`

func scanSource(row scanner) (usher.Source, error) {
	var s usher.Source
	var cidrs string
	var created int64
	if err := row.Scan(&s.Name, &s.Scheme, &s.RatePerSecond, &s.Burst, &cidrs, &s.MaxBodyBytes, &s.ToleranceSeconds, &created); err != nil {
		return usher.Source{}, err
	}
	s.AllowCIDRs, s.CreatedAt = strings.Fields(cidrs), fromMicros(created)
	if s.AllowCIDRs == nil {
		s.AllowCIDRs = []string{}
	}
	return s, nil
}
