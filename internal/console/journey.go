package console

import (
	"net/http"
	"strings"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/problem"
)

// outboundStep is an outbound event with its deliveries.
type outboundStep struct {
	Event      usher.OutboundEvent
	Deliveries []deliveryStep
}

// deliveryStep is one subscription's delivery with every attempt.
type deliveryStep struct {
	Delivery usher.Delivery
	Attempts []usher.DeliveryAttempt
}

// inboundStep is an inbound event's dedupe record with the link to its
// trace, when it was traced and a trace URL template is configured.
type inboundStep struct {
	usher.InboundRecord
	TraceURL string
}

// ticketStep is a ticket with its scans: feed entry and gate.
type ticketStep struct {
	Ticket usher.Ticket
	Scans  []usher.Scan
}

// journeyPage follows an event id or an order id through usher.
type journeyPage struct {
	Query       string
	OrderID     string
	Inbound     []inboundStep
	Outbound    []outboundStep
	Tickets     []ticketStep
	DeadLetters []usher.DeadLetterRecord
	Found       bool
	// Traced is true when an inbound event of the journey has a trace.
	Traced bool
	// ErrorsHidden is true when the caller's scopes left error texts out
	// (redact).
	ErrorsHidden bool
}

func (c *Console) journey(w http.ResponseWriter, r *http.Request, v *view) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page := journeyPage{Query: q}
	if q != "" {
		if err := c.follow(r, &page); err != nil {
			problem.Fail(w, r, err)
			return
		}
	}
	redact(&page, v)
	c.render(w, r, "journey", v, page)
}

// redact leaves out of the journey the error texts the caller's scopes do
// not reach: a dead letter's last error needs dlq:read, as on the
// dead-letter page, and a delivery attempt's error subscriptions:read, as
// in the API. The page needs only orders:read.
func redact(p *journeyPage, v *view) {
	if !v.Can(auth.ScopeDLQRead) {
		for i := range p.DeadLetters {
			p.ErrorsHidden = p.ErrorsHidden || p.DeadLetters[i].LastError != ""
			p.DeadLetters[i].LastError = ""
		}
	}
	if !v.Can(auth.ScopeSubsRead) {
		for i := range p.Outbound {
			for j := range p.Outbound[i].Deliveries {
				for k := range p.Outbound[i].Deliveries[j].Attempts {
					a := &p.Outbound[i].Deliveries[j].Attempts[k]
					p.ErrorsHidden = p.ErrorsHidden || a.Error != ""
					a.Error = ""
				}
			}
		}
	}
}

// follow fills the journey: the inbound events (by id, else by order), the
// order's outbound events with each delivery attempt, its tickets' scans
// and its dead letters.
func (c *Console) follow(r *http.Request, p *journeyPage) error {
	ctx := r.Context()
	st := c.d.Store
	in, err := st.InboundByEvent(ctx, p.Query)
	if err != nil {
		return err
	}
	p.OrderID = p.Query
	if len(in) > 0 {
		p.OrderID = in[0].OrderID
	} else if ev, err := st.OutboxEvent(ctx, p.Query); err == nil {
		p.OrderID = ev.OrderID
	}
	if p.OrderID != "" {
		if in, err = st.InboundRecords(ctx, p.OrderID); err != nil {
			return err
		}
	}
	for _, rec := range in {
		step := inboundStep{InboundRecord: rec}
		if rec.TraceID != "" && c.d.TraceURLTemplate != "" {
			step.TraceURL = strings.ReplaceAll(c.d.TraceURLTemplate, TraceIDPlaceholder, rec.TraceID)
		}
		p.Traced = p.Traced || rec.TraceID != ""
		p.Inbound = append(p.Inbound, step)
	}
	if err := c.followOutbound(r, p); err != nil {
		return err
	}
	if p.OrderID != "" {
		if p.DeadLetters, _, err = st.SearchDeadLetters(ctx, usher.DeadLetterFilter{OrderID: p.OrderID, State: usher.DeadLettersAll, Limit: 100}); err != nil {
			return err
		}
		if err := c.followTickets(r, p); err != nil {
			return err
		}
	}
	p.Found = len(p.Inbound)+len(p.Outbound)+len(p.DeadLetters)+len(p.Tickets) > 0
	return nil
}

func (c *Console) followOutbound(r *http.Request, p *journeyPage) error {
	ctx := r.Context()
	if p.OrderID == "" {
		return nil
	}
	evs, err := c.d.Store.OutboxByOrder(ctx, p.OrderID, 200)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		step := outboundStep{Event: ev}
		ds, err := c.d.Store.DeliveriesOfEvent(ctx, ev.ID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			as, err := c.d.Store.DeliveryAttempts(ctx, usher.AttemptFilter{SubscriptionID: d.SubscriptionID, EventID: ev.ID, Limit: 100})
			if err != nil {
				return err
			}
			step.Deliveries = append(step.Deliveries, deliveryStep{Delivery: d, Attempts: as})
		}
		p.Outbound = append(p.Outbound, step)
	}
	return nil
}

func (c *Console) followTickets(r *http.Request, p *journeyPage) error {
	o, err := c.d.Store.OrderWithTickets(r.Context(), p.OrderID)
	if usher.ErrorCode(err) == usher.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	for _, t := range o.Tickets {
		scans, err := c.d.Store.ScansOfTicket(r.Context(), t.TicketID)
		if err != nil {
			return err
		}
		p.Tickets = append(p.Tickets, ticketStep{Ticket: t, Scans: scans})
	}
	return nil
}
