package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/usherhq/usher"
)

// piiContext binds a sealed field to its row and column, so that a sealed
// value copied to another buyer or field does not open.
func piiContext(token, field string) string { return "pii/" + token + "/" + field }

// PutBuyer stores the buyer of an order in the vault, sealed, and returns the
// order's buyer token: the pseudonym to keep everywhere else. It is
// idempotent per order: a later call (a redelivered or a second event of the
// order) returns the same token and changes nothing, and an erased buyer
// stays erased. The row is written with the transaction's other new rows.
func (tx *Tx) PutBuyer(ctx context.Context, orderID string, b usher.Buyer) (string, error) {
	token, err := tx.buyerToken(ctx, orderID)
	if err != nil || token != "" {
		return token, err
	}
	sealed, err := tx.db.SealBuyer(b)
	if err != nil {
		return "", err
	}
	return tx.holdBuyer(orderID, sealed), nil
}

// SealedBuyer is a buyer sealed under a new token, ready to be stored as an
// order's buyer. It holds no clear personal data.
type SealedBuyer struct {
	Token       string
	email, name []byte
}

// SealBuyer seals b under a new buyer token. It needs no transaction, so
// the processor seals ahead, off the single writer, for PutSealedBuyer.
func (db *DB) SealBuyer(b usher.Buyer) (SealedBuyer, error) {
	token, err := newBuyerToken()
	if err != nil {
		return SealedBuyer{}, err
	}
	email, err := db.sealPII([]byte(b.Email), piiContext(token, "email"))
	if err != nil {
		return SealedBuyer{}, err
	}
	name, err := db.sealPII([]byte(b.Name), piiContext(token, "name"))
	if err != nil {
		return SealedBuyer{}, err
	}
	return SealedBuyer{Token: token, email: email, name: name}, nil
}

// PutSealedBuyer is PutBuyer of a buyer sealed ahead: it returns the
// order's token, s.Token when the order had no buyer yet. A SealedBuyer is
// stored for one order only (its seal is bound to its token).
func (tx *Tx) PutSealedBuyer(ctx context.Context, orderID string, s SealedBuyer) (string, error) {
	token, err := tx.buyerToken(ctx, orderID)
	if err != nil || token != "" {
		return token, err
	}
	if s.Token == "" {
		return "", errors.New("put buyer: not sealed")
	}
	return tx.holdBuyer(orderID, s), nil
}

// holdBuyer holds s back as the buyer of an order that has none and
// returns its token.
func (tx *Tx) holdBuyer(orderID string, s SealedBuyer) string {
	if tx.buyers == nil {
		tx.buyers = map[string]string{}
	}
	tx.buyers[orderID] = s.Token
	tx.pend.buyers = append(tx.pend.buyers, []any{s.Token, orderID, s.email, s.name, micros(tx.db.now()), 0})
	tx.writes++
	return s.Token
}

// buyerToken returns the token of the order's buyer, "" when it has none.
func (tx *Tx) buyerToken(ctx context.Context, orderID string) (string, error) {
	if orderID == "" {
		return "", errors.New("put buyer: empty order id")
	}
	token, known := tx.buyers[orderID]
	if !known {
		err := tx.queryRow(ctx, `SELECT token FROM buyers WHERE order_id = $1`, orderID).Scan(&token)
		if err != nil && !isNoRows(err) {
			return "", fmt.Errorf("read buyer token: %w", err)
		}
	}
	return token, nil
}

// buyersTable holds back new buyers. Concurrent first writers of one order
// meet on the unique order_id: the later one inserts nothing, which its
// flush reports as ErrConflict, and InTx runs its transaction again to find
// the token the first one stored.
var buyersTable = &rowTable{name: "buyers", columns: []string{"token", "order_id", "email_sealed", "name_sealed", "created_at", "erased_at"},
	suffix: " ON CONFLICT (order_id) DO NOTHING"}

// flushBuyers writes the buyers held back.
func (tx *Tx) flushBuyers(ctx context.Context) error {
	if len(tx.pend.buyers) == 0 {
		return nil
	}
	n, err := tx.insertRowsCounted(ctx, buyersTable, tx.pend.buyers)
	if err != nil {
		return fmt.Errorf("insert buyer: %w", err)
	}
	if n != int64(len(tx.pend.buyers)) {
		return fmt.Errorf("insert buyer: %d of %d orders already have one: %w", int64(len(tx.pend.buyers))-n, len(tx.pend.buyers), usher.ErrConflict)
	}
	tx.pend.buyers = tx.pend.buyers[:0]
	return nil
}

// PrefetchBuyers reads the buyer tokens of orderIDs in a few statements;
// PutBuyer then answers for them from memory.
func (tx *Tx) PrefetchBuyers(ctx context.Context, orderIDs []string) error {
	if tx.buyers == nil {
		tx.buyers = make(map[string]string, len(orderIDs))
	}
	args := make([]any, 0, len(orderIDs))
	for _, id := range orderIDs {
		if _, ok := tx.buyers[id]; !ok && bulkReadable(id) {
			tx.buyers[id] = "" // none until read
			args = append(args, id)
		}
	}
	return inChunks(args, func(ids []any) error { return tx.readBuyerTokens(ctx, ids) })
}

