package rawjson

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestHasStringStopAgreesWithTheTable checks the eight-at-a-time test
// against stringStops for every byte at every position, and on random words.
func TestHasStringStopAgreesWithTheTable(t *testing.T) {
	t.Parallel()
	check := func(word [8]byte) {
		want := false
		for _, c := range word {
			want = want || stringStops[c]
		}
		if got := hasStringStop(binary.LittleEndian.Uint64(word[:])); got != want {
			t.Fatalf("hasStringStop(%q) = %v, want %v", word, got, want)
		}
	}
	for _, fill := range []byte{'a', ' ', '~', 0x21, 0x5d, 0x7f} {
		for pos := range 8 {
			for c := range 256 {
				word := [8]byte{fill, fill, fill, fill, fill, fill, fill, fill}
				word[pos] = byte(c)
				check(word)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		var word [8]byte
		binary.LittleEndian.PutUint64(word[:], r.Uint64())
		check(word)
	}
}
