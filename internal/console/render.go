package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/problem"
)

// view is what every page knows of its caller.
type view struct {
	P       auth.Principal
	CSRF    string
	session string
	// Page names the page for the navigation.
	Page string
	// Flash is a one-line message from the action that led here.
	Flash string
	// Data is the page's own content.
	Data any
}

// Can reports whether the caller holds scope: pages show an action only
// to callers who may use it.
func (v *view) Can(scope string) bool { return v.P.Has(scope) }

// SignedIn reports whether the page has a caller.
func (v *view) SignedIn() bool { return v.P.TokenID != "" }

type pages struct{ t map[string]*template.Template }

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return now.Sub(t).Round(time.Second).String() + " ago"
	},
	"json": func(b []byte) string {
		var out bytes.Buffer
		if json.Indent(&out, b, "", "  ") != nil {
			return string(b)
		}
		return out.String()
	},
	"query": func(kv ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q.Encode()
	},
	"join": strings.Join,
}

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(assets, dir)
	if err != nil {
		panic(err) // the directory is embedded: a build error, not a runtime one
	}
	return sub
}

// parsePages parses each page template with the layout.
func parsePages() (*pages, error) {
	names, err := fs.Glob(assets, "assets/templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "assets/templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// render writes a page; data becomes v.Data.
func (c *Console) render(w http.ResponseWriter, r *http.Request, page string, v *view, data any) {
	t, ok := c.pages.t[page]
	if !ok {
		problem.Fail(w, r, fmt.Errorf("console: no template %q", page))
		return
	}
	v.Page, v.Data = page, data
	if v.Flash == "" {
		v.Flash = r.URL.Query().Get("msg")
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		problem.Fail(w, r, fmt.Errorf("render %s: %w", page, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// back redirects after an action to a console page with a message.
func back(w http.ResponseWriter, r *http.Request, to, msg string) {
	u, err := url.Parse(to)
	if err != nil || !strings.HasPrefix(to, Prefix) {
		u = &url.URL{Path: Prefix}
	}
	q := u.Query()
	q.Set("msg", msg)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
