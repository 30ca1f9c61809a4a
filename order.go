package usher

import "time"

// OrderStatus is the lifecycle state of an order.
type OrderStatus string

// Order statuses. docs/lifecycle.md has every legal transition.
const (
	OrderPending           OrderStatus = "pending"        // known, not paid (a hold may be active)
	OrderCanceled          OrderStatus = "canceled"       // canceled before payment
	OrderExpired           OrderStatus = "expired"        // hold expired before payment
	OrderPaymentFailed     OrderStatus = "payment_failed" // payment failed, none succeeded
	OrderPaid              OrderStatus = "paid"
	OrderOversold          OrderStatus = "oversold"
	OrderRefunded          OrderStatus = "refunded"
	OrderPartiallyRefunded OrderStatus = "partially_refunded"
	OrderChargedBack       OrderStatus = "charged_back"
)

// Item is one line of an order: a quantity of one ticket type.
type Item struct {
	TicketType string `json:"ticket_type"`
	Quantity   int    `json:"quantity"`
}

// Buyer is the person who paid. It is personal data: never log it unmasked.
type Buyer struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Order is a purchase of tickets for one show.
type Order struct {
	OrderID string      `json:"order_id"`
	ShowID  string      `json:"show_id"`
	VenueID string      `json:"venue_id"`
	Status  OrderStatus `json:"status"`
	Items   []Item      `json:"items"`
	// PaymentRef is the provider's payment reference (a Stripe payment intent).
	PaymentRef string `json:"payment_ref,omitempty"`
	// HoldExpiresAt is when an order.created hold lapses; zero without a hold.
	HoldExpiresAt time.Time `json:"hold_expires_at,omitzero"`
	OrderFacts
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Tickets   []Ticket  `json:"tickets"`
}

// OrderFacts are what an order has seen, independent of arrival order: the
// processor records facts and derives the status from them.
type OrderFacts struct {
	// HeldItems is the quantity per ticket type an active hold keeps.
	HeldItems []Item `json:"-"`
	// PaidAt is the provider time of the payment; zero when unpaid.
	PaidAt time.Time `json:"paid_at,omitzero"`
	// UnpaidReason is canceled, expired or payment_failed, for an unpaid order.
	UnpaidReason string `json:"-"`
	// RefundAll records a full refund, also one that came before the payment.
	RefundAll bool `json:"-"`
	// Chargebacks counts disputes opened minus disputes reversed.
	Chargebacks int `json:"-"`
}

// Inventory is the capacity and sales of one ticket type of one show.
// Version increases on every change; writers compare-and-swap on it.
type Inventory struct {
	ShowID     string `json:"show_id"`
	TicketType string `json:"ticket_type"`
	Capacity   int    `json:"capacity"`
	Sold       int    `json:"sold"`
	Held       int    `json:"held"`
	Available  int    `json:"available"`
	Version    int64  `json:"version"`
}
