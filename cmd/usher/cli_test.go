package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/ushertest"
)

// commandPaths walks the command tree: every command's words after "usher".
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		p := append(append([]string{}, prefix...), sub.Name())
		out = append(out, p)
		out = append(out, commandPaths(sub, p)...)
	}
	return out
}

// TestEveryCommandsHelpHasNoSideEffects runs every command with --help and
// -h, flags and arguments around it as a user would type them, against a
// server that fails the test on any request and a data directory that must
// stay empty: help prints usage with examples and exits 0.
func TestEveryCommandsHelpHasNoSideEffects(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a --help run made a request: %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	dataDir := t.TempDir()
	vars := map[string]string{"USHER_URL": srv.URL, "USHER_DATA_DIR": dataDir, "USHER_ADMIN_TOKEN": "tok", "USHER_POSTGRES_URL": ""}
	getenv := func(k string) string { return vars[k] }
	e := &env{getenv: getenv, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	paths := commandPaths(newRoot(e), nil)
	// cobra adds completion and help when it runs: walk after a first run.
	if len(paths) < 30 {
		root := newRoot(e)
		root.InitDefaultHelpCmd()
		root.InitDefaultCompletionCmd()
		paths = commandPaths(root, nil)
	}
	for _, p := range append(paths, nil) {
		for _, args := range [][]string{
			append(append([]string{}, p...), "--help"),
			append(append([]string{}, p...), "-h"),
			append(append([]string{}, p...), "arg1", "--help"),
			append([]string{"--help"}, p...),
		} {
			var out, errOut bytes.Buffer
			err := run(context.Background(), args, getenv, &out, &errOut)
			if err != nil || exitCode(err) != exitOK {
				t.Errorf("usher %s: %v (exit %d)\n%s", strings.Join(args, " "), err, exitCode(err), errOut.String())
				continue
			}
			if !strings.Contains(out.String(), "Usage:") {
				t.Errorf("usher %s printed no usage:\n%s", strings.Join(args, " "), out.String())
			}
		}
	}
	if entries, _ := os.ReadDir(dataDir); len(entries) != 0 {
		t.Errorf("--help runs wrote %v into the data directory", entries)
	}
	if len(paths) < 30 {
		t.Errorf("walked only %d commands: %v", len(paths), paths)
	}
}

// TestEveryRunnableCommandHasExamples keeps the help format consistent.
func TestEveryRunnableCommandHasExamples(t *testing.T) {
	t.Parallel()
	e := &env{getenv: func(string) string { return "" }, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Runnable() && sub.Example == "" && len(sub.Commands()) == 0 {
				t.Errorf("%s has no Example", sub.CommandPath())
			}
			if sub.Short == "" {
				t.Errorf("%s has no Short", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(newRoot(e))
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{}, {"frobnicate"}, {"token", "frob"}, {"token"}, {"source", "create"}, {"source", "create", "a", "b"},
		{"token", "list", "--no-such-flag"}, {"serve", "--addr"}, {"token", "list", "--output", "yaml"},
		{"send", "--order", "ORDER_ID", "order.refunded"}, {"replay", "--since", "2h"}, {"pii", "erase"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
		if exitCode(err) != exitUsage {
			t.Errorf("usher %s: exit %d (%v), want %d", strings.Join(args, " "), exitCode(err), err, exitUsage)
		}
		if !strings.Contains("\n"+errOut.String(), "\nusher: ") || !strings.Contains(errOut.String(), "--help' for usage") {
			t.Errorf("usher %s: stderr %q, want a one-line usher: error", strings.Join(args, " "), errOut.String())
		}
	}
}

// TestFlagsAnywhereAndProblemErrors: flags before the positional argument
// stay flags, and a refusal prints as one line with the problem's detail.
func TestFlagsAnywhereAndProblemErrors(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]string
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer good" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"type":"https://usher.dev/problems/unauthorized","title":"Unauthorized","status":401,"detail":"the bearer token is unknown","code":"unauthorized"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"name":"stripe1","scheme":"stripe","created_at":"2026-12-01T00:00:00Z"}`))
	}))
	defer srv.Close()
	out, err := runCLI(t, "source", "create", "--scheme", "stripe", "--url", srv.URL, "stripe1", "--admin-token", "good")
	if err != nil || len(bodies) != 1 || bodies[0]["name"] != "stripe1" || bodies[0]["scheme"] != "stripe" {
		t.Fatalf("source create with flags first: %v %v\n%s", err, bodies, out)
	}
	var errOut bytes.Buffer
	err = run(context.Background(), []string{"token", "list", "--url", srv.URL, "--admin-token", "bad"}, func(string) string { return "" }, &bytes.Buffer{}, &errOut)
	want := "usher: the server answered 401 Unauthorized: the bearer token is unknown (https://usher.dev/problems/unauthorized)\n"
	if exitCode(err) != exitFailure || errOut.String() != want {
		t.Fatalf("a refusal: exit %d, stderr %q, want %q", exitCode(err), errOut.String(), want)
	}
}

// TestBooleanServeFlagsDoNotSwallowTheNext: --relaxed-sync alone is true
// and --addr keeps its value.
func TestBooleanServeFlagsDoNotSwallowTheNext(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg, err := loadConfig(fs, []string{"--relaxed-sync", "--addr", "127.0.0.1:9999", "--production=false"}, func(string) string { return "" })
	if err != nil || !cfg.RelaxedSync || cfg.Addr != "127.0.0.1:9999" || cfg.Production {
		t.Fatalf("loadConfig: %+v, %v", cfg, err)
	}
}

// TestReadCommandsPrintTables: token list prints a table by default and
// JSON with --output json.
func TestReadCommandsPrintTables(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	conn := []string{"--url", s.URL(), "--admin-token", ushertest.AdminToken}
	out, err := runCLI(t, append([]string{"token", "list"}, conn...)...)
	if err != nil || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "bootstrap (--admin-token)") {
		t.Fatalf("token list: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"dlq", "list", "-o", "json"}, conn...)...)
	var page map[string]any
	if err != nil || json.Unmarshal([]byte(out), &page) != nil {
		t.Fatalf("dlq list -o json: %v\n%s", err, out)
	}
}
