package queue

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/rawjson"
)

// appendEvent appends ev encoded exactly as json.Marshal encodes it, at about
// half the cost: no reflection, and the canonical data, the larger part of
// an event, is copied after one validity check instead of compacted again
// when it is already compact (as the receiver's normalized data is).
func appendEvent(dst []byte, ev *usher.InboundEvent) ([]byte, error) {
	var err error
	dst = appendField(dst, `{"source":`, ev.Source)
	dst = appendField(dst, `,"id":`, ev.ID)
	dst = appendField(dst, `,"type":`, ev.Type)
	dst = appendField(dst, `,"order_id":`, ev.OrderID)
	if dst, err = appendTime(append(dst, `,"timestamp":`...), ev.Timestamp); err != nil {
		return nil, err
	}
	if dst, err = appendTime(append(dst, `,"received_at":`...), ev.ReceivedAt); err != nil {
		return nil, err
	}
	dst = appendField(dst, `,"payload_hash":`, ev.PayloadHash)
	dst = appendField(dst, `,"key_id":`, ev.KeyID)
	if dst, err = rawjson.Append(append(dst, `,"data":`...), ev.Data); err != nil {
		return nil, err
	}
	if len(ev.Original) > 0 {
		if dst, err = rawjson.Append(append(dst, `,"original":`...), ev.Original); err != nil {
			return nil, err
		}
	}
	if len(ev.Sealed) > 0 {
		dst = append(base64.StdEncoding.AppendEncode(append(dst, `,"sealed":"`...), ev.Sealed), '"')
	}
	if ev.Replay {
		dst = append(dst, `,"replay":true`...)
	}
	if ev.TraceParent != "" {
		dst = appendField(dst, `,"traceparent":`, ev.TraceParent)
	}
	return append(dst, '}'), nil
}

// appendField appends the key (with its punctuation) and s as a JSON
// string.
func appendField(dst []byte, key, s string) []byte {
	return rawjson.AppendString(append(dst, key...), s)
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, refused outside the years 0–9999).
func appendTime(dst []byte, t time.Time) ([]byte, error) {
	dst = append(dst, '"')
	dst, err := t.AppendText(dst)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return append(dst, '"'), nil
}
