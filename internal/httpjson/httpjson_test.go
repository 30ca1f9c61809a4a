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
		wantErr  bool
	}{
		{"ok", `{"a":1}`, httpjson.Options{Limit: 100}, false},
		{"unknown field", `{"a":1,"b":2}`, httpjson.Options{Limit: 100}, true},
		{"unknown field allowed", `{"a":1,"b":2}`, httpjson.Options{Limit: 100, AllowUnknown: true}, false},
		{"empty", ``, httpjson.Options{Limit: 100}, true},
		{"empty optional", ``, httpjson.Options{Limit: 100, Optional: true}, false},
		{"trailing", `{"a":1}{"a":2}`, httpjson.Options{Limit: 100}, true},
		{"over the limit", `{"a":1}`, httpjson.Options{Limit: 4}, true},
	}
	for _, tt := range tests {
		var b body
		err := httpjson.Decode(httptest.NewRequest("POST", "/", strings.NewReader(tt.in)), &b, tt.o)
		if (err != nil) != tt.wantErr || (err != nil && usher.ErrorCode(err) != usher.CodeInvalid) {
			t.Errorf("%s: got %v, want error %v (invalid_request)", tt.name, err, tt.wantErr)
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
