package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/usherhq/usher"
)

// Render returns payload, the data of an outbound event of type typ in
// version from, rendered in version to by applying the changes between the
// two one version at a time: Down transforms towards an older version, Up
// towards a newer one. A type no change touches is returned as it is.
func (c *Catalog) Render(typ string, payload json.RawMessage, from, to string) (json.RawMessage, error) {
	if _, ok := c.Lookup(Outbound, typ); !ok {
		return nil, usher.WrapError(usher.CodeInvalid, ErrUnknownType, fmt.Sprintf("%s is not an outbound event type", typ))
	}
	fi, ti := c.versionIndex(from), c.versionIndex(to)
	if fi < 0 || ti < 0 {
		return nil, usher.WrapError(usher.CodeInvalid, ErrUnknownType, fmt.Sprintf("no outbound version %q or %q", from, to))
	}
	steps := c.steps(typ, fi, ti)
	if len(steps) == 0 {
		return payload, nil
	}
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("render %s: %w", typ, err)
	}
	for _, step := range steps {
		if step == nil {
			return nil, fmt.Errorf("render %s from %s to %s: a change has no transform in that direction", typ, from, to)
		}
		if err := step(data); err != nil {
			return nil, fmt.Errorf("render %s from %s to %s: %w", typ, from, to, err)
		}
	}
	out, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", typ, err)
	}
	return out, nil
}

// steps returns, in order, the transforms of typ that lead from the version
// at index fi to the one at index ti; a nil element is a missing transform.
func (c *Catalog) steps(typ string, fi, ti int) []func(map[string]any) error {
	vs := versions(Outbound)
	var steps []func(map[string]any) error
	if fi > ti { // downwards: newest change first
		for i := fi; i > ti; i-- {
			for _, ch := range slices.Backward(c.changesAt(vs[i].Name, typ)) {
				steps = append(steps, ch.Down)
			}
		}
		return steps
	}
	for i := fi + 1; i <= ti; i++ {
		for _, ch := range c.changesAt(vs[i].Name, typ) {
			steps = append(steps, ch.Up)
		}
	}
	return steps
}

// changesAt returns the changes that version introduced for typ.
func (c *Catalog) changesAt(version, typ string) []Change {
	var out []Change
	for _, ch := range c.changes {
		if ch.Version == version && slices.Contains(ch.Types, typ) {
			out = append(out, ch)
		}
	}
	return out
}

func (c *Catalog) versionIndex(name string) int {
	return slices.IndexFunc(versions(Outbound), func(v Version) bool { return v.Name == name })
}