func (tx *Tx) readBuyerTokens(ctx context.Context, orderIDs []any) error {
	rows, err := tx.QueryContext(ctx, `SELECT order_id, token FROM buyers WHERE order_id IN (`+tx.placeholders(len(orderIDs))+`)`, orderIDs...)
	if err != nil {
		return fmt.Errorf("read buyer tokens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, token string
		if err := rows.Scan(&id, &token); err != nil {
			return fmt.Errorf("read buyer tokens: %w", err)
		}
		tx.buyers[id] = token
	}
	return rows.Err()
}

func newBuyerToken() (string, error) { return usher.NewID(usher.BuyerTokenPrefix), nil }

// sealPII seals a field; without a sealer (tests only: the server always
// sets one) the value is kept as given, as source secrets are.
func (db *DB) sealPII(plain []byte, context string) ([]byte, error) {
	if db.sealer == nil {
		return plain, nil
	}
	sealed, err := db.sealer.Seal(plain, context)
	if err != nil {
		return nil, fmt.Errorf("seal buyer: %w", err)
	}
	return sealed, nil
}

func (db *DB) openPII(sealed []byte, context string) (string, error) {
	if db.sealer == nil || sealed == nil {
		return string(sealed), nil
	}
	plain, err := db.sealer.Open(sealed, context)
	if err != nil {
		return "", fmt.Errorf("open buyer field %s: %w", context, err)
	}
	return string(plain), nil
}

// Buyer returns the decrypted buyer named by its token or by its order id.
// It returns a usher.CodeNotFound error when there is none, and one that
// wraps ErrErased when the buyer's personal data was erased.
func (db *DB) Buyer(ctx context.Context, tokenOrOrderID string) (usher.Buyer, error) {
	rec, err := db.BuyerRecord(ctx, tokenOrOrderID)
	if err != nil {
		return usher.Buyer{}, err
	}
	if rec.Erased() {
		return usher.Buyer{}, usher.WrapError(usher.CodeNotFound, usher.ErrErased,
			fmt.Sprintf("the buyer of order %s was erased", rec.OrderID))
	}
	return rec.Buyer, nil
}

// BuyerRecord returns the vault record named by its token or by its order
// id, decrypted, or a usher.CodeNotFound error. An erased buyer is returned
// with ErasedAt set and no personal data.
func (db *DB) BuyerRecord(ctx context.Context, tokenOrOrderID string) (usher.BuyerRecord, error) {
	var rec usher.BuyerRecord
	var email, name []byte
	var created, erased int64
	err := db.read.QueryRowContext(ctx, `SELECT token, order_id, email_sealed, name_sealed, created_at, erased_at
		FROM buyers WHERE token = $1 OR order_id = $1`, tokenOrOrderID).
		Scan(&rec.Token, &rec.OrderID, &email, &name, &created, &erased)
	if isNoRows(err) {
		return usher.BuyerRecord{}, notFound("buyer", tokenOrOrderID)
	}
	if err != nil {
		return usher.BuyerRecord{}, fmt.Errorf("read buyer: %w", err)
	}
	rec.CreatedAt, rec.ErasedAt = fromMicros(created), fromMicros(erased)
	if rec.Erased() {
		return rec, nil
	}
	if rec.Buyer.Email, err = db.openPII(email, piiContext(rec.Token, "email")); err != nil {
		return usher.BuyerRecord{}, err
	}
	if rec.Buyer.Name, err = db.openPII(name, piiContext(rec.Token, "name")); err != nil {
		return usher.BuyerRecord{}, err
	}
	return rec, nil
}

// EraseBuyer erases the personal data of an order's buyer inside the
// transaction: the sealed fields become NULL and erased_at is set; the token,
// the order, its tickets and the audit log stay as they are. Erasing again
// changes nothing. It returns the erased record, or a usher.CodeNotFound
// error when the order has no buyer in the vault.
func (tx *Tx) EraseBuyer(ctx context.Context, orderID string) (usher.BuyerRecord, error) {
	if _, err := tx.exec(ctx, `UPDATE buyers SET email_sealed = NULL, name_sealed = NULL, erased_at = $1
		WHERE order_id = $2 AND erased_at = 0`, micros(tx.db.now()), orderID); err != nil {
		return usher.BuyerRecord{}, fmt.Errorf("erase buyer: %w", err)
	}
	rec := usher.BuyerRecord{OrderID: orderID}
	var created, erased int64
	err := tx.queryRow(ctx, `SELECT token, created_at, erased_at FROM buyers WHERE order_id = $1`, orderID).Scan(&rec.Token, &created, &erased)
	if isNoRows(err) {
		return usher.BuyerRecord{}, notFound("buyer of order", orderID)
	}
	if err != nil {
		return usher.BuyerRecord{}, fmt.Errorf("read erased buyer: %w", err)
	}
	rec.CreatedAt, rec.ErasedAt = fromMicros(created), fromMicros(erased)
	return rec, nil
}

// EraseBuyer erases the personal data of an order's buyer in a transaction
// of its own (see Tx.EraseBuyer).
func (db *DB) EraseBuyer(ctx context.Context, orderID string) error {
	return db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.EraseBuyer(ctx, orderID)
		return err
	})
}
