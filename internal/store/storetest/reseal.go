package storetest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/personal"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
)

var resealTests = []subtest{
	{"MovesEveryValueToTheNewKeyResumably", testResealResumable},
}

func keyring(t *testing.T, keys ...byte) *secrets.Keyring {
	t.Helper()
	var raw [][]byte
	for _, k := range keys {
		raw = append(raw, bytes.Repeat([]byte{k}, secrets.KeySize))
	}
	kr, err := secrets.NewKeyring(raw...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// testResealResumable seals a source secret, a vault entry, a code secret
// and a dead letter's personal data under key A, reseals under B with A
// retiring (stopped after one value, then resumed), and opens it all with B
// alone.
func testResealResumable(t *testing.T, db *store.DB) {
	ctx := t.Context()
	db.SetSealer(keyring(t, 0xA))
	now := time.Now()
	err := db.CreateSource(ctx, usher.Source{Name: "shop", Scheme: "standard", CreatedAt: now},
		[]usher.SourceSecret{{ID: "sec_1", Secret: []byte("whsec_rotate"), State: usher.SecretActive, CreatedAt: now}})
	if err != nil {
		t.Fatalf("CreateSource: %v", err)
	}
	if _, err := db.CodeSecret(ctx, "display", []byte("code-secret")); err != nil {
		t.Fatalf("CodeSecret: %v", err)
	}
	ev := &usher.InboundEvent{Source: "shop", ID: "evt_1", Data: json.RawMessage(`{"order_id":"ord_r","buyer":{"email":"r@example.com"}}`)}
	if err := personal.Seal(db.Sealer().(personal.Sealer), ev); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(ev)
	err = db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.PutBuyer(ctx, "ord_r", usher.Buyer{Email: "r@example.com", Name: "R"}); err != nil {
			return err
		}
		return tx.InsertDeadLetter(ctx, usher.DeadLetter{ID: "dlq_r", Stage: "processing", Source: "shop", EventID: "evt_1", Type: "order.paid", Reason: "id_reuse", Payload: payload})
	})
	if err != nil {
		t.Fatal(err)
	}
	rotating := keyring(t, 0xB, 0xA)
	db.SetSealer(rotating)
	rep, err := db.Reseal(ctx, rotating, 1, 1)
	if err != nil || rep.Done() {
		t.Fatalf("Reseal limited to 1: %+v, %v; want some left", rep, err)
	}
	if rep, err = db.Reseal(ctx, rotating, 2, 0); err != nil || !rep.Done() {
		t.Fatalf("resumed Reseal: %+v, %v", rep, err)
	}
	if rep, err = db.Reseal(ctx, rotating, 2, 0); err != nil || len(rep.Resealed) != 0 || !rep.Done() {
		t.Fatalf("Reseal once done: %+v, %v; want nothing to do", rep, err)
	}
	db.SetSealer(keyring(t, 0xB))
	if _, secs, err := db.Source(ctx, "shop"); err != nil || len(secs) != 1 || string(secs[0].Secret) != "whsec_rotate" {
		t.Errorf("source secret under B alone: %+v, %v", secs, err)
	}
	if b, err := db.Buyer(ctx, "ord_r"); err != nil || b.Email != "r@example.com" || b.Name != "R" {
		t.Errorf("buyer under B alone: %+v, %v", b, err)
	}
	if s, err := db.CodeSecret(ctx, "display", []byte("other")); err != nil || string(s) != "code-secret" {
		t.Errorf("code secret under B alone: %q, %v", s, err)
	}
	dl, err := db.DeadLetterByID(ctx, "dlq_r")
	var got usher.InboundEvent
	if err != nil || json.Unmarshal(dl.Payload, &got) != nil {
		t.Fatalf("dead letter: %v", err)
	}
	if b, err := personal.Open(db.Sealer().(personal.Sealer), &got); err != nil || !bytes.Contains(b.Data, []byte("r@example.com")) {
		t.Errorf("dead letter's personal data under B alone: %s, %v", b.Data, err)
	}
}
