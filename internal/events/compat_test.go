package events_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
)

const base = `{"type":"object","required":["id"],"additionalProperties":true,
 "properties":{"id":{"$ref":"#/$defs/id"},"status":{"type":"string","enum":["a","b"]},"n":{"type":"integer","minimum":0},
 "tags":{"type":"array","items":{"type":"string"}}},
 "$defs":{"id":{"type":"string","pattern":"^[a-z]+$"}}}`

func TestCompare(t *testing.T) {
	t.Parallel()
	edit := func(old, new string) string { return strings.Replace(base, old, new, 1) }
	tests := []struct {
		name, new string
		want      []string // Break keys
	}{
		{"identical", base, nil},
		{"optional property added", edit(`"n":{`, `"extra":{"type":"string"},"n":{`), nil},
		{"enum widened", edit(`["a","b"]`, `["a","b","c"]`), nil},
		{"type widened", edit(`"n":{"type":"integer"`, `"n":{"type":"number"`), nil},
		{"removed property", edit(`"status":{"type":"string","enum":["a","b"]},`, ``), []string{"removed_property /properties/status"}},
		{"renamed property", edit(`"status":`, `"state":`), []string{"removed_property /properties/status"}},
		{"narrowed type", edit(`"n":{"type":"integer"`, `"n":{"type":"string"`), []string{"narrowed_type /properties/n"}},
		{"new required field", edit(`"required":["id"]`, `"required":["id","n"]`), []string{"new_required /properties/n"}},
		{"enum narrowed", edit(`["a","b"]`, `["a"]`), []string{"enum_narrowed /properties/status"}},
		{"closed", edit(`"additionalProperties":true`, `"additionalProperties":false`), []string{"closed "}},
		{"ref target narrowed", edit(`"^[a-z]+$"`, `"^[a-z]{1,8}$"`), []string{"narrowed_constraint /properties/id/pattern"}},
		{"bound tightened", edit(`"minimum":0`, `"minimum":1`), []string{"narrowed_constraint /properties/n/minimum"}},
		{"items narrowed", edit(`"items":{"type":"string"}`, `"items":{"type":"string","enum":["x"]}`), []string{"enum_narrowed /properties/tags/items"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			breaks, err := events.Compare([]byte(base), []byte(tt.new))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range breaks {
				got = append(got, b.Key())
			}
			if strings.Join(got, ";") != strings.Join(tt.want, ";") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// editedFiles copies the embedded schemas with every old in one file
// replaced by new.
func editedFiles(t *testing.T, path, old, new string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(events.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(events.Files(), p)
		if p == path {
			if !strings.Contains(string(b), old) {
				t.Fatalf("%s has no %q", p, old)
			}
			b = []byte(strings.ReplaceAll(string(b), old, new))
		}
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBreakingEditFailsTheCheck is the deliberate breaking edit: renaming
// revoked_by of ticket.issued in the current version, as data, fails the
// compatibility check with the reason; so does an edit to an order event
// that its declared Change does not allow.
func TestBreakingEditFailsTheCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, old, new, want string
	}{
		{"field renamed", events.SchemaPath(events.Outbound, usher.TypeTicketIssued, events.V20261201),
			`"revoked_by"`, `"revoker"`, "removed_property at /properties/revoked_by"},
		{"enum narrowed beyond the declared change", events.SchemaPath(events.Outbound, usher.TypeOrderConfirmed, events.V20261201),
			`"pending",`, ``, "enum_narrowed at /properties/status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := editedFiles(t, tt.path, tt.old, tt.new)
			c, err := events.LoadFrom(files)
			if err != nil {
				t.Fatal(err)
			}
			errs := c.Check()
			var u *events.UndeclaredChange
			if len(errs) != 1 || !errors.As(errs[0], &u) || !strings.Contains(errs[0].Error(), tt.want) {
				t.Fatalf("check found %v, want one undeclared change with %q", errs, tt.want)
			}
			t.Logf("the check reports:\n%v", errs[0])
		})
	}
}
