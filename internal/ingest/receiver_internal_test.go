package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzAcceptedBody: the 202 body is what json.Encoder writes of Accepted.
func FuzzAcceptedBody(f *testing.F) {
	f.Add("shop", "msg_1", "order.paid")
	f.Add("a<b>&", "\"quoted\\\" \u2028 \xff", "é\n")
	f.Fuzz(func(t *testing.T, source, id, typ string) {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(Accepted{Status: "accepted", Source: source, ID: id, Type: typ}); err != nil {
			t.Fatal(err)
		}
		if got := acceptedBody(source, id, typ); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("acceptedBody(%q, %q, %q) = %q, json.Encoder writes %q", source, id, typ, got, want.Bytes())
		}
	})
}

// TestReadAllReadsWhatIoReadAllReads whatever the declared length says.
func TestReadAllReadsWhatIoReadAllReads(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "x", strings.Repeat("0123456789", 300)} {
		for _, declared := range []int64{-1, 0, int64(len(body)), int64(len(body)) / 2, int64(len(body)) + 7} {
			for _, r := range []func() io.Reader{
				func() io.Reader { return strings.NewReader(body) },
				func() io.Reader { return iotest.OneByteReader(strings.NewReader(body)) },
			} {
				got, err := readAll(r(), declared)
				if err != nil || string(got) != body {
					t.Errorf("body of %d bytes declared %d: got %d bytes, %v", len(body), declared, len(got), err)
				}
			}
		}
	}
	if _, err := readAll(iotest.ErrReader(io.ErrUnexpectedEOF), 10); err != io.ErrUnexpectedEOF {
		t.Errorf("got %v, want the reader's error", err)
	}
}
