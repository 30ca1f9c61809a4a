package postgres_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/postgres"
)

func TestRejectedCode(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"22021": true,                                  // character_not_in_repertoire: a NUL byte
		"22001": true,                                  // string_data_right_truncation
		"22P02": true,                                  // invalid_text_representation
		"23505": true,                                  // unique_violation
		"23514": true,                                  // check_violation
		"23502": true,                                  // not_null_violation
		"54000": true,                                  // program_limit_exceeded: index row too big
		"40001": false, "40P01": false, "55P03": false, // conflicts: retried
		"08006": false, "57P01": false, "53300": false, // connection, shutdown, too many connections
		"XX000": false, "": false, "22": false,
	} {
		if got := postgres.RejectedCode(code); got != want {
			t.Errorf("RejectedCode(%q) = %v, want %v", code, got, want)
		}
	}
}

// TestPoisonValuesAreRejected: the two ids of the hardening issue that
// PostgreSQL refuses (a NUL byte: 22021; 10 KB in an indexed column:
// 54000) come back as usher.ErrRejected, not as transient errors.
func TestPoisonValuesAreRejected(t *testing.T) {
	t.Parallel()
	db := open(t)
	random := make([]byte, 5<<10)
	_, _ = rand.Read(random)
	for name, orderID := range map[string]string{"nul": "ord_\x00", "10KB": hex.EncodeToString(random)} {
		calls := 0
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			calls++
			return tx.InsertInbound(t.Context(), usher.InboundRecord{Source: "s", EventID: "evt_" + name, PayloadHash: "h",
				Type: "order.paid", OrderID: orderID, Outcome: usher.OutcomeApplied, Data: []byte(`{}`)})
		})
		if !errors.Is(err, usher.ErrRejected) || !errors.Is(err, usher.ErrPermanent) || errors.Is(err, usher.ErrTransient) || calls != 1 {
			t.Errorf("%s order id: InTx = %v after %d calls, want ErrRejected after 1", name, err, calls)
		}
	}
}
