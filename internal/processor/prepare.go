package processor

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"runtime"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/personal"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ticketing"
)

// prepared is the work on one event that needs no transaction: it is done
// on the partition's own goroutine before the committer takes the batch, so
// that the single writer spends its time on the store while the other cores
// open sealed data and sign ticket codes. Nothing in it is stored unless the
// transaction uses it; an event found to be a duplicate just drops it.
type prepared struct {
	// opened is set when the event's sealed personal data was opened:
	// full is then the data to vault from (nil: the sealed blob held none),
	// and unreadable tells that the master keys did not open it.
	opened     bool
	full       json.RawMessage
	unreadable bool
	// fields is full decoded one level deep, for the vault step to work on
	// (a copy of it: the vault step replaces values).
	fields map[string]json.RawMessage
	// order is the event's data decoded as an order event's, and venue its
	// venue_id. order is kept only for a sealed event: its queued data
	// holds no personal data, so it decodes as the vaulted data will
	// (orderData has no personal field).
	order *orderData
	venue string
	// seats are tickets of an order.paid with their ids and signed codes,
	// made for the order, show and venue the event names.
	seats []usher.Ticket
	// vault is the vault step done ahead for an order's first buyer.
	vault *vaultSeat
}

// vaultSeat is the vault step of an event made ahead on the assumption that
// its order has no buyer yet: the buyer sealed under a new token, and the
// event's data as the vault step would leave it with that token (buyer
// replaced by the token, every other personal field stripped). The
// transaction uses it only when the order's token turns out to be this one.
type vaultSeat struct {
	orderID string
	buyer   store.SealedBuyer
	data    json.RawMessage
}

// maxPreparedSeats bounds the tickets made ahead for one event; a bigger
// order has the rest made in the transaction.
const maxPreparedSeats = 64

// prepare does the transaction-free work on every event of b.
func (p *Processor) prepare(b queue.Batch) map[*usher.InboundEvent]*prepared {
	out := make(map[*usher.InboundEvent]*prepared, len(b.Events))
	for i := range b.Events {
		ev := &b.Events[i]
		pr := &prepared{}
		if sealer := p.db.Sealer(); sealer != nil && len(ev.Sealed) > 0 {
			blob, err := personal.Open(sealer, ev)
			pr.opened, pr.full, pr.unreadable = true, blob.Data, err != nil
			if pr.full != nil && json.Unmarshal(pr.full, &pr.fields) != nil {
				pr.fields = nil
			}
			if pr.fields != nil {
				pr.vault = p.prepareVault(pr.fields)
			}
		}
		if d, ok := p.prepareOrder(ev, pr); ok {
			pr.venue = d.VenueID
			if pr.opened {
				pr.order = &d
			}
			if ev.Type == usher.TypeOrderPaid {
				pr.seats = p.prepareSeats(d, ev.Type)
			}
		}
		out[ev] = pr
		// Signing takes tens of µs an event: let a request that became
		// runnable meanwhile have the core now rather than at the next
		// preemption, up to 10 ms away.
		runtime.Gosched()
	}
	return out
}

// prepareOrder decodes the event's data as an order event's: from the
// fields already decoded when it was sealed (its personal data aside, the
// two hold the same order fields), else from its queued data.
func (p *Processor) prepareOrder(ev *usher.InboundEvent, pr *prepared) (orderData, bool) {
	if pr.fields != nil {
		if d, ok := orderFromFields(pr.fields); ok {
			return d, true
		}
	}
	var d orderData
	return d, json.Unmarshal(ev.Data, &d) == nil
}

// prepareSeats makes the tickets an order.paid would mint, with their
// codes. A code signs the ticket id, show, venue and generation, so a seat
// is used only for a ticket of the same order, show and venue.
func (p *Processor) prepareSeats(d orderData, typ string) []usher.Ticket {
	demand, err := validOrder(d, typ)
	if err != nil {
		return nil
	}
	o := usher.Order{OrderID: d.OrderID, ShowID: d.ShowID, VenueID: d.VenueID}
	var seats []usher.Ticket
	for _, it := range demand {
		for range it.Quantity {
			if len(seats) == maxPreparedSeats {
				return seats
			}
			t, err := p.newTicket(o, it.TicketType, "")
			if err != nil {
				return seats
			}
			seats = append(seats, t)
		}
	}
	return seats
}

// prepareVault does the vault step of an event whose data is fields for an
// order with no buyer yet. It returns nil where the step is left to the
// transaction: no buyer, or a transfer's new holder, which is vaulted per
// transfer.
func (p *Processor) prepareVault(fields map[string]json.RawMessage) *vaultSeat {
	raw, ok := fields["buyer"]
	if _, transfer := fields["to"]; !ok || transfer {
		return nil
	}
	orderID := orderKey(fields)
	var b usher.Buyer
	if orderID == "" || json.Unmarshal(raw, &b) != nil || b == (usher.Buyer{}) {
		return nil
	}
	sealed, err := p.db.SealBuyer(b)
	if err != nil {
		return nil
	}
	data := maps.Clone(fields)
	data["buyer"] = tokenRef(sealed.Token)
	if _, err := personal.StripFields(data); err != nil {
		return nil
	}
	return &vaultSeat{orderID: orderID, buyer: sealed, data: personal.EncodeFields(data)}
}

// preparedVault returns the vault step made ahead for the event being
// applied when data is what it was made from, else nil.
func preparedVault(ctx context.Context, data json.RawMessage) *vaultSeat {
	pr := preparedOf(ctx)
	if pr == nil || pr.vault == nil || !bytes.Equal(pr.full, data) {
		return nil
	}
	return pr.vault
}

// preparedKey carries an event's prepared work in the context of its
// application.
type preparedKey struct{}

func withPrepared(ctx context.Context, pr *prepared) context.Context {
	if pr == nil {
		return ctx
	}
	return context.WithValue(ctx, preparedKey{}, pr)
}

func preparedOf(ctx context.Context) *prepared {
	pr, _ := ctx.Value(preparedKey{}).(*prepared)
	return pr
}

// preparedFields returns a copy of the prepared fields of the event being
// applied when data is what they were decoded from, else nil.
func preparedFields(ctx context.Context, data json.RawMessage) map[string]json.RawMessage {
	pr := preparedOf(ctx)
	if pr == nil || pr.fields == nil || !bytes.Equal(pr.full, data) {
		return nil
	}
	return maps.Clone(pr.fields)
}

// seatsOf returns the prepared seats of the event being applied, a slice of
// its own that takeSeat may shorten.
func seatsOf(ctx context.Context) []usher.Ticket {
	if pr := preparedOf(ctx); pr != nil {
		return append([]usher.Ticket(nil), pr.seats...)
	}
	return nil
}

// takeSeat removes from seats one made for o and ticketType and returns it
// as a ticket of o (revoked at once when revokedBy is set); ok is false
// when none fits.
func takeSeat(seats *[]usher.Ticket, o usher.Order, ticketType, revokedBy string) (usher.Ticket, bool) {
	for i, s := range *seats {
		if s.OrderID != o.OrderID || s.ShowID != o.ShowID || s.VenueID != o.VenueID || s.TicketType != ticketType {
			continue
		}
		*seats = append((*seats)[:i], (*seats)[i+1:]...)
		t := ticketing.NewTicket(s.TicketID, o, ticketType, revokedBy)
		if t.Generation != s.Generation {
			return usher.Ticket{}, false
		}
		t.Code = s.Code
		return t, true
	}
	return usher.Ticket{}, false
}
