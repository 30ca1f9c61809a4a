package httpjson_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/httpjson"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	type body struct {
		A int `json:"a"`
	}
	tests := []struct {
		name, in string
		o        httpjson.Options
		want     usher.Code // "" for no error
		detail   string     // a part of the error's message
	}{
		{"ok", `{"a":1}`, httpjson.Options{Limit: 100}, "", ""},
		{"exactly the limit", `{"a":1}`, httpjson.Options{Limit: 7}, "", ""},
		{"unknown field", `{"a":1,"b":2}`, httpjson.Options{Limit: 100}, usher.CodeInvalid, `unknown field "b"`},
		{"unknown field allowed", `{"a":1,"b":2}`, httpjson.Options{Limit: 100, AllowUnknown: true}, "", ""},
		{"empty", ``, httpjson.Options{Limit: 100}, usher.CodeInvalid, "required"},
		{"blank", " \n ", httpjson.Options{Limit: 100}, usher.CodeInvalid, "required"},
		{"empty optional", ``, httpjson.Options{Limit: 100, Optional: true}, "", ""},
		{"trailing value", `{"a":1}{"a":2}`, httpjson.Options{Limit: 100}, usher.CodeInvalid, "trailing"},
		{"trailing bracket", `{"a":1}]`, httpjson.Options{Limit: 100}, usher.CodeInvalid, "trailing"},
		{"trailing after spaces", `{"a":1}` + strings.Repeat(" ", 4096) + `garbage`, httpjson.Options{Limit: 8192}, usher.CodeInvalid, "trailing"},
		{"trailing past the limit", `{"a":1}` + strings.Repeat(" ", 4096) + `garbage`, httpjson.Options{Limit: 1024}, usher.CodeBodyTooLarge, "1024 bytes"},
		{"over the limit", `{"a":1}`, httpjson.Options{Limit: 4}, usher.CodeBodyTooLarge, "limit"},
		{"cut short", `{"a":`, httpjson.Options{Limit: 100}, usher.CodeInvalid, "ends inside"},
		{"wrong type", `{"a":"x"}`, httpjson.Options{Limit: 100}, usher.CodeInvalid, `field "a": got string, want an integer`},
		{"out of range", `{"a":1e20}`, httpjson.Options{Limit: 100}, usher.CodeInvalid, `field "a": got number 1e20, want an integer`},
		{"not an object", `[]`, httpjson.Options{Limit: 100}, usher.CodeInvalid, "the body: got array, want an object"},
		{"not JSON", `{a}`, httpjson.Options{Limit: 100}, usher.CodeInvalid, "at byte"},
	}
	for _, tt := range tests {
		var b body
		req := httptest.NewRequest("POST", "/", strings.NewReader(tt.in))
		req.Header.Set("Content-Type", "application/json")
		err := httpjson.Decode(req, &b, tt.o)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got %v, want no error", tt.name, err)
		case tt.want != "" && (usher.ErrorCode(err) != tt.want || !strings.Contains(err.Error(), tt.detail)):
			t.Errorf("%s: got %v, want %s naming %q", tt.name, err, tt.want, tt.detail)
		}
		if err != nil && strings.Contains(err.Error(), "Go struct") {
			t.Errorf("%s: the message names Go's types: %v", tt.name, err)
		}
	}
}

func TestRespond(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	httpjson.Respond(rec, 201, map[string]int{"a": 1})
	if rec.Code != 201 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" || strings.TrimSpace(rec.Body.String()) != `{"a":1}` {
		t.Errorf("got %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
}

// A body declared as another media type is a 415; JSON types (with
// parameters, +json) and a missing Content-Type are read as JSON, and an
// empty optional body is taken whatever its declared type.
func TestDecodeMediaTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ct, body string
		o        httpjson.Options
		want     usher.Code
	}{
		{"", `{"a":1}`, httpjson.Options{Limit: 100}, ""},
		{"application/json", `{"a":1}`, httpjson.Options{Limit: 100}, ""},
		{"application/json; charset=utf-8", `{"a":1}`, httpjson.Options{Limit: 100}, ""},
		{"application/merge-patch+json", `{"a":1}`, httpjson.Options{Limit: 100}, ""},
		{"text/plain", `{"a":1}`, httpjson.Options{Limit: 100}, usher.CodeUnsupportedMedia},
		{"application/x-www-form-urlencoded", `{"a":1}`, httpjson.Options{Limit: 100}, usher.CodeUnsupportedMedia},
		{"application/json;;", `{"a":1}`, httpjson.Options{Limit: 100}, usher.CodeUnsupportedMedia},
		{"application/x-www-form-urlencoded", ``, httpjson.Options{Limit: 100, Optional: true}, ""},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ct)
		var b struct {
			A int `json:"a"`
		}
		err := httpjson.Decode(req, &b, tc.o)
		if usher.ErrorCode(err) != tc.want {
			t.Errorf("Content-Type %q, body %q: got %v, want %q", tc.ct, tc.body, err, tc.want)
		}
	}
}
