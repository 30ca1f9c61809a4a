package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Markdown renders the event catalog as docs/events.md: the versions, then
// each type with its description, provider mappings, versions and the
// current version's fields and example.
func (c *Catalog) Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# Event catalog\n\n")
	b.WriteString("Generated from `internal/events` by `go test ./internal/events -run TestEventsDocUpToDate -update`; do not edit.\n")
	b.WriteString("The schemas (JSON Schema draft 2020-12) are served by `GET /v1/event-types/{type}` and written by `usher events export DIR`;\n")
	b.WriteString("`docs/compatibility.md` is the policy.\n\n")
	for _, d := range []Direction{Inbound, Outbound} {
		fmt.Fprintf(&b, "## %s versions\n\n| version | state | sunset |\n|---|---|---|\n", strings.ToUpper(string(d[:1]))+string(d[1:]))
		for _, v := range slices.Backward(versions(d)) {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, v.State, v.Sunset)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Changes between outbound versions\n\n")
	for _, ch := range c.changes {
		fmt.Fprintf(&b, "- **%s**: %s Types: %s.\n", ch.Version, ch.Description, strings.Join(quoted(ch.Types), ", "))
	}
	for _, d := range []Direction{Inbound, Outbound} {
		fmt.Fprintf(&b, "\n## %s event types\n", strings.ToUpper(string(d[:1]))+string(d[1:]))
		c.writeEntries(&b, d)
	}
	fmt.Fprintf(&b, "\n## Gate contracts\n\n%s\n", gateIntro)
	c.writeEntries(&b, Gate)
	return b.Bytes()
}

const gateIntro = "The documents the gate API serves scanners (docs/gates.md), under the same lock and check as the events.\n" +
	"They are not event types: `GET /v1/event-types` leaves them out; `usher events export DIR` writes them under `gate/`.\n" +
	"Scanners do not choose a version, so a gate version may only change compatibly (docs/compatibility.md);\n" +
	"a scanner ignores fields it does not know and refuses on a result or status it does not know."

func (c *Catalog) writeEntries(b *bytes.Buffer, d Direction) {
	for _, e := range c.entries {
		if e.Direction == d {
			writeEntry(b, e)
		}
	}
}

func writeEntry(b *bytes.Buffer, e Entry) {
	cur := e.Versions[len(e.Versions)-1]
	fmt.Fprintf(b, "\n### `%s` (%s)\n\n%s\n\n", e.Type, e.Direction, e.Description)
	for _, scheme := range sortedKeys(anyMap(e.Providers)) {
		fmt.Fprintf(b, "Mapped from %s: %s.\n\n", scheme, strings.Join(quoted(e.Providers[scheme]), ", "))
	}
	names := make([]string, 0, len(e.Versions))
	for _, v := range e.Versions {
		names = append(names, "`"+v.Name+"`")
	}
	fmt.Fprintf(b, "Versions: %s. Fields in `%s`:\n\n| field | type | required |\n|---|---|---|\n", strings.Join(names, ", "), cur.Name)
	var doc struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	_ = json.Unmarshal(cur.Schema, &doc)
	for _, name := range sortedKeys(anyMap(doc.Properties)) {
		p := doc.Properties[name]
		typ := fmt.Sprint(p["type"])
		if p["$ref"] == "#/$defs/id" {
			typ = "identifier"
		} else if enum, ok := p["enum"].([]any); ok {
			typ = fmt.Sprintf("%s, one of %v", typ, enum)
		} else if f, ok := p["format"]; ok {
			typ = fmt.Sprintf("%s (%v)", typ, f)
		}
		fmt.Fprintf(b, "| `%s` | %s | %v |\n", name, typ, slices.Contains(doc.Required, name))
	}
	if len(cur.Examples) > 0 {
		fmt.Fprintf(b, "\nExample:\n\n```json\n%s\n```\n", cur.Examples[0])
	}
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + s + "`"
	}
	return out
}

func anyMap[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
