package events

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schemas holds every schema file: schemas/<direction>/<type>/<version>.json.
//
//go:embed schemas
var schemaFiles embed.FS

// Files returns the embedded schema files, rooted at schemas/.
func Files() fs.FS {
	sub, err := fs.Sub(schemaFiles, "schemas")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// SchemaPath is the path of a schema file under schemas/.
func SchemaPath(d Direction, typ, version string) string {
	return path.Join(string(d), typ, version+".json")
}

// Entry is one event type of the catalog with its versions.
type Entry struct {
	Type        string
	Direction   Direction
	Description string
	Providers   map[string][]string
	Versions    []EntryVersion
}

// EntryVersion is one version of an event type: its state, its schema
// document as kept in the repository and the examples the schema holds.
type EntryVersion struct {
	Version
	Schema   json.RawMessage
	Examples []json.RawMessage
	compiled *jsonschema.Schema
}

// Catalog is the loaded, compiled catalog. It is read-only after Load and
// safe for concurrent use.
type Catalog struct {
	entries []Entry
	index   map[key]int
	changes []Change
}

type key struct {
	dir Direction
	typ string
}

// Load reads every schema of Defs from the embedded files and compiles it.
// A declared type or version without its file, or a file no type declares,
// is an error: the catalog and the files are one.
func Load() (*Catalog, error) {
	return load(Files(), Defs(), Changes())
}

func load(files fs.FS, defs []Def, changes []Change) (*Catalog, error) {
	c := &Catalog{index: make(map[key]int, len(defs)), changes: changes}
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	comp.AssertFormat()
	want := map[string]bool{}
	for _, d := range defs {
		e, err := loadEntry(comp, files, d)
		if err != nil {
			return nil, err
		}
		for _, v := range e.Versions {
			want[SchemaPath(d.Direction, d.Type, v.Name)] = true
		}
		c.index[key{d.Direction, d.Type}] = len(c.entries)
		c.entries = append(c.entries, e)
	}
	err := fs.WalkDir(files, ".", func(p string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() && strings.HasSuffix(p, ".json") && !want[p] {
			return fmt.Errorf("schema file %s names no declared type and version", p)
		}
		return err
	})
	return c, err
}

func loadEntry(comp *jsonschema.Compiler, files fs.FS, d Def) (Entry, error) {
	e := Entry{Type: d.Type, Direction: d.Direction, Providers: d.Providers}
	for _, v := range versions(d.Direction) {
		p := SchemaPath(d.Direction, d.Type, v.Name)
		raw, err := fs.ReadFile(files, p)
		if err != nil {
			return e, fmt.Errorf("schema of %s %s %s: %w", d.Direction, d.Type, v.Name, err)
		}
		ev, desc, err := compile(comp, p, raw)
		if err != nil {
			return e, err
		}
		ev.Version = v
		e.Description = desc // the current version's description, the last read
		e.Versions = append(e.Versions, ev)
	}
	return e, nil
}

// compile parses and compiles one schema file; it returns the version entry
// and the schema's description.
func compile(comp *jsonschema.Compiler, p string, raw []byte) (EntryVersion, string, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return EntryVersion{}, "", fmt.Errorf("schema %s: %w", p, err)
	}
	var meta struct {
		Description string            `json:"description"`
		Examples    []json.RawMessage `json:"examples"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return EntryVersion{}, "", fmt.Errorf("schema %s: %w", p, err)
	}
	if meta.Description == "" || len(meta.Examples) == 0 {
		return EntryVersion{}, "", fmt.Errorf("schema %s needs a description and at least one example", p)
	}
	url := "https://usher.dev/events/" + p
	if err := comp.AddResource(url, doc); err != nil {
		return EntryVersion{}, "", fmt.Errorf("schema %s: %w", p, err)
	}
	sch, err := comp.Compile(url)
	if err != nil {
		return EntryVersion{}, "", fmt.Errorf("compile %s: %w", p, err)
	}
	return EntryVersion{Schema: raw, Examples: meta.Examples, compiled: sch}, meta.Description, nil
}

// Entries returns every event type, inbound first, in declaration order.
func (c *Catalog) Entries() []Entry { return slices.Clone(c.entries) }

// Lookup returns the event type typ of direction d.
func (c *Catalog) Lookup(d Direction, typ string) (Entry, bool) {
	i, ok := c.index[key{d, typ}]
	if !ok {
		return Entry{}, false
	}
	return c.entries[i], true
}

// Versions returns the versions of direction d, oldest first.
func (c *Catalog) Versions(d Direction) []Version { return versions(d) }

// CurrentVersion returns the current version of direction d.
func (c *Catalog) CurrentVersion(d Direction) string {
	vs := versions(d)
	return vs[len(vs)-1].Name
}

// Version returns the entry of one version of an event type.
func (e Entry) Version(name string) (EntryVersion, bool) {
	for _, v := range e.Versions {
		if v.Name == name {
			return v, true
		}
	}
	return EntryVersion{}, false
}

// LoadFrom loads the catalog from other schema files laid out as schemas/
// is, for tools and tests that check edited schemas.
func LoadFrom(files fs.FS) (*Catalog, error) {
	return load(files, Defs(), Changes())
}
