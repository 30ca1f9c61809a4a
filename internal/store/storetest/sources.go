package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

var sourceTests = []subtest{
	{"RoundTrip", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		src := usher.Source{Name: "stripe", Scheme: "stripe", CreatedAt: now.Add(-time.Hour)}
		// Secret bytes that are not text: NUL, high bytes, invalid UTF-8.
		raw := []byte{0x00, 0xff, 0xfe, 0x80, 'w', 'h', 's', 'e', 'c', 0x00, 0xc3, 0x28}
		secrets := []usher.SourceSecret{
			{ID: "sec_old", Secret: []byte("old-secret"), State: usher.SecretRetiring, NotAfter: now.Add(24 * time.Hour), CreatedAt: now.Add(-time.Hour)},
			{ID: "sec_new", Secret: raw, State: usher.SecretActive, CreatedAt: now},
		}
		if err := db.CreateSource(ctx, src, secrets); err != nil {
			t.Fatalf("CreateSource: %v", err)
		}
		got, gotSecrets, err := db.Source(ctx, "stripe")
		if err != nil {
			t.Fatalf("Source: %v", err)
		}
		if got.Name != src.Name || got.Scheme != src.Scheme || !got.CreatedAt.Equal(micro(src.CreatedAt)) {
			t.Fatalf("Source = %+v, want %+v", got, src)
		}
		if len(gotSecrets) != 2 {
			t.Fatalf("Source secrets = %+v, want 2", gotSecrets)
		}
		// Newest first.
		for i, want := range []usher.SourceSecret{secrets[1], secrets[0]} {
			g := gotSecrets[i]
			if g.ID != want.ID || g.Source != "stripe" || !bytes.Equal(g.Secret, want.Secret) || g.State != want.State ||
				!g.NotAfter.Equal(micro(want.NotAfter)) || !g.CreatedAt.Equal(micro(want.CreatedAt)) {
				t.Errorf("secret %d = %+v, want %+v", i, g, want)
			}
		}
		if !gotSecrets[0].NotAfter.IsZero() {
			t.Errorf("NotAfter of a secret without one = %v, want zero", gotSecrets[0].NotAfter)
		}
	}},
	{"WithoutSecrets", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.CreateSource(ctx, usher.Source{Name: "checkout", Scheme: "standard", CreatedAt: time.Now()}, nil); err != nil {
			t.Fatalf("CreateSource: %v", err)
		}
		_, secrets, err := db.Source(ctx, "checkout")
		if err != nil || len(secrets) != 0 {
			t.Fatalf("Source(checkout) secrets = %+v, %v; want none", secrets, err)
		}
	}},
	{"DuplicateNameIsConflict", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		src := usher.Source{Name: "stripe", Scheme: "stripe", CreatedAt: time.Now()}
		if err := db.CreateSource(ctx, src, []usher.SourceSecret{{ID: "sec_1", Secret: []byte("a"), State: usher.SecretActive, CreatedAt: time.Now()}}); err != nil {
			t.Fatalf("CreateSource: %v", err)
		}
		src.Scheme = "standard"
		err := db.CreateSource(ctx, src, []usher.SourceSecret{{ID: "sec_2", Secret: []byte("b"), State: usher.SecretActive, CreatedAt: time.Now()}})
		wantCode(t, "second CreateSource(stripe)", err, usher.CodeConflict)
		got, secrets, err := db.Source(ctx, "stripe")
		if err != nil || got.Scheme != "stripe" || len(secrets) != 1 || secrets[0].ID != "sec_1" {
			t.Fatalf("Source(stripe) after the refused duplicate = %+v %+v, %v; want the first", got, secrets, err)
		}
	}},
	{"FailedSecretRollsBackSource", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		dup := []usher.SourceSecret{
			{ID: "sec_1", Secret: []byte("a"), State: usher.SecretActive, CreatedAt: now},
			{ID: "sec_1", Secret: []byte("b"), State: usher.SecretActive, CreatedAt: now},
		}
		if err := db.CreateSource(ctx, usher.Source{Name: "stripe", Scheme: "stripe", CreatedAt: now}, dup); err == nil {
			t.Fatal("CreateSource with two secrets of one id succeeded")
		}
		_, _, err := db.Source(ctx, "stripe")
		wantCode(t, "Source after a failed CreateSource", err, usher.CodeUnknownSource)
	}},
	{"UnknownSource", func(t *testing.T, db *store.DB) {
		_, _, err := db.Source(t.Context(), "nobody")
		wantCode(t, "Source(nobody)", err, usher.CodeUnknownSource)
	}},
	{"List", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if list, err := db.Sources(ctx); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("Sources of an empty store = %#v, %v; want an empty list", list, err)
		}
		for _, name := range []string{"stripe", "checkout", "paypal"} {
			if err := db.CreateSource(ctx, usher.Source{Name: name, Scheme: "standard", CreatedAt: time.Now()}, nil); err != nil {
				t.Fatalf("CreateSource(%s): %v", name, err)
			}
		}
		list, err := db.Sources(ctx)
		if err != nil {
			t.Fatalf("Sources: %v", err)
		}
		var names []string
		for _, s := range list {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, []string{"checkout", "paypal", "stripe"}) {
			t.Fatalf("Sources = %v, want sorted by name", names)
		}
	}},
}

var tokenTests = []subtest{
	{"CreateAndFindByHash", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		want := usher.Token{ID: "tok_1", Hash: "sha256:abc", Scopes: []string{"admin:read", "admin:write"}, Description: "ops", CreatedAt: time.Now()}
		if err := db.CreateToken(ctx, want); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if err := db.CreateToken(ctx, usher.Token{ID: "tok_2", Hash: "sha256:def", Scopes: []string{"admin:read"}, CreatedAt: time.Now()}); err != nil {
			t.Fatalf("CreateToken(tok_2): %v", err)
		}
		got, found, err := db.TokenByHash(ctx, "sha256:abc")
		if err != nil || !found {
			t.Fatalf("TokenByHash = found %v, %v", found, err)
		}
		if got.ID != want.ID || got.Hash != want.Hash || !slices.Equal(got.Scopes, want.Scopes) ||
			got.Description != want.Description || !got.CreatedAt.Equal(micro(want.CreatedAt)) {
			t.Fatalf("TokenByHash = %+v, want %+v", got, want)
		}
		if tok, found, err := db.TokenByHash(ctx, "sha256:nope"); err != nil || found {
			t.Fatalf("TokenByHash(unknown) = %+v, %v, %v; want not found", tok, found, err)
		}
	}},
	{"DuplicateHashRejected", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.CreateToken(ctx, usher.Token{ID: "tok_1", Hash: "sha256:abc", CreatedAt: time.Now()}); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if err := db.CreateToken(ctx, usher.Token{ID: "tok_2", Hash: "sha256:abc", CreatedAt: time.Now()}); err == nil {
			t.Fatal("CreateToken with a hash already stored succeeded")
		}
	}},
}
