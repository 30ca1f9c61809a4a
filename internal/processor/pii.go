package processor

import (
	"context"
	"encoding/json"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/personal"
	"github.com/usherhq/usher/internal/store"
)

// preparePersonal gives the handlers the event's data with its personal
// data in the vault: it opens what the receiver sealed, vaults the buyer
// and the new holder (replacing them by tokens), and strips every other
// personal field, which stays only in ev.Sealed. An event queued before the
// receiver sealed (data in clear) is sealed here first. Sealed data that the
// master keys no longer open sets the event aside.
func (p *Processor) preparePersonal(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) error {
	full := ev.Data
	sealer := p.db.Sealer()
	pr := preparedOf(ctx)
	switch {
	case sealer == nil:
		// Only tests run without master keys; the data is vaulted and stripped.
	case len(ev.Sealed) == 0:
		if err := personal.Seal(sealer, ev); err != nil {
			return err
		}
	case pr != nil && pr.opened:
		// Opened before the transaction (see prepare).
		if pr.unreadable {
			return setAside("personal_data_unreadable", "the sealed personal data does not open with the master keys")
		}
		if pr.full != nil {
			full = pr.full
		}
	default:
		b, err := personal.Open(sealer, ev)
		if err != nil {
			return setAside("personal_data_unreadable", "the sealed personal data does not open with the master keys")
		}
		if b.Data != nil {
			full = b.Data
		}
	}
	ev.Data = full
	return vaultAndStrip(ctx, tx, ev)
}

// vaultAndStrip moves the personal data of an event (the buyer of an
// order, the new holder of a transferred ticket) into the encrypted vault
// and replaces it in the event by the vault's token, then strips every
// other personal field, before anything of the event is stored: dedupe
// records, dead letters and outbound events never hold an email or a name.
// The data is decoded once, one level deep, and encoded once when it
// changed.
func vaultAndStrip(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) error {
	if seat := preparedVault(ctx, ev.Data); seat != nil {
		token, err := tx.PutSealedBuyer(ctx, seat.orderID, seat.buyer)
		if err != nil {
			return err
		}
		if token == seat.buyer.Token {
			ev.Data = seat.data
			return nil
		}
		// The order has its buyer already: vaulted below with its token.
	}
	data := preparedFields(ctx, ev.Data)
	if data == nil && (json.Unmarshal(ev.Data, &data) != nil || data == nil) {
		// Not an object: nothing to vault; what is not JSON is set aside.
		stripped, _, err := personal.Strip(ev.Data)
		if err != nil {
			return setAside("invalid_data", "%s data is not JSON", ev.Type)
		}
		ev.Data = stripped
		return nil
	}
	vaulted, err := vaultFields(ctx, tx, ev, data)
	if err != nil {
		return err
	}
	stripped, err := personal.StripFields(data)
	if err != nil {
		return setAside("invalid_data", "%s data is not JSON", ev.Type)
	}
	if vaulted || stripped {
		ev.Data = personal.EncodeFields(data)
	}
	return nil
}

// vaultFields puts the buyer and the new holder of data into the vault and
// replaces each by its token; it reports whether it replaced any.
func vaultFields(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, data map[string]json.RawMessage) (bool, error) {
	changed := false
	for field, key := range map[string]string{"buyer": orderKey(data), "to": holderKey(data, ev)} {
		raw, ok := data[field]
		if !ok || key == "" {
			continue
		}
		var b usher.Buyer
		if json.Unmarshal(raw, &b) != nil || b == (usher.Buyer{}) {
			continue
		}
		token, err := tx.PutBuyer(ctx, key, b)
		if err != nil {
			return false, err
		}
		data[field] = tokenRef(token)
		changed = true
	}
	return changed, nil
}

// tokenRef is the vault reference that replaces personal data in an event.
func tokenRef(token string) json.RawMessage {
	ref, _ := json.Marshal(map[string]string{"token": token})
	return ref
}

func orderKey(data map[string]json.RawMessage) string {
	var id string
	_ = json.Unmarshal(data["order_id"], &id)
	return id
}

// holderKey names the vault entry of a transfer's new holder: one per
// transfer event, since a ticket may change hands more than once.
func holderKey(data map[string]json.RawMessage, ev *usher.InboundEvent) string {
	var id string
	if json.Unmarshal(data["ticket_id"], &id) != nil || id == "" {
		return ""
	}
	return "holder/" + id + "/" + ev.Source + "/" + ev.ID
}
