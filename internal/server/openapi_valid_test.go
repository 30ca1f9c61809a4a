package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/usherhq/usher/internal/ushertest"
)

// publicRoutes answer without a token; the document must say so.
var publicRoutes = map[string]bool{"POST /webhooks/{source}": true, "GET /healthz": true, "GET /readyz": true, "GET /passes/{token}": true}

func loadContract(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join("..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	return doc
}

// TestOpenAPIContractIsValid validates api/openapi.yaml for its declared
// version (kin-openapi) and the rules the document keeps: an operationId
// on every operation, security: [] on the public routes, a schema for every
// request body and every answer that has a body.
func TestOpenAPIContractIsValid(t *testing.T) {
	t.Parallel()
	doc := loadContract(t)
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("api/openapi.yaml is not a valid OpenAPI %s document: %v", doc.OpenAPI, err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", name)
			}
			if publicRoutes[name] && (op.Security == nil || len(*op.Security) != 0) {
				t.Errorf("%s is public: it needs security: []", name)
			}
			if !publicRoutes[name] && (op.Security == nil || len(*op.Security) == 0) {
				t.Errorf("%s needs a token: it needs security: [{bearer: []}]", name)
			}
			if op.RequestBody != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					if mt.Schema == nil {
						t.Errorf("%s: request body %s has no schema", name, ct)
					}
				}
			}
			for code, resp := range op.Responses.Map() {
				if strings.HasPrefix(code, "2") && code != "204" && len(resp.Value.Content) == 0 {
					t.Errorf("%s: answer %s has no content schema", name, code)
				}
				for ct, mt := range resp.Value.Content {
					if mt.Schema == nil {
						t.Errorf("%s: answer %s %s has no schema", name, code, ct)
					}
				}
			}
		}
	}
}

// TestAnswersMatchTheOpenAPIContract sends real requests to a running
// usher and validates each answer, successes and problems, against the
// document: status documented, content type and body matching its schema.
func TestAnswersMatchTheOpenAPIContract(t *testing.T) {
	t.Parallel()
	doc := loadContract(t)
	s := ushertest.Start(t)
	doc.Servers = openapi3.Servers{{URL: s.URL()}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	status, _ := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_contract", 1)))
	if status != http.StatusAccepted {
		t.Fatalf("send: %d", status)
	}
	ushertest.Eventually(t, 20*time.Second, "order", func() bool {
		_, err := s.Store().OrderWithTickets(context.Background(), "ord_contract")
		return err == nil
	})
	tok := ushertest.AdminToken
	cases := []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/readyz", "", nil, 200},
		{"GET", "/v1/orders/ord_contract", tok, nil, 200},
		{"GET", "/v1/orders/ord_missing", tok, nil, 404},
		{"GET", "/v1/tokens", tok, nil, 200},
		{"GET", "/v1/tokens", "", nil, 401},
		{"GET", "/v1/tokens", "not-a-token", nil, 401},
		{"POST", "/v1/tokens", tok, map[string]any{"scopes": []string{"orders:read"}, "description": "contract"}, 201},
		{"POST", "/v1/tokens", tok, map[string]any{"scopes": []string{"no:such-scope"}}, 400},
		{"POST", "/v1/sources", tok, map[string]string{"name": "contract-shop", "scheme": "standard-webhooks"}, 201},
		{"GET", "/v1/sources/contract-shop", tok, nil, 200},
		{"POST", "/v1/sources/contract-shop/secrets:rotate", tok, map[string]string{"grace": "1h"}, 201},
		{"GET", "/v1/dlq", tok, nil, 200},
		{"GET", "/v1/audit", tok, nil, 200},
		{"GET", "/v1/event-types", tok, nil, 200},
		{"GET", "/v1/subscriptions", tok, nil, 200},
		{"POST", "/v1/subscriptions", tok, map[string]any{"url": "not a url", "event_types": []string{"ticket.issued"}}, 400},
		{"POST", "/v1/subscriptions", tok, map[string]any{"url": "http://127.0.0.1:9/hook", "event_types": []string{"ticket.issued"}}, 201},
		{"GET", "/v1/shows/" + "demo-show" + "/inventory", tok, nil, 200},
	}
	for _, c := range cases {
		validateAnswer(t, s.URL(), router, c.method, c.path, c.token, c.body, c.want)
	}
}

// validateAnswer sends one request and checks its answer against the route
// the document gives for it.
func validateAnswer(t *testing.T, base string, router routers.Router, method, path, token string, body any, want int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, answer)
		return
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: no route in the document: %v", method, path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(answer)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which the document does not allow: %v\n%s", method, path, resp.StatusCode, err, answer)
	}
}
