package webhook

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/rawjson"
)

// checkCanonicalParsers fails when the one-pass parse of body takes what
// encoding/json refuses or reads it otherwise, or when the fallback loses
// a body encoding/json takes.
func checkCanonicalParsers(t *testing.T, body []byte) {
	t.Helper()
	want, werr := decodeCanonical(body)
	got, data, ok := parseCanonicalOnce(body)
	if ok && (werr != nil || got.Type != want.Type || !got.Timestamp.Equal(want.Timestamp) ||
		got.Timestamp.Location() != want.Timestamp.Location() || !bytes.Equal(got.Data, want.Data)) {
		t.Fatalf("one pass over %q gave %+v, encoding/json %+v (%v)", body, got, want, werr)
	}
	env, obj, err := parseCanonical(body)
	if (err == nil) != (werr == nil) || usher.ErrorMessage(err) != usher.ErrorMessage(werr) {
		t.Fatalf("parseCanonical(%q) error = %v, encoding/json %v", body, err, werr)
	}
	if err != nil {
		return
	}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("parseCanonical(%q) = %+v, encoding/json %+v", body, env, want)
	}
	wantObj, _ := rawjson.DecodeObject(want.Data)
	if !reflect.DeepEqual(obj, wantObj) || ok && !reflect.DeepEqual(data, wantObj) {
		t.Fatalf("parseCanonical(%q) data = %+v, want %+v", body, obj, wantObj)
	}
}

func TestCanonicalParsersAgree(t *testing.T) {
	t.Parallel()
	for _, body := range canonicalSamples(t) {
		checkCanonicalParsers(t, body)
	}
}

// TestOnePassTakesTheCommonEnvelope keeps the fallback for what it is: the
// usual envelope, escapes and non-ASCII included, takes the one pass.
func TestOnePassTakesTheCommonEnvelope(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"type":"order.paid","timestamp":"2026-12-01T12:00:00Z","data":{"order_id":"ord_1","buyer":{"name":"Zoë \"Z\" \u00e9"}}}`,
		`{"type":"order.paid","timestamp":"2026-12-01T12:00:00Z","data":{"order_id":"o","items":[{"ticket_type":"GA","quantity":2},null],"ticket_ids":["t1","t2"]}}`,
		` { "data" : { } , "timestamp" : "2026-12-01T12:00:00+01:00" , "type" : "x" , "extra": [1] } `,
	} {
		if _, _, ok := parseCanonicalOnce([]byte(body)); !ok {
			t.Errorf("one pass refused %s", body)
		}
	}
}

func FuzzCanonicalParsers(f *testing.F) {
	for _, body := range canonicalSamples(f) {
		f.Add(body)
	}
	f.Fuzz(checkCanonicalParsers)
}

func canonicalSamples(tb testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "standard", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	for _, s := range []string{
		`{"type":"order.paid","timestamp":"2026-12-01T12:00:00Z","data":{"order_id":"ord_1","items":[{"ticket_type":"GA"}],"ticket_ids":["t1"]}}`,
		`{"Type":"a","timestamp":"2026-12-01T12:00:00Z","data":{}}`, `{"type":"a","TIMEſTAMP":"2026-12-01T12:00:00Z","data":{}}`,
		`{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{},"DATA":5}`, `{"type":1,"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{}}`,
		`{"type":"a","type":null,"timestamp":"2026-12-01T12:00:00Z","data":{}}`, `{"type":null,"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{}}`,
		`{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{},"data":[]}`, `{"type":"a","timestamp":"1970-01-01T00:00:00Z","data":{}}`,
		`{"type":"a b","timestamp":"2026-12-01T12:00:00Z","data":{}}`, `{"type":"a","timestamp":"2026-12-01","data":{}}`,
		`{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{"order_id":"bad id"}}`, `{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{"items":[1]}}`,
		`{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{"items":[{"Ticket_Type":"x y"}]}}`, `{"t\u0079pe":"a","timestamp":"2026-12-01T12:00:00Z","data":{}}`,
		`{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{"items":[null,{"ticket_type":null},{"TICKET_TYPE":"GA"}],"ticket_ids":null}}`,
		`{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{"items":[{"ticket_type":"GA","ticket_type":"x y"}],"ticket_ids":["a",null,""]}}`,
		`{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{"items":{},"ticket_ids":"t"}}`, `{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{"ticket_ids":[1]}}`,
		`{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{"order_id":5}}`, `{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{"items":null,"show_id":""}}`,
		`null`, `[]`, ``, `{"type":"a","timestamp":"2026-12-01T12:00:00Z","data":{}} x`,
	} {
		out = append(out, []byte(s))
	}
	return out
}
