package rawjson_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/rawjson"
)

// benchData is the canonical data of an order.paid of about 1 KiB.
var benchData = []byte(`{"order_id":"ord_1001","show_id":"bench-show","venue_id":"bench-venue","items":[{"ticket_type":"GA","quantity":2}],` +
	`"buyer":{"email":"ada@example.com","name":"Ada Lovelace"},"note":"` + strings.Repeat("x", 760) + `"}`)

// BenchmarkValid compares Valid with json.Valid, and DecodeObject with the
// decodes it stands for (into a map of raw values, and into an any with
// UseNumber), on benchData.
func BenchmarkValid(b *testing.B) {
	b.Run("rawjson", func(b *testing.B) {
		b.SetBytes(int64(len(benchData)))
		for b.Loop() {
			if !rawjson.Valid(benchData) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(benchData)))
		for b.Loop() {
			if !json.Valid(benchData) {
				b.Fatal("invalid")
			}
		}
	})
}

func BenchmarkDecodeObject(b *testing.B) {
	b.Run("rawjson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := rawjson.DecodeObject(benchData); !ok {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(benchData, &m); err != nil {
				b.Fatal(err)
			}
			if _, err := decodeAsJSONSchema(benchData); err != nil {
				b.Fatal(err)
			}
		}
	})
}
