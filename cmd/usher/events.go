package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/events"
)

// newEventsCmd exports the event catalog's schemas or validates payloads
// against them: a consumer runs it in its own CI.
func newEventsCmd(e *env) *cobra.Command {
	export := &cobra.Command{
		Use:     "export DIR",
		Short:   "Write every event schema to DIR/<direction>/<type>/<version>.json",
		Example: "  usher events export ./schemas",
		Args:    exactArgs("DIR"),
		RunE: func(_ *cobra.Command, args []string) error {
			return exportSchemas(args[0], e.stdout)
		},
	}
	return group("events", "Event schemas: export them, check payloads against them", export, newEventsValidateCmd(e))
}

func newEventsValidateCmd(e *env) *cobra.Command {
	var typ, version, dir string
	cmd := &cobra.Command{
		Use:   "validate --type T [--version V] [--direction outbound|inbound|gate] FILE...",
		Short: "Check payloads against the published schema; fails on any mismatch",
		Long: "Checks each FILE against the schema of --type: a delivery body ({\"type\",\"version\",\"data\",…})\n" +
			"is checked by its data, anything else as the data itself. Exit 1 on any failure.",
		Example: "  usher events validate --type ticket.issued delivery.json\n  usher events validate --type order.paid --direction inbound payload.json\n" +
			"  usher events validate --direction gate --type scan.answer answer.json",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s: name at least one FILE", cmd.CommandPath())
			}
			if typ == "" {
				return usagef("%s: --type is required", cmd.CommandPath())
			}
			if d := events.Direction(dir); d != events.Outbound && d != events.Inbound && d != events.Gate {
				return usagef("--direction %q: want outbound, inbound or gate", dir)
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			return validateFiles(typ, version, events.Direction(dir), args, e.stdout)
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "event type, e.g. ticket.issued (required)")
	cmd.Flags().StringVar(&version, "version", "", "version (default: a body's version field, else the current version)")
	cmd.Flags().StringVar(&dir, "direction", string(events.Outbound), "outbound (what usher delivers), inbound (what usher accepts) or gate (what the gate API answers scanners: feed.entry, scan.answer, scan.batch_result)")
	return cmd
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

func validateFiles(typ, version string, dir events.Direction, files []string, stdout io.Writer) error {
	c, err := events.Load()
	if err != nil {
		return err
	}
	v := c.Validator(dir)
	failed := 0
	for _, path := range files {
		if err := validateFile(v, typ, version, path); err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %v\n", path, err)
			continue
		}
		fmt.Fprintf(stdout, "ok   %s\n", path)
	}
	if failed > 0 {
		return fmt.Errorf("events validate: %d of %d files do not match %s", failed, len(files), typ)
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
