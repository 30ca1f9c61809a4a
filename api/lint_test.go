// Package api_test lints the OpenAPI document api/openapi.yaml: it must be
// a valid OpenAPI 3.1 document by the specification's own JSON Schema
// (pb33f/libopenapi-validator), and keep the rules below, which a generated
// client and a reader rely on.
package api_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"gopkg.in/yaml.v3"
)

const problemRef = "#/components/schemas/Problem"

var (
	operationIDPattern = regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)
	pathParamPattern   = regexp.MustCompile(`\{([^}]+)\}`)
	schemaRefPattern   = regexp.MustCompile(`#/components/schemas/([A-Za-z0-9_]+)`)
)

func load(t *testing.T) ([]byte, libopenapi.Document, *v3.Document) {
	t.Helper()
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build the OpenAPI model: %v", err)
	}
	return raw, doc, &model.Model
}

// TestDocumentIsValidOpenAPI31 validates the document against the OpenAPI
// 3.1 specification's schema.
func TestDocumentIsValidOpenAPI31(t *testing.T) {
	t.Parallel()
	_, doc, model := load(t)
	if !strings.HasPrefix(model.Version, "3.1.") {
		t.Fatalf("openapi %q: the document is OpenAPI 3.1", model.Version)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  line %d, %s: %s", se.Line, se.FieldPath, se.Reason)
			}
		}
	}
}

// TestDocumentFollowsTheLintRules: every operation has a unique
// lowerCamelCase operationId, a summary, declared tags and its own
// security; its path parameters are declared; a token-guarded operation
// documents 401 and 403; every 4xx and 5xx answer is problem+json of the
// Problem schema; every request and answer body has a schema that says
// what its fields are; every component schema is used; no one-line
// mapping has a key without a value (an unquoted comma in a description
// splits it into keys).
func TestDocumentFollowsTheLintRules(t *testing.T) {
	t.Parallel()
	raw, _, model := load(t)
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	declared := map[string]bool{}
	for _, tag := range model.Tags {
		declared[tag.Name] = true
		if tag.Description == "" {
			fail("tag %q has no description", tag.Name)
		}
	}
	if model.Info.License == nil {
		fail("info has no license")
	}
	ids := map[string]string{}
	for path, item := range model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			name := strings.ToUpper(method) + " " + path
			if prev, dup := ids[op.OperationId]; dup {
				fail("%s: operationId %q is also %s's", name, op.OperationId, prev)
			}
			ids[op.OperationId] = name
			lintOperation(name, path, item, op, declared, fail)
		}
	}
	lintUnusedSchemas(raw, model, fail)
	lintFlowMappings(t, raw, fail)
	slices.Sort(problems)
	for _, p := range problems {
		t.Error(p)
	}
	if len(problems) == 0 {
		t.Logf("api/openapi.yaml: %d operations, %d schemas, no lint findings", len(ids), model.Components.Schemas.Len())
	}
}

func lintOperation(name, path string, item *v3.PathItem, op *v3.Operation, declared map[string]bool, fail func(string, ...any)) {
	if !operationIDPattern.MatchString(op.OperationId) {
		fail("%s: operationId %q is missing or not lowerCamelCase", name, op.OperationId)
	}
	if op.Summary == "" {
		fail("%s: no summary", name)
	}
	if len(op.Tags) == 0 {
		fail("%s: no tags", name)
	}
	for _, tag := range op.Tags {
		if !declared[tag] {
			fail("%s: tag %q is not declared in the top-level tags", name, tag)
		}
	}
	if op.Security == nil {
		fail("%s: no security of its own (security: [] for a public route)", name)
	}
	lintParameters(name, path, item, op, fail)
	if op.RequestBody != nil {
		for ct, mt := range op.RequestBody.Content.FromOldest() {
			lintBody(name, "request body "+ct, mt, fail)
		}
	}
	guarded := len(op.Security) > 0
	if guarded && (op.Responses.Codes.GetOrZero("401") == nil || op.Responses.Codes.GetOrZero("403") == nil) {
		fail("%s: needs a token, so it documents 401 and 403", name)
	}
	for code, resp := range op.Responses.Codes.FromOldest() {
		lintResponse(name, code, resp, fail)
	}
}

func lintParameters(name, path string, item *v3.PathItem, op *v3.Operation, fail func(string, ...any)) {
	inPath := map[string]bool{}
	for _, p := range slices.Concat(item.Parameters, op.Parameters) {
		if p.In == "path" {
			inPath[p.Name] = true
		}
		if p.Schema == nil {
			fail("%s: parameter %s has no schema", name, p.Name)
		}
	}
	for _, m := range pathParamPattern.FindAllStringSubmatch(path, -1) {
		if !inPath[m[1]] {
			fail("%s: path parameter {%s} is not declared", name, m[1])
		}
	}
}

func lintResponse(name, code string, resp *v3.Response, fail func(string, ...any)) {
	if resp.Description == "" {
		fail("%s: answer %s has no description", name, code)
	}
	if code >= "400" {
		mt := resp.Content.GetOrZero("application/problem+json")
		if resp.Content.Len() != 1 || mt == nil || mt.Schema == nil || mt.Schema.GetReference() != problemRef {
			fail("%s: answer %s is not application/problem+json of %s", name, code, problemRef)
		}
		return
	}
	if code != "204" && (resp.Content == nil || resp.Content.Len() == 0) {
		fail("%s: answer %s has no body schema", name, code)
	}
	for ct, mt := range resp.Content.FromOldest() {
		lintBody(name, "answer "+code+" "+ct, mt, fail)
	}
}

// lintBody wants a schema that names its fields: a reference, or a schema
// with properties, items, a composition, or a scalar type.
func lintBody(name, what string, mt *v3.MediaType, fail func(string, ...any)) {
	if mt.Schema == nil {
		fail("%s: %s has no schema", name, what)
		return
	}
	if mt.Schema.IsReference() {
		return
	}
	if !describes(mt.Schema.Schema()) {
		fail("%s: %s is a free-form object; describe its fields", name, what)
	}
}

func describes(s *base.Schema) bool {
	if s == nil {
		return false
	}
	if (s.Properties != nil && s.Properties.Len() > 0) || s.Items != nil || len(s.AllOf) > 0 || len(s.OneOf) > 0 || len(s.AnyOf) > 0 {
		return true
	}
	return len(s.Type) > 0 && !slices.Contains(s.Type, "object")
}

// lintUnusedSchemas fails for a component schema nothing refers to.
func lintUnusedSchemas(raw []byte, model *v3.Document, fail func(string, ...any)) {
	used := map[string]bool{}
	for _, m := range schemaRefPattern.FindAllStringSubmatch(string(raw), -1) {
		used[m[1]] = true
	}
	for name := range model.Components.Schemas.KeysFromOldest() {
		if !used[name] {
			fail("components.schemas.%s is not used", name)
		}
	}
}

// lintFlowMappings fails for a key without a value in a one-line mapping
// ({a: b, c}): the mark of an unquoted comma that turned the end of a
// description into a key.
func lintFlowMappings(t *testing.T, raw []byte, fail func(string, ...any)) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle != 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if v := n.Content[i+1]; v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "" {
					fail("line %d: key %q has no value; quote a value that holds a comma", n.Content[i].Line, n.Content[i].Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
}
