package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Check runs the compatibility policy over the catalog: for each type, each
// version against the version before it. A type that no Change of the
// newer version names must have the same schema in both (apart from its
// $id and title); a type a Change names must differ. Breaking differences
// are reported with the Change that declares them, so that a breaking edit
// without a declared Change fails with its reasons. An inbound type or a
// gate contract may only change compatibly (checkCompatible).
func (c *Catalog) Check() []error {
	var errs []error
	for _, e := range c.entries {
		for i := 1; i < len(e.Versions); i++ {
			prev, cur := e.Versions[i-1], e.Versions[i]
			if err := c.checkPair(e, prev, cur); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

func (c *Catalog) checkPair(e Entry, prev, cur EntryVersion) error {
	if e.Direction != Outbound {
		return checkCompatible(e, prev, cur)
	}
	changes := c.changesAt(cur.Name, e.Type)
	declared := len(changes) > 0
	same, err := sameSchema(prev.Schema, cur.Schema)
	if err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, cur.Name, err)
	}
	switch {
	case same && declared:
		return fmt.Errorf("%s %s: a Change is declared but the schema equals %s's", e.Type, cur.Name, prev.Name)
	case same:
		return nil
	}
	breaks, err := Compare(prev.Schema, cur.Schema)
	if err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, cur.Name, err)
	}
	if declared {
		if breaks = undeclared(breaks, changes); len(breaks) == 0 {
			return nil
		}
	}
	return &UndeclaredChange{Type: e.Type, From: prev.Name, To: cur.Name, Breaks: breaks, Declared: declared}
}

// checkCompatible holds a version of an inbound type or a gate contract to
// compatible changes only: nobody chooses those versions (senders and
// scanners of every age meet the same usher), and no transform renders
// one version in another.
func checkCompatible(e Entry, prev, cur EntryVersion) error {
	breaks, err := Compare(prev.Schema, cur.Schema)
	if err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, cur.Name, err)
	}
	if len(breaks) == 0 {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s (%s) changed from %s to %s in breaking ways; only compatible changes are allowed here", e.Type, e.Direction, prev.Name, cur.Name)
	for _, br := range breaks {
		fmt.Fprintf(&b, "\n  breaking: %s", br)
	}
	return errors.New(b.String())
}

// undeclared returns the breaks that no change allows.
func undeclared(breaks []Break, changes []Change) []Break {
	var out []Break
	for _, b := range breaks {
		if !slices.ContainsFunc(changes, func(c Change) bool { return slices.Contains(c.Allows, b.Key()) }) {
			out = append(out, b)
		}
	}
	return out
}

// UndeclaredChange is a schema that differs from its previous version with
// no Change declaring it, or with breaking differences its Change does not
// allow (Declared).
type UndeclaredChange struct {
	Type, From, To string
	Breaks         []Break
	Declared       bool
}

// Error lists the breaking differences, if any.
func (u *UndeclaredChange) Error() string {
	var b bytes.Buffer
	if u.Declared {
		fmt.Fprintf(&b, "%s changed from %s to %s in breaking ways its Change does not allow", u.Type, u.From, u.To)
	} else {
		fmt.Fprintf(&b, "%s changed from %s to %s without a declared Change", u.Type, u.From, u.To)
	}
	if len(u.Breaks) == 0 {
		b.WriteString(" (compatible)")
	}
	for _, br := range u.Breaks {
		fmt.Fprintf(&b, "\n  breaking: %s", br)
	}
	return b.String()
}

// sameSchema reports whether two schema documents are equal apart from
// their $id and title, which name the version.
func sameSchema(a, b []byte) (bool, error) {
	ca, err := canonical(a)
	if err != nil {
		return false, err
	}
	cb, err := canonical(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ca, cb), nil
}

func canonical(doc []byte) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	delete(m, "$id")
	delete(m, "title")
	return json.Marshal(m) // map keys are sorted
}
