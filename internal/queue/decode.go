package queue

import (
	"encoding/base64"
	"encoding/json"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/rawjson"
)

// decodeEvents decodes a stream message, the JSON array of events that
// appendEvent's encoding makes, exactly as json.Unmarshal into a
// []usher.InboundEvent does. The message's own shape (lower-case keys, each
// value of its field's kind) is read in one pass without reflection; any
// other text, and every error, goes through json.Unmarshal, so that the
// result and the error are encoding/json's. The events' Data and Original
// share raw's memory, each capped at its own end.
func decodeEvents(raw []byte) ([]usher.InboundEvent, error) {
	if events, ok := decodeOwnShape(raw); ok {
		return events, nil
	}
	var events []usher.InboundEvent
	if err := json.Unmarshal(raw, &events); err != nil {
		return nil, err
	}
	return events, nil
}

// decodeOwnShape decodes raw, in one pass, when it has the encoding's own
// shape; false when anything in it calls for encoding/json.
func decodeOwnShape(raw []byte) ([]usher.InboundEvent, bool) {
	events := make([]usher.InboundEvent, 0, 16)
	objects, ok := rawjson.EachObjectMember(raw, func(object int, key []byte, value json.RawMessage) bool {
		for len(events) <= object {
			events = append(events, usher.InboundEvent{})
		}
		return decodeMember(&events[object], key, value)
	})
	if !ok {
		return nil, false
	}
	for len(events) < objects { // empty objects, at the end
		events = append(events, usher.InboundEvent{})
	}
	return events, true
}

// decodeMember sets the field of ev that key (quotes included) names from
// its value v; false when key is not a field's own plain spelling or v is
// not of the field's kind (null included, which encoding/json treats
// field by field).
func decodeMember(ev *usher.InboundEvent, key []byte, v json.RawMessage) bool {
	switch string(key) {
	case `"source"`:
		return unquoteInto(&ev.Source, v)
	case `"id"`:
		return unquoteInto(&ev.ID, v)
	case `"type"`:
		return unquoteInto(&ev.Type, v)
	case `"order_id"`:
		return unquoteInto(&ev.OrderID, v)
	case `"payload_hash"`:
		return unquoteInto(&ev.PayloadHash, v)
	case `"key_id"`:
		return unquoteInto(&ev.KeyID, v)
	case `"traceparent"`:
		return unquoteInto(&ev.TraceParent, v)
	case `"timestamp"`:
		return v[0] == '"' && ev.Timestamp.UnmarshalJSON(v) == nil
	case `"received_at"`:
		return v[0] == '"' && ev.ReceivedAt.UnmarshalJSON(v) == nil
	case `"data"`:
		ev.Data = v
		return v[0] != 'n'
	case `"original"`:
		ev.Original = v
		return v[0] != 'n'
	case `"sealed"`:
		return decodeBytes(&ev.Sealed, v)
	case `"replay"`:
		switch string(v) {
		case "true":
			ev.Replay = true
		case "false":
			ev.Replay = false
		default:
			return false
		}
		return true
	}
	return false
}

// unquoteInto sets *dst to the string v when v is one.
func unquoteInto(dst *string, v json.RawMessage) bool {
	s, ok := rawjson.Unquote(v)
	if ok {
		*dst = s
	}
	return ok
}

// decodeBytes sets *dst as encoding/json decodes a []byte: base64 (the
// standard alphabet, padded) inside a string.
func decodeBytes(dst *[]byte, v json.RawMessage) bool {
	s, ok := rawjson.Unquote(v)
	if !ok {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return false
	}
	*dst = b
	return true
}
