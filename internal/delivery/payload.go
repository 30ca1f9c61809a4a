package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// piiFields are the data keys, at any depth, that hold personal data; they
// are removed from the events of a subscription without "pii": true.
var piiFields = map[string]bool{
	"buyer": true, "email": true, "phone": true,
	"buyer_email": true, "buyer_name": true, "buyer_phone": true,
	"holder": true, "holder_email": true, "holder_name": true, "attendee": true,
}

// envelope is the body of a delivery.
type envelope struct {
	Type      string          `json:"type"`
	Version   string          `json:"version"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// eventBody returns the body of an outbound event: its type, the version
// its data is in, the time it happened and its data, without personal data
// unless pii. It is the same on every attempt, so a signature never depends
// on the retry.
func eventBody(typ, version string, at time.Time, data json.RawMessage, pii bool) ([]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("event %s has no data", typ)
	}
	if !pii {
		var err error
		if data, err = withoutPII(data); err != nil {
			return nil, err
		}
	}
	return json.Marshal(envelope{Type: typ, Version: version, Timestamp: at.UTC().Format(time.RFC3339Nano), Data: data})
}

// withoutPII removes piiFields from data. Data that names none of them is
// returned as it is.
func withoutPII(data json.RawMessage) (json.RawMessage, error) {
	found := false
	for k := range piiFields {
		if bytes.Contains(data, []byte(`"`+k+`"`)) {
			found = true
			break
		}
	}
	if !found {
		return data, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("event data: %w", err)
	}
	return json.Marshal(strip(v))
}

func strip(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if piiFields[k] {
				delete(t, k)
				continue
			}
			t[k] = strip(child)
		}
	case []any:
		for i, child := range t {
			t[i] = strip(child)
		}
	}
	return v
}
