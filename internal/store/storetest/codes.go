package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
)

// recordingSealer seals with a real master key and records the contexts it
// was asked to seal and open under.
type recordingSealer struct {
	inner  *secrets.Sealer
	mu     sync.Mutex
	sealed []string
	opened []string
}

func newRecordingSealer(t *testing.T, keyByte byte) *recordingSealer {
	t.Helper()
	s, err := secrets.New(bytes.Repeat([]byte{keyByte}, secrets.KeySize))
	if err != nil {
		t.Fatalf("secrets.New: %v", err)
	}
	return &recordingSealer{inner: s}
}

func (r *recordingSealer) Seal(plain []byte, context string) ([]byte, error) {
	r.mu.Lock()
	r.sealed = append(r.sealed, context)
	r.mu.Unlock()
	return r.inner.Seal(plain, context)
}

func (r *recordingSealer) Open(sealed []byte, context string) ([]byte, error) {
	r.mu.Lock()
	r.opened = append(r.opened, context)
	r.mu.Unlock()
	return r.inner.Open(sealed, context)
}

func testTicketKey(b byte, created time.Time) usher.TicketKey {
	return usher.TicketKey{Private: bytes.Repeat([]byte{b}, 32), Public: bytes.Repeat([]byte{b + 1}, 32), CreatedAt: created}
}

func readTicketKeys(t *testing.T, db *store.DB) []usher.TicketKey {
	t.Helper()
	keys, err := db.TicketKeys(t.Context())
	if err != nil {
		t.Fatalf("TicketKeys: %v", err)
	}
	return keys
}

func activeKeys(keys []usher.TicketKey) int {
	n := 0
	for _, k := range keys {
		if k.State == usher.TicketKeyActive {
			n++
		}
	}
	return n
}

