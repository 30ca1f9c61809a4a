package events_test

import (
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
)

// BenchmarkValidate measures the edge's schema check of one order.paid: a
// valid document (two items and a buyer), and one refused at its first item.
// Run it beside the verify benchmarks in one run:
//
//	go test -run '^$' -bench 'Validate|Verify' ./internal/events ./internal/webhook
func BenchmarkValidate(b *testing.B) {
	v := load(b).Validator(events.Inbound)
	for _, bc := range []struct {
		name, data string
		ok         bool
	}{
		{"valid", `{"order_id":"ord_1001","show_id":"show_42","venue_id":"venue_1","items":[{"ticket_type":"GA","quantity":2},{"ticket_type":"VIP","quantity":1}],"buyer":{"email":"ada@example.com","name":"Ada"},"payment_intent":"pi_3Nx"}`, true},
		{"refused", `{"order_id":"ord_1001","show_id":"show_42","venue_id":"venue_1","items":[{"ticket_type":"GA","quantity":0}]}`, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := []byte(bc.data)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Validate(usher.TypeOrderPaid, "", data); (err == nil) != bc.ok {
					b.Fatal(err)
				}
			}
		})
	}
}
