package delivery

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDeadLetterListRefusesUnknownFilterValues: an unknown stage is refused
// like an unknown state, instead of answering an empty 200.
func TestDeadLetterListRefusesUnknownFilterValues(t *testing.T) {
	t.Parallel()
	api := setup(t).api()
	for _, q := range []string{"stage=bogus", "state=bogus", "stage=Processing"} {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/dlq?"+q, nil))
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != http.StatusBadRequest || p.Code != "invalid_request" || !strings.HasPrefix(p.Detail, strings.SplitN(q, "=", 2)[0]) {
			t.Errorf("GET /v1/dlq?%s = %d %s, want 400 invalid_request naming the parameter", q, rec.Code, rec.Body)
		}
	}
	for _, q := range []string{"stage=processing", "stage=delivery", "state=all"} {
		if code := call(t, api, http.MethodGet, "/v1/dlq?"+q, nil, nil); code != http.StatusOK {
			t.Errorf("GET /v1/dlq?%s = %d, want 200", q, code)
		}
	}
}