var codeTests = []subtest{
	{"FirstTicketKeyOnce", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if keys := readTicketKeys(t, db); len(keys) != 0 {
			t.Fatalf("TicketKeys of a fresh store = %+v, want none", keys)
		}
		created := time.Now().Add(-time.Minute)
		first := testTicketKey(1, created)
		if ok, err := db.EnsureTicketKey(ctx, first); err != nil || !ok {
			t.Fatalf("EnsureTicketKey on an empty store = %v, %v; want created", ok, err)
		}
		if ok, err := db.EnsureTicketKey(ctx, testTicketKey(7, time.Now())); err != nil || ok {
			t.Fatalf("second EnsureTicketKey = %v, %v; want nothing created", ok, err)
		}
		keys := readTicketKeys(t, db)
		if len(keys) != 1 {
			t.Fatalf("TicketKeys = %+v, want the first key only", keys)
		}
		k := keys[0]
		if k.ID < 1 || !bytes.Equal(k.Private, first.Private) || !bytes.Equal(k.Public, first.Public) ||
			k.State != usher.TicketKeyActive || !k.CreatedAt.Equal(micro(created)) {
			t.Fatalf("key = %+v, want %+v active with an id", k, first)
		}
	}},
	{"ConcurrentFirstKeyIsOne", func(t *testing.T, db *store.DB) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		createdBy := 0
		for i := range 8 {
			wg.Go(func() {
				ok, err := db.EnsureTicketKey(t.Context(), testTicketKey(byte(i), time.Now()))
				if err != nil {
					t.Errorf("EnsureTicketKey: %v", err)
				}
				if ok {
					mu.Lock()
					createdBy++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if keys := readTicketKeys(t, db); len(keys) != 1 || createdBy != 1 {
			t.Fatalf("8 concurrent EnsureTicketKey made %d keys (%d said created), want 1", len(keys), createdBy)
		}
	}},
	{"RotationKeepsRetiredKeys", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if _, err := db.EnsureTicketKey(ctx, testTicketKey(1, time.Now())); err != nil {
			t.Fatalf("EnsureTicketKey: %v", err)
		}
		second, err := db.RotateTicketKey(ctx, testTicketKey(3, time.Now()))
		if err != nil {
			t.Fatalf("RotateTicketKey: %v", err)
		}
		third, err := db.RotateTicketKey(ctx, testTicketKey(5, time.Now()))
		if err != nil {
			t.Fatalf("RotateTicketKey: %v", err)
		}
		keys := readTicketKeys(t, db)
		var states []string
		for _, k := range keys {
			states = append(states, k.State)
		}
		want := []string{usher.TicketKeyRetired, usher.TicketKeyRetired, usher.TicketKeyActive}
		if !slices.Equal(states, want) || keys[1].ID != second.ID || keys[2].ID != third.ID ||
			second.ID <= keys[0].ID || third.ID <= second.ID || !bytes.Equal(keys[2].Private, third.Private) {
			t.Fatalf("keys after two rotations = %+v (returned %d, %d), want states %v oldest first", keys, second.ID, third.ID, want)
		}
		if second.State != usher.TicketKeyActive {
			t.Fatalf("RotateTicketKey returned state %q, want active", second.State)
		}
	}},
	{"ConcurrentRotationsLeaveOneActive", func(t *testing.T, db *store.DB) {
		if _, err := db.EnsureTicketKey(t.Context(), testTicketKey(1, time.Now())); err != nil {
			t.Fatalf("EnsureTicketKey: %v", err)
		}
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				if _, err := db.RotateTicketKey(t.Context(), testTicketKey(byte(10+i), time.Now())); err != nil {
					t.Errorf("RotateTicketKey: %v", err)
				}
			})
		}
		wg.Wait()
		keys := readTicketKeys(t, db)
		if len(keys) != 5 || activeKeys(keys) != 1 {
			t.Fatalf("after 4 concurrent rotations: %d keys, %d active; want 5 and 1", len(keys), activeKeys(keys))
		}
	}},
	{"TicketKeysSealedUnderTheirID", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		sealer := newRecordingSealer(t, 1)
		db.SetSealer(sealer)
		if _, err := db.EnsureTicketKey(ctx, testTicketKey(1, time.Now())); err != nil {
			t.Fatalf("EnsureTicketKey: %v", err)
		}
		next, err := db.RotateTicketKey(ctx, testTicketKey(3, time.Now()))
		if err != nil {
			t.Fatalf("RotateTicketKey: %v", err)
		}
		keys := readTicketKeys(t, db)
		if len(keys) != 2 || !bytes.Equal(keys[0].Private, testTicketKey(1, time.Time{}).Private) ||
			!bytes.Equal(keys[1].Private, next.Private) {
			t.Fatalf("TicketKeys through the sealer = %+v, want both private keys opened", keys)
		}
		var want []string
		for _, k := range keys {
			want = append(want, "ticketkey/"+strconv.FormatInt(k.ID, 10))
		}
		if !slices.Equal(sealer.sealed, want) || !slices.Equal(sealer.opened, want) {
			t.Fatalf("sealed under %v, opened under %v; want %v", sealer.sealed, sealer.opened, want)
		}
		// Under another master key nothing opens: the keys are not stored in clear.
		db.SetSealer(newRecordingSealer(t, 2))
		if keys, err := db.TicketKeys(ctx); err == nil {
			t.Fatalf("TicketKeys under another master key = %+v, want an error", keys)
		}
	}},
	{"CodeSecretIsCreatedOnce", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		sealer := newRecordingSealer(t, 1)
		db.SetSealer(sealer)
		a, b := []byte("first candidate"), []byte("second candidate")
		for i, want := range []struct {
			name      string
			candidate []byte
			want      []byte
		}{{"display", a, a}, {"display", b, a}, {"pass", b, b}} {
			got, err := db.CodeSecret(ctx, want.name, want.candidate)
			if err != nil || !bytes.Equal(got, want.want) {
				t.Fatalf("call %d: CodeSecret(%s, %q) = %q, %v; want %q", i, want.name, want.candidate, got, err, want.want)
			}
		}
		if !slices.Contains(sealer.opened, "codesecret/display") || !slices.Contains(sealer.opened, "codesecret/pass") {
			t.Fatalf("code secrets opened under %v, want codesecret/<name>", sealer.opened)
		}
		db.SetSealer(newRecordingSealer(t, 2))
		if got, err := db.CodeSecret(ctx, "display", b); err == nil {
			t.Fatalf("CodeSecret under another master key = %q, want an error", got)
		}
	}},
	{"ConcurrentCodeSecretAgrees", func(t *testing.T, db *store.DB) {
		var wg sync.WaitGroup
		got := make([][]byte, 8)
		for i := range got {
			wg.Go(func() {
				s, err := db.CodeSecret(t.Context(), "pass", []byte(fmt.Sprintf("candidate %d", i)))
				if err != nil {
					t.Errorf("CodeSecret: %v", err)
				}
				got[i] = s
			})
		}
		wg.Wait()
		for i := range got {
			if !bytes.Equal(got[i], got[0]) || len(got[i]) == 0 {
				t.Fatalf("concurrent CodeSecret returned %q, want one secret for all", got)
			}
		}
	}},
	{"ShowSettings", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := db.ShowSettings(ctx, "show_1")
		if err != nil || s != (usher.ShowSettings{ShowID: "show_1"}) {
			t.Fatalf("ShowSettings of an unknown show = %+v, %v; want the defaults", s, err)
		}
		for _, allow := range []bool{true, false, true} {
			put, err := db.PutShowSettings(ctx, usher.ShowSettings{ShowID: "show_1", AllowStaticCodes: allow})
			if err != nil || put.AllowStaticCodes != allow || put.UpdatedAt.IsZero() {
				t.Fatalf("PutShowSettings(%v) = %+v, %v", allow, put, err)
			}
			got, err := db.ShowSettings(ctx, "show_1")
			if err != nil || got != put {
				t.Fatalf("ShowSettings after put = %+v, %v; want %+v", got, err, put)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				inTx, err := tx.ShowSettings(ctx, "show_1")
				if err != nil || inTx != put {
					t.Errorf("Tx.ShowSettings = %+v, %v; want %+v", inTx, err, put)
				}
				return nil
			})
		}
		if other, err := db.ShowSettings(ctx, "show_2"); err != nil || other.AllowStaticCodes {
			t.Fatalf("ShowSettings(show_2) = %+v, %v; want the defaults", other, err)
		}
	}},
	{"DisplayCodeUses", func(t *testing.T, db *store.DB) {
		now := time.Now()
		use := func(gen int, step int64, nonce string) error {
			var err error
			mustTx(t, db, func(tx *store.Tx) error {
				err = tx.UseDisplayCode(t.Context(), usher.DisplayCodeUse{TicketID: "tkt_1", Generation: gen, Step: step, Nonce: nonce, UsedAt: now})
				return nil
			})
			return err
		}
		for i, c := range []struct {
			gen   int
			step  int64
			nonce string
			want  error
		}{
			{1, 100, "a", nil},
			{1, 100, "a", nil},                      // the same scan retried
			{1, 100, "b", usher.ErrDisplayCodeUsed}, // a second scan in the window
			{1, 99, "c", usher.ErrDisplayCodeUsed},  // an older step after a newer one
			{1, 101, "d", nil},                      // the next step
			{1, 100, "a", usher.ErrDisplayCodeUsed}, // the first scan, after a newer step
			{2, 50, "e", nil},                       // a new generation starts afresh
			{1, 200, "f", usher.ErrDisplayCodeUsed}, // an old generation never again
		} {
			if err := use(c.gen, c.step, c.nonce); !errors.Is(err, c.want) {
				t.Fatalf("use %d (gen %d step %d nonce %s) = %v, want %v", i, c.gen, c.step, c.nonce, err, c.want)
			}
		}
		// Another ticket is independent.
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.UseDisplayCode(t.Context(), usher.DisplayCodeUse{TicketID: "tkt_2", Generation: 1, Step: 100, Nonce: "b", UsedAt: now})
		})
	}},
	{"DisplayCodeUseRollsBack", func(t *testing.T, db *store.DB) {
		u := usher.DisplayCodeUse{TicketID: "tkt_1", Generation: 1, Step: 7, Nonce: "a", UsedAt: time.Now()}
		if err := tryTx(t, db, func(tx *store.Tx) error { return tx.UseDisplayCode(t.Context(), u) }); err != nil {
			t.Fatalf("UseDisplayCode: %v", err)
		}
		u.Nonce = "b"
		mustTx(t, db, func(tx *store.Tx) error { return tx.UseDisplayCode(t.Context(), u) })
	}},
	{"ConcurrentDisplayCodeUseOnce", func(t *testing.T, db *store.DB) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		for i := range 6 {
			wg.Go(func() {
				var used error
				err := db.InTx(t.Context(), func(tx *store.Tx) error {
					used = tx.UseDisplayCode(t.Context(), usher.DisplayCodeUse{TicketID: "tkt_1", Generation: 1, Step: 9, Nonce: strconv.Itoa(i), UsedAt: time.Now()})
					if errors.Is(used, usher.ErrDisplayCodeUsed) {
						return nil
					}
					return used
				})
				if err != nil {
					t.Errorf("InTx: %v", err)
				}
				if used == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if accepted != 1 {
			t.Fatalf("6 scans racing with one display code: %d accepted, want 1", accepted)
		}
	}},
	{"PassRevocations", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		revoked := func(id string) bool {
			t.Helper()
			ok, err := db.PassRevoked(ctx, id)
			if err != nil {
				t.Fatalf("PassRevoked: %v", err)
			}
			return ok
		}
		now := time.Now()
		if revoked("pas_1") {
			t.Fatal("a pass nobody revoked is revoked")
		}
		for _, id := range []string{"pas_1", "pas_1"} {
			if err := db.RevokePass(ctx, id, now.Add(-time.Hour)); err != nil {
				t.Fatalf("RevokePass(%s): %v", id, err)
			}
		}
		if err := db.RevokePass(ctx, "pas_2", now); err != nil {
			t.Fatalf("RevokePass: %v", err)
		}
		if !revoked("pas_1") || !revoked("pas_2") || revoked("pas_3") {
			t.Fatal("revocations not recorded as made")
		}
		n, err := db.PrunePassRevocations(ctx, now.Add(-time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("PrunePassRevocations = %d, %v; want 1", n, err)
		}
		if revoked("pas_1") || !revoked("pas_2") {
			t.Fatal("prune removed the wrong revocations")
		}
	}},
}
