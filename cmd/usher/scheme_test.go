package main

import (
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/webhook"
)

// TestSchemeFlagHelpListsRegistry checks that the --scheme help of usher
// send and usher source create names every registered scheme.
func TestSchemeFlagHelpListsRegistry(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"send", "-h"}, {"source", "create", "shop", "-h"}} {
		out, _ := runCLI(t, args...)
		for _, name := range webhook.Names() {
			if !strings.Contains(out, name) {
				t.Errorf("usher %s: help does not name scheme %q:\n%s", strings.Join(args, " "), name, out)
			}
		}
	}
}
