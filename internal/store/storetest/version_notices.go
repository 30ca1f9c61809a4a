package storetest

import (
	"testing"

	"github.com/usherhq/usher/internal/store"
)

// versionNoticeTests cover the record that raises the operator event of a
// subscription on a deprecated version once per subscription and version.
var versionNoticeTests = []subtest{
	{"DeprecatedVersionNotedOnce", func(t *testing.T, db *store.DB) {
		createSubscription(t, db, "sub_n")
		note := func(version, event string) bool {
			t.Helper()
			var noted bool
			err := db.InTx(t.Context(), func(tx *store.Tx) error {
				var err error
				noted, err = tx.NoteDeprecatedVersion(t.Context(), "sub_n", version, event)
				return err
			})
			if err != nil {
				t.Fatalf("NoteDeprecatedVersion(%s): %v", version, err)
			}
			return noted
		}
		if !note("2026-06-01", "evt_1") {
			t.Fatal("the first note of a version was not recorded")
		}
		if note("2026-06-01", "evt_2") {
			t.Error("a second note of the same version was recorded")
		}
		if !note("2025-01-01", "evt_3") {
			t.Error("a note of another version was not recorded")
		}
		if err := db.InTx(t.Context(), func(tx *store.Tx) error { return tx.DeleteSubscription(t.Context(), "sub_n") }); err != nil {
			t.Fatalf("DeleteSubscription: %v", err)
		}
		createSubscription(t, db, "sub_n")
		if !note("2026-06-01", "evt_4") {
			t.Error("the notes of a deleted subscription outlived it")
		}
	}},
}
