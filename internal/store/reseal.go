package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/personal"
)

// Rekeyer is a sealer with several master keys (secrets.Keyring): it opens
// under any of them, seals under the current one and tells which values the
// current one sealed.
type Rekeyer interface {
	Sealer
	IsCurrent(sealed []byte) bool
}

// sealedColumn is a column of sealed values: its table, the expression of
// the row's key, the columns that rebuild a value's sealing context, and
// whether the column is a JSON payload with a "sealed" field (dead letters).
type sealedColumn struct {
	table, key, column string
	parts              []string // selected after the key
	context            func(key string, parts []string) string
	payload            bool
}

// Name is "table.column".
func (c sealedColumn) Name() string { return c.table + "." + c.column }

// sealedColumns lists every value sealed with the master key.
func sealedColumns() []sealedColumn {
	return []sealedColumn{
		{table: "source_secrets", key: "id", column: "secret", parts: []string{"source"},
			context: func(k string, p []string) string { return secretContext(p[0], k) }},
		{table: "subscription_keys", key: "id", column: "secret", parts: []string{"subscription_id"},
			context: func(k string, p []string) string { return keyContext(p[0], k) }},
		{table: "ticket_signing_keys", key: "CAST(id AS TEXT)", column: "private_key",
			context: func(k string, _ []string) string { return "ticketkey/" + k }},
		{table: "code_secrets", key: "name", column: "secret",
			context: func(k string, _ []string) string { return codeSecretContext(k) }},
		{table: "buyers", key: "token", column: "email_sealed",
			context: func(k string, _ []string) string { return piiContext(k, "email") }},
		{table: "buyers", key: "token", column: "name_sealed",
			context: func(k string, _ []string) string { return piiContext(k, "name") }},
		{table: "dead_letters", key: "id", column: "payload", payload: true},
	}
}

// sealedRow is one value of a sealed column.
type sealedRow struct {
	key   string
	parts []string
	value []byte
}

// Reseal seals every value under the current key of r, batch rows per
// transaction, while the store is in use: each value is replaced only if it
// did not change meanwhile, and values already under the current key are
// skipped, so an interrupted run is resumed by running it again. limit > 0
// stops after that many values (the rest is left for the next run).
func (db *DB) Reseal(ctx context.Context, r Rekeyer, batch, limit int) (usher.ResealReport, error) {
	rep := usher.ResealReport{Resealed: map[string]int{}, Remaining: map[string]int{}, Unreadable: map[string]int{}}
	if batch <= 0 {
		batch = 100
	}
	budget := limit
	for _, c := range sealedColumns() {
		for cursor := ""; ; {
			rows, err := db.sealedRows(ctx, c, cursor, batch)
			if err != nil || len(rows) == 0 {
				if err != nil {
					return rep, err
				}
				break
			}
			cursor = rows[len(rows)-1].key
			err = db.InTx(ctx, func(tx *Tx) error { return tx.resealRows(ctx, r, c, rows, &budget, limit > 0, &rep) })
			if err != nil {
				return rep, fmt.Errorf("reseal %s: %w", c.Name(), err)
			}
		}
	}
	return rep, nil
}

func (db *DB) sealedRows(ctx context.Context, c sealedColumn, after string, n int) ([]sealedRow, error) {
	cols := c.key
	for _, p := range c.parts {
		cols += ", " + p
	}
	q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s > $1 ORDER BY %s LIMIT $2`, cols, c.column, c.table, c.key, c.key)
	rs, err := db.read.QueryContext(ctx, q, after, n)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name(), err)
	}
	defer rs.Close()
	var out []sealedRow
	for rs.Next() {
		row := sealedRow{parts: make([]string, len(c.parts))}
		dest := []any{&row.key}
		for i := range row.parts {
			dest = append(dest, &row.parts[i])
		}
		dest = append(dest, &row.value)
		if err := rs.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read %s: %w", c.Name(), err)
		}
		out = append(out, row)
	}
	return out, rs.Err()
}

// resealRows reseals the rows of one batch in the transaction.
func (tx *Tx) resealRows(ctx context.Context, r Rekeyer, c sealedColumn, rows []sealedRow, budget *int, limited bool, rep *usher.ResealReport) error {
	name := c.Name()
	for _, row := range rows {
		fresh, current, err := resealValue(r, c, row)
		switch {
		case errors.Is(err, errNothingSealed) || current:
			continue
		case err != nil:
			rep.Unreadable[name]++
			continue
		case limited && *budget <= 0:
			rep.Remaining[name]++
			continue
		}
		var old, next any = row.value, fresh
		if c.payload {
			old, next = string(row.value), string(fresh)
		}
		q := fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND %s = $3`, c.table, c.column, c.key, c.column)
		res, err := tx.exec(ctx, q, next, row.key, old)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			rep.Resealed[name]++
			*budget--
		} else {
			rep.Remaining[name]++ // changed meanwhile: the next run sees it
		}
	}
	return nil
}

// errNothingSealed marks a value with nothing sealed in it (an erased
// buyer's NULL, a dead letter without personal data).
var errNothingSealed = errors.New("nothing sealed")

// resealValue returns the value sealed under the current key, or current
// when it already is.
func resealValue(r Rekeyer, c sealedColumn, row sealedRow) (fresh []byte, current bool, err error) {
	if !c.payload {
		if row.value == nil {
			return nil, false, errNothingSealed
		}
		if r.IsCurrent(row.value) {
			return nil, true, nil
		}
		return reseal(r, row.value, c.context(row.key, row.parts))
	}
	var fields map[string]json.RawMessage
	var ev struct {
		Source string `json:"source"`
		ID     string `json:"id"`
		Sealed []byte `json:"sealed"`
	}
	if json.Unmarshal(row.value, &fields) != nil || json.Unmarshal(row.value, &ev) != nil || len(ev.Sealed) == 0 {
		return nil, false, errNothingSealed
	}
	if r.IsCurrent(ev.Sealed) {
		return nil, true, nil
	}
	sealed, _, err := reseal(r, ev.Sealed, personal.Context(ev.Source, ev.ID))
	if err != nil {
		return nil, false, err
	}
	fields["sealed"], _ = json.Marshal(sealed)
	fresh, err = json.Marshal(fields)
	return fresh, false, err
}

func reseal(r Rekeyer, sealed []byte, context string) ([]byte, bool, error) {
	plain, err := r.Open(sealed, context)
	if err != nil {
		return nil, false, err
	}
	fresh, err := r.Seal(plain, context)
	return fresh, false, err
}
