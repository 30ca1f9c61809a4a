package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/usherhq/usher/internal/events"
)

const eventsUsage = `usage:
  usher events export DIR                                  write every event schema to DIR/<direction>/<type>/<version>.json
  usher events validate --type T [--version V] [--direction outbound|inbound] FILE...
                                                           check payloads against the published schema: a delivery body
                                                           ({"type","version","data",…}) or the data alone; exit 1 on any failure`

// runEvents exports the event catalog's schemas or validates payloads
// against them: a consumer runs it in its own CI.
func runEvents(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, eventsUsage)
		return errors.New("events: no subcommand")
	}
	switch args[0] {
	case "export":
		if len(args) != 2 {
			fmt.Fprintln(stderr, eventsUsage)
			return errors.New("events export: want one directory")
		}
		return exportSchemas(args[1], stdout)
	case "validate":
		return validateFiles(args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, eventsUsage)
	return fmt.Errorf("events: unknown subcommand %q", args[0])
}

func exportSchemas(dir string, stdout io.Writer) error {
	n := 0
	err := fs.WalkDir(events.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(events.Files(), p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		n++
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("events export: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d schemas to %s\n", n, dir)
	return nil
}

func validateFiles(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("usher events validate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	typ := fl.String("type", "", "event type, e.g. ticket.issued (required)")
	version := fl.String("version", "", "version (default: a body's version field, else the current version)")
	dir := fl.String("direction", string(events.Outbound), "outbound (what usher delivers) or inbound (what usher accepts)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *typ == "" || fl.NArg() == 0 || (*dir != string(events.Outbound) && *dir != string(events.Inbound)) {
		fmt.Fprintln(stderr, eventsUsage)
		return errors.New("events validate: need --type, a direction of inbound or outbound and at least one file")
	}
	c, err := events.Load()
	if err != nil {
		return err
	}
	v := c.Validator(events.Direction(*dir))
	failed := 0
	for _, path := range fl.Args() {
		if err := validateFile(v, *typ, *version, path); err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %v\n", path, err)
			continue
		}
		fmt.Fprintf(stdout, "ok   %s\n", path)
	}
	if failed > 0 {
		return fmt.Errorf("events validate: %d of %d files do not match %s", failed, fl.NArg(), *typ)
	}
	return nil
}

// validateFile checks one file: a delivery body is checked by its data
// (its type must be typ), anything else as the data itself.
func validateFile(v *events.Validator, typ, version, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var body struct {
		Type    string          `json:"type"`
		Version string          `json:"version"`
		Data    json.RawMessage `json:"data"`
	}
	data := raw
	if json.Unmarshal(raw, &body) == nil && body.Type != "" && len(body.Data) > 0 {
		if body.Type != typ {
			return fmt.Errorf("the body's type is %s, not %s", body.Type, typ)
		}
		if version == "" {
			version = body.Version
		}
		data = body.Data
	}
	var viol *events.Violation
	if err := v.Validate(typ, version, data); errors.As(err, &viol) {
		return fmt.Errorf("at %q: %s", viol.JSONPointer(), viol.Reason())
	} else if err != nil {
		return err
	}
	return nil
}
