// Package migrations is the one schema source of both store engines: goose
// SQL files, numbered as goose versions, written once with a few dialect
// tokens that each engine expands (see Expand). The goose version table and
// the version numbers are those the per-engine files had, so a database
// created by them migrates on.
//
// Tokens, each in double braces:
//
//	{{bytes}}      a byte-string column type (BLOB, BYTEA)
//	{{bigint}}     a 64-bit integer type, where the SQLite text is INTEGER
//	               (INTEGER PRIMARY KEY there is the rowid)
//	{{autoinc}}    a 64-bit auto-increment primary key column
//	{{random_id}}  an SQL expression giving 32 random hex digits
//
// Other 64-bit columns are written BIGINT, which both engines accept.
//
// Adding a migration: write NNNNN_name.sql here once. Converting a
// per-engine pair: start from the SQLite file; where the PostgreSQL file
// differs, put the token whose two expansions are the two texts (BLOB/BYTEA
// is {{bytes}}, INTEGER PRIMARY KEY AUTOINCREMENT / BIGINT GENERATED ALWAYS
// AS IDENTITY PRIMARY KEY is {{autoinc}}, INTEGER/BIGINT is {{bigint}}); a
// difference no token covers gets a new token, added to Tokens and to each
// engine's Migrations. Then check that each engine's expansion is
// byte-identical to its old file (sha256, as in expand_test.go).
package migrations

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing/fstest"
)

//go:embed *.sql
var files embed.FS

// Dialect is the text each token becomes on one engine.
type Dialect map[string]string

// Tokens lists every token a Dialect must define.
func Tokens() []string {
	return []string{"bytes", "bigint", "autoinc", "random_id"}
}

// token matches a token in a migration.
var token = regexp.MustCompile(`\{\{\s*([a-z_]+)\s*\}\}`)

// Expand returns the migrations with every token replaced by d's text, as
// an fs.FS of NNNNN_name.sql files for goose. It fails when d lacks a token
// or a migration uses an unknown one, so no token reaches an engine.
func Expand(d Dialect) (fs.FS, error) {
	for _, t := range Tokens() {
		if _, ok := d[t]; !ok {
			return nil, fmt.Errorf("migrations: dialect has no text for {{%s}}", t)
		}
	}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	out := fstest.MapFS{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		raw, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		text, err := expand(raw, d)
		if err != nil {
			return nil, fmt.Errorf("migrations: %s: %w", e.Name(), err)
		}
		out[e.Name()] = &fstest.MapFile{Data: text, Mode: 0o444}
	}
	return out, nil
}

// expand replaces the tokens of one file.
func expand(raw []byte, d Dialect) ([]byte, error) {
	var unknown []string
	text := token.ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(token.FindSubmatch(m)[1])
		v, ok := d[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return []byte(v)
	})
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown tokens %q", unknown)
	}
	if bytes.Contains(text, []byte("{{")) {
		return nil, fmt.Errorf("malformed token")
	}
	return text, nil
}
