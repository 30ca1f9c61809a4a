package events

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Break is one breaking difference between two versions of a schema.
type Break struct {
	Pointer string // where in the schema, as a JSON pointer
	Rule    string // removed_property, narrowed_type, new_required, enum_narrowed, closed, narrowed_constraint
	Detail  string
}

// Key names a break by its rule and place, as a Change's Allows lists it.
func (b Break) Key() string { return b.Rule + " " + b.Pointer }

// String renders a break for a report.
func (b Break) String() string { return fmt.Sprintf("%s at %s: %s", b.Rule, b.Pointer, b.Detail) }

// Compare returns the breaking differences from schema old to schema new,
// both JSON Schema documents: a property removed (or renamed), a type
// narrowed, a field newly required, an enum narrowed, an object closed to
// other properties, a pattern changed or a bound tightened. Local $refs
// ("#/…") are followed in each document.
func Compare(old, new []byte) ([]Break, error) {
	var o, n map[string]any
	if err := json.Unmarshal(old, &o); err != nil {
		return nil, fmt.Errorf("old schema: %w", err)
	}
	if err := json.Unmarshal(new, &n); err != nil {
		return nil, fmt.Errorf("new schema: %w", err)
	}
	c := comparer{oldRoot: o, newRoot: n}
	c.node("", o, n, 0)
	return c.breaks, nil
}

type comparer struct {
	oldRoot, newRoot map[string]any
	breaks           []Break
}

func (c *comparer) add(at, rule, format string, args ...any) {
	c.breaks = append(c.breaks, Break{Pointer: at, Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

// node compares two subschemas at schema pointer at.
func (c *comparer) node(at string, o, n map[string]any, depth int) {
	if depth > 32 {
		return // a recursive schema: deep enough
	}
	o, n = resolve(c.oldRoot, o), resolve(c.newRoot, n)
	c.types(at, o, n)
	c.enums(at, o, n)
	c.required(at, o, n)
	c.constraints(at, o, n)
	if closed(n) && !closed(o) {
		c.add(at, "closed", "the object no longer admits other properties")
	}
	op, np := obj(o["properties"]), obj(n["properties"])
	for _, name := range sortedKeys(op) {
		p := at + "/properties/" + escape(name)
		ns, ok := np[name]
		if !ok {
			c.add(p, "removed_property", "property %q was removed or renamed", name)
			continue
		}
		c.node(p, obj(op[name]), obj(ns), depth+1)
	}
	if oi, ni := obj(o["items"]), obj(n["items"]); oi != nil && ni != nil {
		c.node(at+"/items", oi, ni, depth+1)
	}
}

func (c *comparer) types(at string, o, n map[string]any) {
	ot, nt := typeSet(o["type"]), typeSet(n["type"])
	if nt == nil {
		return // any type now
	}
	if ot == nil {
		c.add(at, "narrowed_type", "any type narrowed to %v", nt)
		return
	}
	for _, t := range ot {
		if !slices.Contains(nt, t) && !(t == "integer" && slices.Contains(nt, "number")) {
			c.add(at, "narrowed_type", "type %v narrowed to %v", ot, nt)
			return
		}
	}
}

func (c *comparer) enums(at string, o, n map[string]any) {
	ne, ok := n["enum"].([]any)
	if !ok {
		return
	}
	oe, ok := o["enum"].([]any)
	if !ok {
		c.add(at, "enum_narrowed", "an open value became an enum")
		return
	}
	for _, v := range oe {
		if !slices.ContainsFunc(ne, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
			c.add(at, "enum_narrowed", "value %v was removed from the enum", v)
		}
	}
}

func (c *comparer) required(at string, o, n map[string]any) {
	or := strs(o["required"])
	for _, r := range strs(n["required"]) {
		if !slices.Contains(or, r) {
			c.add(at+"/properties/"+escape(r), "new_required", "%q is newly required", r)
		}
	}
}

// constraints flags a changed pattern and tightened bounds.
func (c *comparer) constraints(at string, o, n map[string]any) {
	if np, ok := n["pattern"]; ok && fmt.Sprint(np) != fmt.Sprint(o["pattern"]) {
		c.add(at+"/pattern", "narrowed_constraint", "pattern changed to %v", np)
	}
	for _, kw := range []string{"minimum", "minLength", "minItems", "exclusiveMinimum"} {
		if nv, ok := num(n[kw]); ok {
			if ov, had := num(o[kw]); !had || nv > ov {
				c.add(at+"/"+kw, "narrowed_constraint", "%s tightened to %v", kw, nv)
			}
		}
	}
	for _, kw := range []string{"maximum", "maxLength", "maxItems", "exclusiveMaximum"} {
		if nv, ok := num(n[kw]); ok {
			if ov, had := num(o[kw]); !had || nv < ov {
				c.add(at+"/"+kw, "narrowed_constraint", "%s tightened to %v", kw, nv)
			}
		}
	}
}

// resolve follows local $refs of s within root.
func resolve(root, s map[string]any) map[string]any {
	for range 8 {
		ref, ok := s["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return s
		}
		var cur any = root
		for _, tok := range strings.Split(ref[2:], "/") {
			cur = obj(cur)[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")]
		}
		s = obj(cur)
	}
	return s
}

func closed(s map[string]any) bool {
	ap, ok := s["additionalProperties"].(bool)
	if ok && !ap {
		return true
	}
	up, ok := s["unevaluatedProperties"].(bool)
	return ok && !up
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func typeSet(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		return strs(t)
	}
	return nil
}

func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}
