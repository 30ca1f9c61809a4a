package events

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/usherhq/usher"
)

// ErrUnknownType is the cause of a validation refused because the catalog
// has no such type or version in the validator's direction.
var ErrUnknownType = errors.New("unknown event type or version")

// Validator checks documents against the compiled schemas of one direction.
// It is safe for concurrent use.
type Validator struct {
	c       *Catalog
	dir     Direction
	printer *message.Printer
}

// Validator returns the validator of direction d. The schemas were compiled
// once by Load; a Validator only looks them up.
func (c *Catalog) Validator(d Direction) *Validator {
	return &Validator{c: c, dir: d, printer: message.NewPrinter(language.English)}
}

// Validate checks data against the schema of type typ at version ("" for
// the current version). A document that does not validate returns a
// *usher.Error with code schema_violation whose cause is a *Violation; an
// unknown type or version returns one with code invalid_request wrapping
// ErrUnknownType.
func (v *Validator) Validate(typ, version string, data []byte) error {
	if _, _, err := v.lookup(typ, version); err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		viol := &Violation{pointer: "", reason: "not JSON: " + err.Error()}
		return usher.WrapError(usher.CodeSchemaViolation, viol, fmt.Sprintf("data of %s is not JSON", typ))
	}
	return v.ValidateValue(typ, version, doc)
}

// ValidateValue is Validate of a document already decoded as
// jsonschema.UnmarshalJSON decodes it (numbers as json.Number; see
// rawjson.Decode), so that a caller who decoded it for other ends too does
// not decode it again.
func (v *Validator) ValidateValue(typ, version string, doc any) error {
	ev, version, err := v.lookup(typ, version)
	if err != nil {
		return err
	}
	err = ev.compiled.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("validate %s: %w", typ, err)
	}
	viol := v.violation(ve)
	return usher.WrapError(usher.CodeSchemaViolation, viol,
		fmt.Sprintf("data of %s (version %s) does not match its schema at %q: %s", typ, version, viol.pointer, viol.reason))
}

// lookup returns the schema of typ at version ("" for the current one)
// and the version's name.
func (v *Validator) lookup(typ, version string) (EntryVersion, string, error) {
	if version == "" {
		version = v.c.CurrentVersion(v.dir)
	}
	e, ok := v.c.Lookup(v.dir, typ)
	if !ok {
		return EntryVersion{}, "", usher.WrapError(usher.CodeInvalid, ErrUnknownType, fmt.Sprintf("%s is not an %s event type", typ, v.dir))
	}
	ev, ok := e.Version(version)
	if !ok {
		return EntryVersion{}, "", usher.WrapError(usher.CodeInvalid, ErrUnknownType, fmt.Sprintf("%s has no version %s", typ, version))
	}
	return ev, version, nil
}

// violation reduces a validation error tree to its first leaf: the most
// specific place and reason.
func (v *Validator) violation(ve *jsonschema.ValidationError) *Violation {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	loc := ve.InstanceLocation
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		if len(k.Missing) > 0 {
			loc = append(loc[:len(loc):len(loc)], k.Missing[0])
		}
	case *kind.AdditionalProperties:
		if len(k.Properties) > 0 {
			loc = append(loc[:len(loc):len(loc)], k.Properties[0])
		}
	}
	return &Violation{pointer: Pointer(loc), reason: ve.ErrorKind.LocalizedString(v.printer)}
}

// Pointer encodes reference tokens as a JSON pointer (RFC 6901).
func Pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// Violation is where a document failed its schema and why.
type Violation struct {
	pointer string
	reason  string
}

// Error implements the error interface.
func (v *Violation) Error() string { return fmt.Sprintf("at %q: %s", v.pointer, v.reason) }

// JSONPointer returns the JSON pointer (RFC 6901) of the failing value; ""
// is the whole document.
func (v *Violation) JSONPointer() string { return v.pointer }

// Reason returns why the value failed.
func (v *Violation) Reason() string { return v.reason }
