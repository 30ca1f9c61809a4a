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

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
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
