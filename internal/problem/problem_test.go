package problem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantDetail string
	}{
		{"coded", usher.Errorf(usher.CodeInvalidSignature, "no valid signature"), 401, problem.TypeBase + "invalid-signature", "no valid signature"},
		{"wrapped", fmt.Errorf("verify: %w", usher.Errorf(usher.CodeBodyTooLarge, "too big")), 413, problem.TypeBase + "body-too-large", "too big"},
		{"internal hides cause", errors.New("db password is hunter2"), 500, problem.TypeBase + "internal", "internal error"},
		{"queue", usher.WrapError(usher.CodeQueueUnavailable, errors.New("nats: timeout"), "queue unavailable"), 503, problem.TypeBase + "queue-unavailable", "queue unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			problem.Write(rec, httptest.NewRequest(http.MethodPost, "/webhooks/shop", nil), tt.err)
			if got := rec.Header().Get("Content-Type"); got != problem.ContentType {
				t.Errorf("content type = %q, want %q", got, problem.ContentType)
			}
			var d problem.Details
			if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
				t.Fatalf("decode body %q: %v", rec.Body.String(), err)
			}
			if rec.Code != tt.wantStatus || d.Status != tt.wantStatus {
				t.Errorf("status = %d (body %d), want %d", rec.Code, d.Status, tt.wantStatus)
			}
			if d.Type != tt.wantType || d.Detail != tt.wantDetail || d.Instance != "/webhooks/shop" {
				t.Errorf("got type=%q detail=%q instance=%q, want %q %q /webhooks/shop", d.Type, d.Detail, d.Instance, tt.wantType, tt.wantDetail)
			}
		})
	}
}

func TestEveryCodeHasAStatus(t *testing.T) {
	t.Parallel()
	for _, c := range problem.Codes() {
		if s := problem.Status(c); s < 400 || s > 599 {
			t.Errorf("code %q maps to status %d, want an error status", c, s)
		}
	}
}
