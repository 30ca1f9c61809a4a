package personal_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/personal"
)

// BenchmarkStrip strips the data of an order.paid (two items, a buyer, a
// 700-byte note) as the receiver does before sealing (`buyer`), and as
// the processor meets it after the vault step (`token`: nothing to remove).
func BenchmarkStrip(b *testing.B) {
	for _, c := range []struct{ name, buyer string }{
		{"buyer", `{"email":"ada@example.com","name":"Ada Lovelace"}`},
		{"token", `{"token":"byr_0123456789abcdef"}`},
	} {
		data := json.RawMessage(`{"order_id":"ord_1001","show_id":"show_42","venue_id":"venue_1","items":[{"ticket_type":"GA","quantity":2},{"ticket_type":"VIP","quantity":1}],"buyer":` +
			c.buyer + `,"note":"` + strings.Repeat("x", 700) + `"}`)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, err := personal.Strip(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
