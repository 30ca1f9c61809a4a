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
		err := httpjson.Decode(httptest.NewRequest("POST", "/", strings.NewReader(tt.in)), &b, tt.o)
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
