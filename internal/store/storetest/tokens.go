package storetest

import (
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

var tokenLifecycleTests = []subtest{
	{"ExpiryRevocationAndList", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		exp := usher.Token{ID: "tok_exp", Hash: "h_exp", Scopes: []string{"orders:read"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		for _, tok := range []usher.Token{exp, {ID: "tok_live", Hash: "h_live", Scopes: []string{"*"}, CreatedAt: now.Add(time.Second)}} {
			if err := db.CreateToken(ctx, tok); err != nil {
				t.Fatalf("CreateToken(%s): %v", tok.ID, err)
			}
		}
		got, found, err := db.TokenByHash(ctx, "h_exp")
		if err != nil || !found || !got.ExpiresAt.Equal(micro(exp.ExpiresAt)) || !got.RevokedAt.IsZero() || !got.LastUsedAt.IsZero() {
			t.Fatalf("TokenByHash(h_exp) = %+v, %v, %v; want its expiry, never revoked or used", got, found, err)
		}
		if !got.Live(now) || got.Live(now.Add(time.Hour)) {
			t.Errorf("Live before/at expiry = %v/%v, want true/false", got.Live(now), got.Live(now.Add(time.Hour)))
		}
		revoked, err := db.RevokeToken(ctx, "tok_exp", now.Add(time.Minute))
		if err != nil || !revoked.RevokedAt.Equal(micro(now.Add(time.Minute))) || revoked.Live(now) {
			t.Fatalf("RevokeToken = %+v, %v; want revoked at now+1m", revoked, err)
		}
		again, err := db.RevokeToken(ctx, "tok_exp", now.Add(2*time.Minute))
		if err != nil || !again.RevokedAt.Equal(revoked.RevokedAt) {
			t.Errorf("second RevokeToken = %+v, %v; want the first revocation time kept", again, err)
		}
		if got, _, _ := db.TokenByHash(ctx, "h_exp"); got.RevokedAt.IsZero() {
			t.Error("TokenByHash after revocation: revoked_at not set")
		}
		_, err = db.RevokeToken(ctx, "tok_nobody", now)
		wantCode(t, "RevokeToken(unknown)", err, usher.CodeNotFound)
		list, err := db.Tokens(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "tok_exp" || list[1].ID != "tok_live" || list[0].RevokedAt.IsZero() {
			t.Fatalf("Tokens = %+v, %v; want tok_exp (revoked), tok_live", list, err)
		}
	}},
	{"TouchAtMostOncePerInterval", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		if err := db.CreateToken(ctx, usher.Token{ID: "tok_1", Hash: "h1", Scopes: []string{"*"}, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		touch := func(at time.Time) time.Time {
			t.Helper()
			if err := db.TouchToken(ctx, "tok_1", at, at.Add(-time.Minute)); err != nil {
				t.Fatalf("TouchToken: %v", err)
			}
			got, _, _ := db.TokenByHash(ctx, "h1")
			return got.LastUsedAt
		}
		if got := touch(now); !got.Equal(micro(now)) {
			t.Fatalf("first touch: last used %v, want %v", got, micro(now))
		}
		if got := touch(now.Add(30 * time.Second)); !got.Equal(micro(now)) {
			t.Errorf("touch 30s later: last used %v, want unchanged %v", got, micro(now))
		}
		if got := touch(now.Add(2 * time.Minute)); !got.Equal(micro(now.Add(2 * time.Minute))) {
			t.Errorf("touch 2m later: last used %v, want it moved", got)
		}
	}},
	{"DuplicateHashIsConflict", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.CreateToken(ctx, usher.Token{ID: "tok_1", Hash: "a", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "CreateToken(same hash)", db.CreateToken(ctx, usher.Token{ID: "tok_2", Hash: "a", CreatedAt: time.Now()}), usher.CodeConflict)
	}},
}
