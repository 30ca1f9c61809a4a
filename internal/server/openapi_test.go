package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/usherhq/usher/internal/ushertest"
)

// TestEveryRouteIsInTheOpenAPIContract keeps api/openapi.yaml honest: each
// admin route the server mounts, and the public ones, must be documented
// with its method.
func TestEveryRouteIsInTheOpenAPIContract(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	s := ushertest.Start(t)
	type route struct{ method, path string }
	routes := []route{{"post", "/webhooks/{source}"}, {"get", "/healthz"}, {"get", "/readyz"}, {"get", "/metrics"}}
	for _, rt := range s.AdminRoutes() {
		routes = append(routes, route{strings.ToLower(rt.Method), rt.Pattern})
	}
	for _, rt := range routes {
		ops, ok := spec.Paths[rt.path]
		if !ok {
			t.Errorf("%s %s is not in api/openapi.yaml", strings.ToUpper(rt.method), rt.path)
			continue
		}
		if _, ok := ops[rt.method]; !ok {
			t.Errorf("%s %s: the path is documented, the method is not", strings.ToUpper(rt.method), rt.path)
		}
	}
}
